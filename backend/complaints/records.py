"""Public problem reports in the database: filing and dispatch, staff updates, the
reporter's rating, and the lists staff and Open311 read.

SQLAlchemy Core over SQLite or PostgreSQL; blocking, so handlers call it in a thread.
An update and the notification that tells the reporter are written in one transaction
(the outbox of backend/notify.py).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, not_, select
from sqlalchemy.engine import Connection, Engine, RowMapping

from backend.complaints.lifecycle import (
    ANSWERED,
    SATISFIED,
    can_move,
    follow_up_hash,
    new_complaint_id,
    note_text,
)
from backend.notify import COMPLAINT_UPDATED_INTENT, queue_notification
from backend.procedure.appointments import office_today
from backend.records import IllegalTransition, create_once
from backend.store import complaint_updates_table, complaints_table


class ComplaintNotFound(Exception):
    pass


class NotAwaitingRating(Exception):
    """Only a report the office has responded to can be rated."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class Update:
    status: str
    at: datetime
    note: str
    round: int


@dataclass(frozen=True)
class ComplaintDraft:
    """A validated report as the reporter made it."""

    category: str
    request_type: str
    description: str
    region_code: str | None
    address: str | None
    address_id: str | None
    latitude: float | None
    longitude: float | None
    occurred_at: datetime | None
    photo_urls: tuple[str, ...]
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    account_id: str | None
    device_id: str | None
    channel: str
    conversation_id: str | None
    lang: str


@dataclass(frozen=True)
class Dispatch:
    """Where the report was sent, and by when it is to be answered."""

    department: str
    office_region_code: str | None
    office_tier: str
    office_zh: str
    office_en: str
    response_due: date


@dataclass(frozen=True)
class Complaint(ComplaintDraft, Dispatch):
    id: str
    status: str
    round: int
    follow_up_hash: str | None
    satisfaction: str | None
    satisfaction_comment: str | None
    rated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    updates: tuple[Update, ...]

    @property
    def anonymous(self) -> bool:
        return self.contact_phone is None

    def office_name(self, lang: str) -> str:
        return self.office_zh if lang == "zh" else self.office_en


