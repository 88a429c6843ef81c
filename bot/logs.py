"""Logs without personal numbers: every log record of the process, whichever library
writes it, has ID numbers, mobile numbers and long digit runs replaced
(bot.privacy.redact_text) before any handler formats it — the same patterns the tracker
store applies. Installed once per process by `install()`; the Rasa server, the action
server and the platform each call it when their package is imported.

Names cannot be found by a pattern: the redacting tracker store withholds them from what
it saves because it knows which question they answer, but a log line has no such
context. At Rasa's default INFO level no message text is logged; DEBUG logs do quote the
citizen's messages (with the numbers replaced) and are for development only.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.privacy import redact_text

_installed = False


def install() -> None:
    """Redact every record created from now on in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(redacting_record)


def redact_record(record: logging.LogRecord) -> None:
    """The record's message, arguments merged in, and its exception text, redacted."""
    try:
        message = record.getMessage()
    except Exception:  # a wrong format string: keep the logging module's own error path
        return
    redacted = redact_text(message)
    if redacted != message or record.args:
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
