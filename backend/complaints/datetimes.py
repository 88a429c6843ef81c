"""Dates and times as reports carry them: ISO 8601 in, W3C-DTF out (Open311's format).

Offices keep Beijing time, so a time given without a zone is read as Beijing time, a
date alone as the start of that day there, and every time is written with +08:00.
"""

from __future__ import annotations

from datetime import date, datetime, time

from backend.procedure.appointments import OFFICE_TIME


def parse_datetime(text: str) -> datetime | None:
    """An aware datetime from '2026-11-26T09:30:00+08:00', '…Z', '2026-11-26T09:30' or
    '2026-11-26'; None when `text` is none of these."""
    text = text.strip()
    if not 10 <= len(text) <= 40 or not text[:4].isdigit() or text[4:5] != "-":
        return None
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=OFFICE_TIME)


def w3c(at: datetime) -> str:
    """2026-11-26T17:30:00+08:00."""
    return at.astimezone(OFFICE_TIME).isoformat(timespec="seconds")


def end_of_office_day(day: date) -> datetime:
    """The last second of `day` at the offices: when something due that day is due."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=OFFICE_TIME)
