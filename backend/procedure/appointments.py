"""Appointments at the window for items that cannot be applied for online: the office's
day and hours, the slots of a working day and which dates may be booked.

Pure: callers pass the current time and the working-day calendar in.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone

from backend.procedure.workdays import WorkCalendar

# Offices keep Beijing time; "today" and every date a citizen is given are Beijing dates.
OFFICE_TIME = timezone(timedelta(hours=8), "CST")
SLOT_TIMES = ("09:00-10:00", "10:00-11:00", "11:00-12:00", "14:00-15:00", "15:00-16:00", "16:00-17:00")
SEATS_PER_SLOT = 4
MAX_DAYS_AHEAD = 30
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread


def office_today(now: datetime) -> date:
    """The date at the offices for an aware `now`."""
    return now.astimezone(OFFICE_TIME).date()


def bookable_days(calendar: WorkCalendar, today: date, count: int) -> list[date]:
    """The next `count` working days after today: a visit is booked at least a day ahead."""
    return calendar.working_days_from(today, count)


def booking_problem(calendar: WorkCalendar, today: date, day: date) -> str | None:
    """Why `day` cannot be booked ('not_after_today', 'too_far_ahead', 'not_a_working_day'), or None."""
    if day <= today:
        return "not_after_today"
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        return "too_far_ahead"
    if not calendar.is_working_day(day):
        return "not_a_working_day"
    return None


def new_appointment_id(booked: date, random: secrets.SystemRandom | None = None) -> str:
    """YY20261126-7KQ3MX: the day of booking, then six characters that cannot be guessed."""
    chooser = random or secrets.SystemRandom()
    return f"YY{booked:%Y%m%d}-" + "".join(chooser.choice(_ID_ALPHABET) for _ in range(6))
