"""Appointments in the database: seats taken per slot, and booking one.

Each booking holds one numbered seat of its slot, and a unique constraint over
(service, region, date, time, seat) keeps a slot from taking more than its seats when
citizens book at the same moment, on SQLite as on PostgreSQL: the loser of a race for
the last seat finds the slot full on its retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from backend.procedure.appointments import SEATS_PER_SLOT, new_appointment_id, office_today
from backend.records import create_once
from backend.store import appointments_table


class SlotFull(Exception):
    pass


@dataclass(frozen=True)
class AppointmentDraft:
    """A validated booking request."""

    service_id: str
    region_code: str
    date: date
    time: str
    applicant_name: str
    phone: str
    channel: str
    conversation_id: str | None
    lang: str


@dataclass(frozen=True)
class Appointment(AppointmentDraft):
    """A booking as recorded: the draft, its id and status."""

    id: str
    status: str
    created_at: datetime


def seats_taken(engine: Engine, service_id: str, region_code: str, days: list[date]) -> dict[tuple[date, str], int]:
    """Booked seats by (date, time) for one service at one region's office."""
    table = appointments_table
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.date, table.c.time, func.count())
            .where(
                table.c.service_id == service_id,
                table.c.region_code == region_code,
                table.c.date.in_(days),
                table.c.status == "booked",
            )
            .group_by(table.c.date, table.c.time)
        ).all()
    return {(row[0], row[1]): int(row[2]) for row in rows}


def book(
    engine: Engine, draft: AppointmentDraft, idempotency_key: str | None, request_hash: str, now: datetime
) -> tuple[Appointment, bool]:
    """Book the lowest free seat of the slot; True when new, False for a repeated request.
    Raises SlotFull when every seat is taken."""
    table = appointments_table

    def insert(conn: Connection) -> str:
        taken = set(
            conn.execute(
                select(table.c.seat).where(
                    table.c.service_id == draft.service_id,
                    table.c.region_code == draft.region_code,
                    table.c.date == draft.date,
                    table.c.time == draft.time,
                )
            ).scalars()
        )
        free = [seat for seat in range(1, SEATS_PER_SLOT + 1) if seat not in taken]
        if not free:
            raise SlotFull(draft.time)
        appointment_id = new_appointment_id(office_today(now))
        conn.execute(
            table.insert().values(
                id=appointment_id,
                seat=free[0],
                status="booked",
                created_at=now,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                **_draft_columns(draft),
            )
        )
        return appointment_id

    appointment_id, created = create_once(engine, table, idempotency_key, request_hash, insert)
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == appointment_id)).mappings().one()
    fields = {name: row[name] for name in Appointment.__dataclass_fields__}
    return Appointment(**fields), created


def _draft_columns(draft: AppointmentDraft) -> dict[str, Any]:
    return {name: getattr(draft, name) for name in AppointmentDraft.__dataclass_fields__}
