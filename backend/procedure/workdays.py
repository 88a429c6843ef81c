"""Working days in mainland China: weekends, public holidays and make-up working days.

Pure. A promised time limit of N working days runs from the working day after the
application is accepted (the day of acceptance does not count), so an application
received on a Friday with a limit of 1 working day is due the next Monday.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class WorkCalendar:
    days_off: frozenset[date]
    make_up_days: frozenset[date]
    years: frozenset[int]

    @classmethod
    def from_data(cls, data: Mapping[Any, Mapping[str, Any]]) -> WorkCalendar:
        """From data/calendar/holidays.yml: per year, `holidays` ranges and `workdays`."""
        days_off: set[date] = set()
        make_up: set[date] = set()
        for spec in data.values():
            for first, last in spec.get("holidays", []):
                days_off.update(_days(_date(first), _date(last)))
            make_up.update(_date(day) for day in spec.get("workdays", []))
        return cls(frozenset(days_off), frozenset(make_up), frozenset(int(year) for year in data))

    def is_working_day(self, day: date) -> bool:
        if day in self.make_up_days:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def knows(self, day: date) -> bool:
        """Whether the year's holidays are known (otherwise only weekends count)."""
        return day.year in self.years

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (`start` itself never counts)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            counted += self.is_working_day(day)
        return day

    def working_days_from(self, start: date, count: int) -> list[date]:
        """The next `count` working days after `start` (appointment slots)."""
        found: list[date] = []
        day = start
        while len(found) < count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                found.append(day)
        return found


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
