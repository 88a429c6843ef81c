"""What the action server runs: one module per business concern.

- services.py: finding a service item and answering questions about it
- reception.py, asking.py, applying.py: applying online or booking the window (application_form)
- status.py: status checks (status_form) and notices of status changes
- complaints.py, reporting.py: problem reports, their follow-up and rating; outbox.py keeps
  confirmed reports on disk until the platform has them
- platform.py: the one HTTP client of the service platform; replies.py, sealed.py: pure helpers
"""

import logging
import sys

from bot.logs import install as _redact_logs

_redact_logs()  # no ID or phone number in the action server's logs

# The forms read answers in `extract_<slot>` and need no `validate_<slot>` for most slots;
# rasa-sdk warns about each such slot on every turn, which would drown the log.
logging.getLogger("rasa_sdk.forms").setLevel(logging.ERROR)


def _serving() -> bool:
    """Whether this process is the action server (`python -m rasa_sdk` or `rasa run actions`),
    not a test or a tool that imports the actions."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return bool(spec and spec.name.split(".")[0] in ("rasa_sdk", "rasa"))


if _serving():
    # Reports confirmed while the platform was down, left over from before a restart, are
    # delivered now rather than with the next report.
    from actions.outbox import resume_pending_deliveries

    resume_pending_deliveries()

    # rasa_sdk's Sanic app exists by now (it imports this package to register the actions):
    # a request with a malformed Content-Length gets a 400 instead of freezing the process
    # (Sanic 21.12's body reader; see bot/content_length.py).
    from sanic import Sanic

    from bot import content_length

    try:
        _app = Sanic.get_app("rasa_sdk")
    except Exception:  # another way of serving the actions (`rasa run actions`): no such app
        logging.getLogger(__name__).warning("Content-Length check not installed on the action server.")
    else:
        from sanic import response
        from sanic.exceptions import InvalidUsage

        content_length.install(_app)

        @_app.exception(InvalidUsage)
        async def _bad_request(request: object, error: Exception) -> response.HTTPResponse:
            # rasa_sdk answers every exception with a 500; a malformed request is a 400.
            return response.json({"error": str(error)}, status=400)
