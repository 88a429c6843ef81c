"""The service platform: the unified catalogue of service items, regions and offices."""

from bot.logs import install as _redact_logs

_redact_logs()  # no ID or phone number in the platform's logs
