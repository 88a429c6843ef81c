"""What the action server runs: one module per business concern.

- services.py: finding a service item and answering questions about it
- reception.py, asking.py, applying.py: applying online or booking the window (application_form)
- status.py: status checks (status_form) and notices of status changes
- platform.py: the one HTTP client of the service platform; replies.py, sealed.py: pure helpers
"""

import logging

# The forms read answers in `extract_<slot>` and need no `validate_<slot>` for most slots;
# rasa-sdk warns about each such slot on every turn, which would drown the log.
logging.getLogger("rasa_sdk.forms").setLevel(logging.ERROR)
