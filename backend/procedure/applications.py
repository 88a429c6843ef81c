"""Applications through the three-stage procedure (CONTRACT.md §3): statuses, stages,
the transitions staff may make, and the lockout that protects status checks.

Pure: no clock or database of its own; callers pass times and attempts in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta

STAGES: dict[str, tuple[str, ...]] = {
    "reception": ("received", "supplement_required"),  # 综合受理
    "approval": ("in_review", "approved", "rejected"),  # 分类审批
    "completion": ("ready_for_collection", "completed"),  # 统一出件
}
STATUSES = tuple(status for statuses in STAGES.values() for status in statuses)
FINAL = frozenset({"rejected", "completed"})

# Which status may follow which. Supplementing materials returns an application to
# reception; approval leads to collection at the window or, for electronic and mailed
# certificates, straight to completion.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"supplement_required", "in_review", "rejected"}),
    "supplement_required": frozenset({"received", "rejected"}),
    "in_review": frozenset({"supplement_required", "approved", "rejected"}),
    "approved": frozenset({"ready_for_collection", "completed"}),
    "ready_for_collection": frozenset({"completed"}),
    "rejected": frozenset(),
    "completed": frozenset(),
}

MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread


def stage_of(status: str) -> str:
    for stage, statuses in STAGES.items():
        if status in statuses:
            return stage
    raise ValueError(f"unknown status {status!r}")


def can_move(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def new_application_id(received: date, random: secrets.SystemRandom | None = None) -> str:
    """ZW20261126-7KQ3MX: the day of receipt, then six characters that cannot be guessed."""
    chooser = random or secrets.SystemRandom()
    return f"ZW{received:%Y%m%d}-" + "".join(chooser.choice(_ID_ALPHABET) for _ in range(6))


def verification_code(id_number: str) -> str:
    """What the applicant proves ownership with: the last four characters of their ID number."""
    return id_number[-4:].upper()


def locked_until(wrong_attempts: Iterable[datetime], now: datetime) -> datetime | None:
    """When checks are refused after too many wrong codes: 5 within 15 minutes lock for 15 minutes."""
    recent = sorted(at for at in wrong_attempts if now - at <= WRONG_CODE_WINDOW + LOCKOUT)
    for index in range(len(recent) - MAX_WRONG_CODES + 1):
        window = recent[index : index + MAX_WRONG_CODES]
        if window[-1] - window[0] <= WRONG_CODE_WINDOW:
            until = window[-1] + LOCKOUT
            if until > now:
                return until
    return None
