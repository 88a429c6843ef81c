"""Wrong verification codes in the database, and the lockout they lead to.

Attempts are kept per record id as the caller typed it, whether or not the record
exists, so that guessing at unknown ids locks out exactly as at real ones.
`kind` says what the id names: 'application' (and 'complaint' for reports).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from backend.procedure.applications import LOCKOUT, WRONG_CODE_WINDOW, locked_until
from backend.store import verification_failures_table

SUBJECT_CHARS = 64


def _subject(typed: str) -> str:
    """The id as kept: printable characters only (PostgreSQL refuses NUL), at most 64."""
    return "".join(ch for ch in typed if ch.isprintable())[:SUBJECT_CHARS]


def lockout_ends(engine: Engine, kind: str, subject_id: str, now: datetime) -> datetime | None:
    """When checks of this record are allowed again, or None when they are now."""
    table = verification_failures_table
    since = now - WRONG_CODE_WINDOW - LOCKOUT
    with engine.connect() as conn:
        times = conn.execute(
            select(table.c.at).where(
                table.c.kind == kind, table.c.subject_id == _subject(subject_id), table.c.at >= since
            )
        ).scalars()
        return locked_until(list(times), now)


def record_wrong_code(engine: Engine, kind: str, subject_id: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(verification_failures_table.insert().values(kind=kind, subject_id=_subject(subject_id), at=now))