def create_complaint(
    engine: Engine,
    draft: ComplaintDraft,
    dispatch: Dispatch,
    follow_up_code: str | None,
    idempotency_key: str | None,
    request_hash: str,
    now: datetime,
) -> tuple[Complaint, bool]:
    """Accept the report and dispatch it at once (open, then dispatched); True when it is
    new, False for a repeat of the request. An anonymous report's follow-up code is kept
    hashed; a repeat replaces it, since the first answer may never have arrived."""

    def insert(conn: Connection) -> str:
        complaint_id = new_complaint_id(office_today(now))
        conn.execute(
            complaints_table.insert().values(
                id=complaint_id,
                **_columns(draft, ComplaintDraft),
                **_columns(dispatch, Dispatch),
                photo_urls=json.dumps(list(draft.photo_urls)),
                follow_up_hash=follow_up_hash(complaint_id, follow_up_code) if follow_up_code else None,
                status="dispatched",
                round=1,
                created_at=now,
                updated_at=now,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
        )
        office = dispatch.office_zh if draft.lang == "zh" else dispatch.office_en
        _record_update(conn, complaint_id, "open", note_text("accepted", draft.lang), 1, now)
        _record_update(conn, complaint_id, "dispatched", note_text("dispatched", draft.lang, office=office), 1, now)
        return complaint_id

    complaint_id, created = create_once(engine, complaints_table, idempotency_key, request_hash, insert)
    if not created and follow_up_code:
        with engine.begin() as conn:
            conn.execute(
                complaints_table.update()
                .where(complaints_table.c.id == complaint_id)
                .values(follow_up_hash=follow_up_hash(complaint_id, follow_up_code))
            )
    complaint = find_complaint(engine, complaint_id)
    assert complaint is not None  # just written, and reports are never deleted
    return complaint, created


def find_complaint(engine: Engine, complaint_id: str) -> Complaint | None:
    with engine.connect() as conn:
        found = conn.execute(select(complaints_table).where(complaints_table.c.id == complaint_id)).mappings().first()
        if found is None:
            return None
        return _with_updates(conn, [found])[0]


def update_complaint(engine: Engine, complaint_id: str, to: str, note: str, now: datetime) -> Complaint:
    """Move the report on (staff), record the update and, when the reporter came through
    a conversation, queue the notification, all or nothing. Raises ComplaintNotFound or
    IllegalTransition."""
    table = complaints_table
    with engine.begin() as conn:
        found = conn.execute(
            select(table.c.status, table.c.round, table.c.conversation_id).where(table.c.id == complaint_id)
        ).first()
        if found is None:
            raise ComplaintNotFound(complaint_id)
        if not can_move(found.status, to):
            raise IllegalTransition(found.status, to)
        _move(conn, complaint_id, found.status, {"status": to, "updated_at": now})
        update_id = _record_update(conn, complaint_id, to, note, found.round, now)
        if found.conversation_id:
            entities = {"complaint_id": complaint_id, "status": to, "note": note}
            source = f"complaint_updates:{update_id}"
            queue_notification(conn, source, found.conversation_id, COMPLAINT_UPDATED_INTENT, entities, now)
    return _found(engine, complaint_id)


def rate_complaint(
    engine: Engine, complaint_id: str, rating: str, comment: str, reopened_due: date, now: datetime
) -> Complaint:
    """The reporter's rating of the response: satisfied closes the report; dissatisfied
    sends it back to the office for a new round, due on `reopened_due`. Raises
    ComplaintNotFound or NotAwaitingRating."""
    table = complaints_table
    with engine.begin() as conn:
        found = conn.execute(
            select(table.c.status, table.c.round, table.c.lang).where(table.c.id == complaint_id)
        ).first()
        if found is None:
            raise ComplaintNotFound(complaint_id)
        if found.status != "responded":
            raise NotAwaitingRating(found.status)
        rated = {"satisfaction": rating, "satisfaction_comment": comment or None, "rated_at": now, "updated_at": now}
        if rating in SATISFIED:
            _move(conn, complaint_id, found.status, {**rated, "status": "closed"})
            note = note_text("closed_on_rating", found.lang, rating=note_text(rating, found.lang))
            _record_update(conn, complaint_id, "closed", note, found.round, now)
        else:
            new_round = found.round + 1
            values = {**rated, "status": "in_progress", "round": new_round, "response_due": reopened_due}
            _move(conn, complaint_id, found.status, values)
            _record_update(conn, complaint_id, "in_progress", note_text("reopened", found.lang), new_round, now)
    return _found(engine, complaint_id)


@dataclass(frozen=True)
class ComplaintFilter:
    """Which reports a list holds; every field left empty matches all."""

    ids: Collection[str] = ()
    statuses: Collection[str] = ()
    public_statuses: Collection[str] = ()
    """Open311's: 'open' (all but closed) and 'closed'."""
    categories: Collection[str] = ()
    region_code: str | None = None
    """Only reports made in this region or within it."""
    created_from: datetime | None = None
    created_until: datetime | None = None
    overdue: bool | None = None
    """True: only reports past their response day and not yet answered; False: only the others."""
    today: date | None = None
    """The office date that `overdue` is judged on."""


def list_complaints(
    engine: Engine, wanted: ComplaintFilter, limit: int, offset: int = 0
) -> tuple[list[Complaint], int]:
    """Newest first, with the number of all that match."""
    table = complaints_table
    conditions: list[Any] = []
    if wanted.ids:
        conditions.append(table.c.id.in_(list(wanted.ids)))
    if wanted.statuses:
        conditions.append(table.c.status.in_(list(wanted.statuses)))
    if wanted.public_statuses and set(wanted.public_statuses) != {"open", "closed"}:
        closed = table.c.status == "closed"
        conditions.append(closed if "closed" in wanted.public_statuses else not_(closed))
    if wanted.categories:
        conditions.append(table.c.category.in_(list(wanted.categories)))
    if wanted.region_code is not None:
        conditions.append(table.c.region_code.like(_region_prefix(wanted.region_code) + "%"))
    if wanted.created_from is not None:
        conditions.append(table.c.created_at >= wanted.created_from)
    if wanted.created_until is not None:
        conditions.append(table.c.created_at <= wanted.created_until)
    if wanted.overdue is not None and wanted.today is not None:
        overdue = and_(table.c.response_due < wanted.today, table.c.status.not_in(list(ANSWERED)))
        conditions.append(overdue if wanted.overdue else not_(overdue))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()
        query = (
            select(table)
            .where(*conditions)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return _with_updates(conn, conn.execute(query).mappings().all()), int(total)


def _region_prefix(code: str) -> str:
    """The division codes within `code`: a province's share its first two digits, a city's four."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def _move(conn: Connection, complaint_id: str, current: str, values: Mapping[str, Any]) -> None:
    """Only from the status just read: of two changes to one report at once, one wins."""
    table = complaints_table
    moved = conn.execute(table.update().where(table.c.id == complaint_id, table.c.status == current).values(**values))
    if moved.rowcount != 1:
        raise IllegalTransition(current, str(values["status"]))


def _record_update(conn: Connection, complaint_id: str, status: str, note: str, round_: int, now: datetime) -> int:
    inserted = conn.execute(
        complaint_updates_table.insert().values(
            complaint_id=complaint_id, status=status, note=note, round=round_, at=now
        )
    )
    return int(inserted.inserted_primary_key[0])


def _found(engine: Engine, complaint_id: str) -> Complaint:
    complaint = find_complaint(engine, complaint_id)
    assert complaint is not None
    return complaint


def _columns(record: Any, shape: Any) -> dict[str, Any]:
    """The record's fields of dataclass `shape`, as columns (photo URLs are stored as JSON apart)."""
    return {field.name: getattr(record, field.name) for field in fields(shape) if field.name != "photo_urls"}


def _with_updates(conn: Connection, rows: Sequence[RowMapping]) -> list[Complaint]:
    updates = complaint_updates_table
    found: dict[str, list[Update]] = {row["id"]: [] for row in rows}
    if found:
        query = select(updates).where(updates.c.complaint_id.in_(list(found))).order_by(updates.c.id)
        for entry in conn.execute(query).mappings():
            found[entry["complaint_id"]].append(
                Update(status=entry["status"], at=entry["at"], note=entry["note"], round=entry["round"])
            )
    return [_complaint(row, found[row["id"]]) for row in rows]


def _complaint(row: RowMapping, updates: list[Update]) -> Complaint:
    fields: dict[str, Any] = {
        name: row[name] for name in Complaint.__dataclass_fields__ if name not in ("updates", "photo_urls")
    }
    return Complaint(**fields, photo_urls=tuple(json.loads(row["photo_urls"])), updates=tuple(updates))
