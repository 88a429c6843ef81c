"""The staff dashboard's figures, counted by the database (SQLite or PostgreSQL) with
GROUP BY queries: nothing is loaded row by row.

Every figure is about the records *filed in the period*: the last `days` office days,
today included, from 00:00 Beijing time on the first of them.

Answered on time: a report is answered when its first update with status `responded`
or `closed` in its current round is recorded (a dissatisfied rating starts a new round
with a new response day, so the answer that counts is the one to that round). It is
answered on time when that update's Beijing date is on or before its `response_due`,
late otherwise. A report not answered yet is overdue when its response day is before
today (Beijing), as the staff list's `overdue` flag has it, and pending otherwise.
`on_time_rate` = on time / (on time + late + overdue): of the reports whose answer is
due or given, the share answered in time.

Satisfaction: the latest rating of each rated report; `rate` = (satisfied + basically
satisfied) / rated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from backend.complaints.lifecycle import ANSWERED, RATINGS, SATISFIED
from backend.procedure.applications import STATUSES as APPLICATION_STATUSES
from backend.procedure.appointments import OFFICE_TIME, office_today
from backend.store import applications_table, complaint_updates_table, complaints_table

MAX_DAYS = 366
RESPONSE_OUTCOMES = ("on_time", "late", "overdue", "pending")
_OFFICE_OFFSET_HOURS = int((OFFICE_TIME.utcoffset(None) or timedelta()).total_seconds() // 3600)


class office_date(FunctionElement):
    """The Beijing date of a stored time (stored naive, in UTC; Beijing has no summer time)."""

    type = Date()
    name = "office_date"
    inherit_cache = True


@compiles(office_date, "sqlite")
def _office_date_sqlite(element: office_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+{_OFFICE_OFFSET_HOURS} hours')"


@compiles(office_date, "postgresql")
def _office_date_postgresql(element: office_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} + INTERVAL '{_OFFICE_OFFSET_HOURS} hours') AS DATE)"


@dataclass(frozen=True)
class Period:
    days: int
    first_day: date
    today: date

    @property
    def since(self) -> datetime:
        """00:00 Beijing time on the first day: the earliest filing time counted."""
        return datetime.combine(self.first_day, time(0, 0), tzinfo=OFFICE_TIME)


def period(days: int, now: datetime) -> Period:
    """The last `days` office days up to `now`, today included."""
    today = office_today(now)
    return Period(days=days, first_day=today - timedelta(days=days - 1), today=today)


@dataclass(frozen=True)
class Stats:
    period: Period
    complaints_by_category: list[tuple[str, int]]
    """(category code, reports), most first."""
    complaints_by_region: list[tuple[str | None, int]]
    """(office region code, reports), most first; None for the national hotline."""
    response: dict[str, int]
    """Reports by outcome: on_time, late, overdue, pending."""
    satisfaction: dict[str, int]
    """Rated reports by rating."""
    applications_by_status: dict[str, int]

    @property
    def complaints(self) -> int:
        return sum(count for _, count in self.complaints_by_category)

    @property
    def on_time_rate(self) -> float | None:
        judged = self.response["on_time"] + self.response["late"] + self.response["overdue"]
        return self.response["on_time"] / judged if judged else None

    @property
    def rated(self) -> int:
        return sum(self.satisfaction.values())

    @property
    def satisfaction_rate(self) -> float | None:
        satisfied = sum(self.satisfaction[rating] for rating in SATISFIED)
        return satisfied / self.rated if self.rated else None


def read_stats(engine: Engine, wanted: Period) -> Stats:
    with engine.connect() as conn:
        return Stats(
            period=wanted,
            complaints_by_category=_most_first(_counts(conn, complaints_table.c.category, wanted)),
            complaints_by_region=_most_first(_counts(conn, complaints_table.c.office_region_code, wanted)),
            response=_in_order(_response_outcomes(conn, wanted), RESPONSE_OUTCOMES),
            satisfaction=_in_order(_counts(conn, complaints_table.c.satisfaction, wanted), RATINGS),
            applications_by_status=_in_order(_counts(conn, applications_table.c.status, wanted), APPLICATION_STATUSES),
        )


def _counts(conn: Connection, column: Any, wanted: Period) -> dict[Any, int]:
    """Records filed in the period, by the value of `column` of their table."""
    table = column.table
    query = select(column, func.count()).where(table.c.created_at >= wanted.since).group_by(column)
    return {value: int(count) for value, count in conn.execute(query)}


def _response_outcomes(conn: Connection, wanted: Period) -> dict[str, int]:
    reports, updates = complaints_table, complaint_updates_table
    first_answer = (
        select(updates.c.complaint_id, func.min(updates.c.at).label("answered_at"))
        .join(reports, and_(reports.c.id == updates.c.complaint_id, reports.c.round == updates.c.round))
        .where(updates.c.status.in_(sorted(ANSWERED)), reports.c.created_at >= wanted.since)
        .group_by(updates.c.complaint_id)
        .subquery()
    )
    answered_at = first_answer.c.answered_at
    outcome = case(
        (and_(reports.c.status.not_in(sorted(ANSWERED)), reports.c.response_due < wanted.today), "overdue"),
        (reports.c.status.not_in(sorted(ANSWERED)), "pending"),
        (and_(answered_at.is_not(None), office_date(answered_at) <= reports.c.response_due), "on_time"),
        else_="late",
    ).label("outcome")
    each = (
        select(outcome)
        .select_from(reports.outerjoin(first_answer, first_answer.c.complaint_id == reports.c.id))
        .where(reports.c.created_at >= wanted.since)
        .subquery()
    )
    query = select(each.c.outcome, func.count()).group_by(each.c.outcome)
    return {value: int(count) for value, count in conn.execute(query)}


def _most_first(counts: dict[Any, int]) -> list[tuple[Any, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0] or ""))


def _in_order(counts: dict[Any, int], keys: tuple[str, ...]) -> dict[str, int]:
    """Every key, in order, zero when nothing had it (the NULL group is left out)."""
    return {key: counts.get(key, 0) for key in keys}
