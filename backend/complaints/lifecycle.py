"""A report's life (CONTRACT.md §3): statuses, the updates staff may make, the reporter's
rating of the response, when a report is overdue, its number and how the reporter
proves it is theirs.

The 12345 flow: accepted (`open`) and at once dispatched to the office that handles it
(`dispatched`); the office works on it (`in_progress`) and answers (`responded`); the
reporter rates the answer: satisfied closes the report, dissatisfied sends it back to
the office for another round (`in_progress` again). Staff may close a report at any
point with a note saying why.

Pure: no clock or database of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

STATUSES = ("open", "dispatched", "in_progress", "responded", "closed")
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"dispatched", "closed"}),
    "dispatched": frozenset({"in_progress", "responded", "closed"}),
    "in_progress": frozenset({"responded", "closed"}),
    "responded": frozenset({"closed"}),
    "closed": frozenset(),
}
# Closing before the office has answered is an exception (a duplicate, a report that is
# not for 12345): staff must say why.
ANSWERED = frozenset({"responded", "closed"})
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
SATISFIED = frozenset({"satisfied", "basically_satisfied"})
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread

# The notes the platform writes itself, in the reporter's language, and the ratings' names.
NOTES: dict[str, dict[str, str]] = {
    "accepted": {"zh": "已受理", "en": "Accepted"},
    "dispatched": {"zh": "已派单至{office}", "en": "Dispatched to {office}"},
    "reopened": {
        "zh": "市民对答复不满意，已退回承办单位重新办理",
        "en": "Reopened: the reporter was not satisfied with the response; sent back to the office",
    },
    "closed_on_rating": {"zh": "市民评价：{rating}，办结", "en": "Closed: the reporter rated the response {rating}"},
    "satisfied": {"zh": "满意", "en": "satisfied"},
    "basically_satisfied": {"zh": "基本满意", "en": "basically satisfied"},
    "dissatisfied": {"zh": "不满意", "en": "dissatisfied"},
}


def note_text(key: str, lang: str, **fields: str) -> str:
    return NOTES[key][lang].format(**fields)


def can_move(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def needs_note(current: str, to: str) -> bool:
    """Whether staff must give a reason: closing a report the office has not answered."""
    return to == "closed" and current != "responded"


def is_overdue(status: str, response_due: date, today: date) -> bool:
    """Past its response day and still not answered."""
    return status not in ANSWERED and response_due < today


def new_complaint_id(accepted: date, random: secrets.SystemRandom | None = None) -> str:
    """GD20261126-7KQ3MX: the day of acceptance, then six characters that cannot be guessed."""
    chooser = random or secrets.SystemRandom()
    return f"GD{accepted:%Y%m%d}-" + "".join(chooser.choice(_ID_ALPHABET) for _ in range(6))


def new_follow_up_code(random: secrets.SystemRandom | None = None) -> str:
    """Four random digits: what an anonymous reporter checks on their report with."""
    chooser = random or secrets.SystemRandom()
    return "".join(chooser.choice("0123456789") for _ in range(4))


def follow_up_hash(complaint_id: str, code: str) -> str:
    """How a follow-up code is kept: hashed with the report's number, never in the clear."""
    return hashlib.sha256(f"{complaint_id}:{code}".encode()).hexdigest()


def follow_up_matches(complaint_id: str, stored_hash: str, supplied: str) -> bool:
    return hmac.compare_digest(follow_up_hash(complaint_id, supplied), stored_hash)


def phone_code(phone: str) -> str:
    """What a reporter who left a phone number proves ownership with: its last four digits."""
    return "".join(ch for ch in phone if ch.isdigit())[-4:]
