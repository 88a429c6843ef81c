"""Applications in the database: receipt, status changes with their history, staff lists.

SQLAlchemy Core over SQLite or PostgreSQL; blocking, so handlers call it in a thread.
A status change and the notification that tells the citizen are written in one
transaction (the outbox of backend/notify.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.schema import Table

from backend.notify import STATUS_CHANGED_INTENT, queue_notification
from backend.procedure.applications import can_move, new_application_id, stage_of
from backend.procedure.appointments import office_today
from backend.store import application_history_table, applications_table

_NEW_ID_ATTEMPTS = 8


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was first used for a different request."""


class ApplicationNotFound(Exception):
    pass


class IllegalTransition(Exception):
    def __init__(self, current: str, to: str) -> None:
        super().__init__(f"{current} -> {to}")
        self.current = current
        self.to = to


@dataclass(frozen=True)
class HistoryEntry:
    status: str
    stage: str
    at: datetime
    note: str


@dataclass(frozen=True)
class ApplicationDraft:
    """A validated application as the applicant submitted it."""

    service_id: str
    region_code: str
    applicant_name: str
    id_number: str
    phone: str
    delivery: str
    channel: str
    conversation_id: str | None
    lang: str
    expected_completion: date


@dataclass(frozen=True)
class Application(ApplicationDraft):
    """An application as recorded: the draft, its id, where it stands and its history."""

    id: str
    status: str
    created_at: datetime
    history: tuple[HistoryEntry, ...]

    @property
    def stage(self) -> str:
        return stage_of(self.status)


def create_once(
    engine: Engine,
    table: Table,
    idempotency_key: str | None,
    request_hash: str,
    insert: Callable[[Connection], str],
) -> tuple[str, bool]:
    """Run `insert` (which returns the new record's id) in a transaction of its own.

    With an idempotency key, a repeat of the request returns the first record's id and
    False instead of inserting again, even when both arrive at once. An id collision
    or a lost race on a unique constraint is retried with a fresh transaction.
    """
    for _ in range(_NEW_ID_ATTEMPTS):
        if idempotency_key:
            existing = _id_for_key(engine, table, idempotency_key, request_hash)
            if existing:
                return existing, False
        try:
            with engine.begin() as conn:
                return insert(conn), True
        except IntegrityError:
            continue
    raise RuntimeError(f"could not insert into {table.name} after {_NEW_ID_ATTEMPTS} attempts")


def _id_for_key(engine: Engine, table: Table, key: str, request_hash: str) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(select(table.c.id, table.c.request_hash).where(table.c.idempotency_key == key)).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused(table.name)
    return str(row.id)


def create_application(
    engine: Engine, draft: ApplicationDraft, idempotency_key: str | None, request_hash: str, now: datetime
) -> tuple[Application, bool]:
    """Receive an application (status received); True when it is new, False for a repeat."""

    def insert(conn: Connection) -> str:
        application_id = new_application_id(office_today(now))
        conn.execute(
            applications_table.insert().values(
                id=application_id,
                service_id=draft.service_id,
                region_code=draft.region_code,
                applicant_name=draft.applicant_name,
                id_number=draft.id_number,
                phone=draft.phone,
                delivery=draft.delivery,
                channel=draft.channel,
                conversation_id=draft.conversation_id,
                lang=draft.lang,
                status="received",
                expected_completion=draft.expected_completion,
                created_at=now,
                updated_at=now,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
        )
        conn.execute(
            application_history_table.insert().values(
                application_id=application_id, status="received", stage=stage_of("received"), note="", at=now
            )
        )
        return application_id

    application_id, created = create_once(engine, applications_table, idempotency_key, request_hash, insert)
    application = find_application(engine, application_id)
    assert application is not None  # just written, and applications are never deleted
    return application, created


def find_application(engine: Engine, application_id: str) -> Application | None:
    with engine.connect() as conn:
        row = conn.execute(select(applications_table).where(applications_table.c.id == application_id)).mappings()
        found = row.first()
        if found is None:
            return None
        return _with_history(conn, [found])[0]


def move_application(engine: Engine, application_id: str, to: str, note: str, now: datetime) -> Application:
    """Change the status, append it to the history and, when the citizen came through a
    conversation, queue the notification, all or nothing. Raises ApplicationNotFound or
    IllegalTransition."""
    apps = applications_table
    with engine.begin() as conn:
        found = conn.execute(select(apps.c.status, apps.c.conversation_id).where(apps.c.id == application_id)).first()
        if found is None:
            raise ApplicationNotFound(application_id)
        if not can_move(found.status, to):
            raise IllegalTransition(found.status, to)
        # Only from the status just read: of two staff moving the same application at once, one wins.
        moved = conn.execute(
            apps.update()
            .where(apps.c.id == application_id, apps.c.status == found.status)
            .values(status=to, updated_at=now)
        )
        if moved.rowcount != 1:
            raise IllegalTransition(found.status, to)
        history = conn.execute(
            application_history_table.insert().values(
                application_id=application_id, status=to, stage=stage_of(to), note=note, at=now
            )
        )
        if found.conversation_id:
            history_id = int(history.inserted_primary_key[0])
            entities = {"application_id": application_id, "status": to, "stage": stage_of(to), "note": note}
            source = f"application_history:{history_id}"
            queue_notification(conn, source, found.conversation_id, STATUS_CHANGED_INTENT, entities, now)
    application = find_application(engine, application_id)
    assert application is not None
    return application


def list_applications(
    engine: Engine, status: str | None, service_id: str | None, limit: int, offset: int
) -> tuple[list[Application], int]:
    """Newest first, with the number of all that match."""
    apps = applications_table
    conditions = [
        column == value for column, value in ((apps.c.status, status), (apps.c.service_id, service_id)) if value
    ]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(apps).where(*conditions)).scalar_one()
        rows = (
            conn.execute(
                select(apps)
                .where(*conditions)
                .order_by(apps.c.created_at.desc(), apps.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            .mappings()
            .all()
        )
        return _with_history(conn, rows), int(total)


def _with_history(conn: Connection, rows: Sequence[RowMapping]) -> list[Application]:
    history = application_history_table
    entries: dict[str, list[HistoryEntry]] = {row["id"]: [] for row in rows}
    if entries:
        found = conn.execute(
            select(history).where(history.c.application_id.in_(list(entries))).order_by(history.c.id)
        ).mappings()
        for entry in found:
            entries[entry["application_id"]].append(
                HistoryEntry(status=entry["status"], stage=entry["stage"], at=entry["at"], note=entry["note"])
            )
    return [_application(row, entries[row["id"]]) for row in rows]


def _application(row: RowMapping, history: list[HistoryEntry]) -> Application:
    fields: dict[str, Any] = {name: row[name] for name in Application.__dataclass_fields__ if name != "history"}
    return Application(**fields, history=tuple(history))
