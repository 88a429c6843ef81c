"""What the Rasa server loads: channels, NLU components and stores (issue 3 onwards)."""

from bot.logs import install as _redact_logs

_redact_logs()
