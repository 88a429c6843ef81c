"""The platform's database: SQLite by default, PostgreSQL supported (SQLAlchemy Core).

The catalogue's data files are synchronised into it at start-up, idempotently: a row is
written only when its content changed, and rows whose source is gone are removed.
Applications, appointments, wrong verification codes and the notification outbox are
the platform's own records; backend/records.py and backend/bookings.py write them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    select,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from backend.catalogue.items import ServiceItem
from backend.catalogue.regions import Region

metadata = MetaData()

regions_table = Table(
    "regions",
    metadata,
    Column("code", String(6), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("name_en", String(128), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("parent_code", String(6)),
    Column("short", String(64), nullable=False),
    Column("aliases", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
)

service_items_table = Table(
    "service_items",
    metadata,
    Column("id", String(120), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("department", String(64), nullable=False),
    Column("region_code", String(6)),
    Column("content", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend: stored naive in UTC, read back aware
    (SQLite keeps no time zone, and comparing aware with naive times fails)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


# Personal data (name, ID number, phone) is kept here and nowhere else.
applications_table = Table(
    "applications",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("service_id", String(120), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("applicant_name", String(50), nullable=False),
    Column("id_number", String(18), nullable=False),
    Column("phone", String(11), nullable=False),
    Column("delivery", String(16), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("conversation_id", String(200)),
    Column("lang", String(2), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("expected_completion", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("idempotency_key", String(100), unique=True),
    Column("request_hash", String(64)),
)

application_history_table = Table(
    "application_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("application_id", String(20), ForeignKey("applications.id"), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("at", UtcDateTime, nullable=False),
)

# Wrong verification codes, kept per record (`kind` 'application' or 'complaint') for the lockout.
verification_failures_table = Table(
    "verification_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_verification_failures_subject", "kind", "subject_id", "at"),
)

# The outbox: one row per status change to tell the citizen, written with the change itself.
notifications_table = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("history_id", Integer, ForeignKey("application_history.id"), nullable=False, unique=True),
    Column("conversation_id", String(200), nullable=False),
    Column("intent", String(64), nullable=False),
    Column("entities", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(200)),
    Column("delivered_at", UtcDateTime),
    Column("gave_up_at", UtcDateTime),
)

# One row per booked seat: the unique seat keeps a slot's capacity under concurrent bookings.
appointments_table = Table(
    "appointments",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("service_id", String(120), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("date", Date, nullable=False),
    Column("time", String(11), nullable=False),
    Column("seat", Integer, nullable=False),
    Column("applicant_name", String(50), nullable=False),
    Column("phone", String(11), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("conversation_id", String(200)),
    Column("lang", String(2), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("idempotency_key", String(100), unique=True),
    Column("request_hash", String(64)),
    UniqueConstraint("service_id", "region_code", "date", "time", "seat", name="uq_appointment_seat"),
)


def make_engine(url: str) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a database error's message must not carry an applicant's details into the log.
    engine = create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)
    metadata.create_all(engine)
    return engine


@dataclass(frozen=True)
class SyncReport:
    inserted: int
    updated: int
    deleted: int

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted


def _hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(row, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _region_row(region: Region) -> dict[str, Any]:
    row = {
        "code": region.code,
        "name": region.name,
        "name_en": region.name_en,
        "tier": region.tier,
        "parent_code": region.parent_code,
        "short": region.short,
        "aliases": "|".join(region.aliases),
    }
    return {**row, "content_hash": _hash(row)}


def _item_row(item: ServiceItem) -> dict[str, Any]:
    row = {
        "id": item.id,
        "source": item.source,
        "tier": item.tier,
        "department": item.department,
        "region_code": item.region_code,
        "content": json.dumps(item.content, ensure_ascii=False, sort_keys=True),
    }
    return {**row, "content_hash": _hash(row)}


def _sync(engine: Engine, table: Table, key: str, rows: list[dict[str, Any]]) -> SyncReport:
    key_column = table.c[key]
    with engine.begin() as conn:
        stored = dict(conn.execute(select(key_column, table.c.content_hash)).all())
        wanted = {row[key]: row for row in rows}
        new = [row for k, row in wanted.items() if k not in stored]
        changed = [row for k, row in wanted.items() if k in stored and stored[k] != row["content_hash"]]
        gone = [k for k in stored if k not in wanted]
        if new:
            conn.execute(table.insert(), new)
        for row in changed:
            conn.execute(table.update().where(key_column == row[key]).values(**row))
        if gone:
            conn.execute(delete(table).where(key_column.in_(gone)))
    return SyncReport(inserted=len(new), updated=len(changed), deleted=len(gone))


def sync_catalogue(engine: Engine, regions: Iterable[Region], items: Iterable[ServiceItem]) -> SyncReport:
    region_report = _sync(engine, regions_table, "code", [_region_row(r) for r in regions])
    item_report = _sync(engine, service_items_table, "id", [_item_row(i) for i in items])
    return SyncReport(
        inserted=region_report.inserted + item_report.inserted,
        updated=region_report.updated + item_report.updated,
        deleted=region_report.deleted + item_report.deleted,
    )


def load_regions(engine: Engine) -> list[Region]:
    with engine.connect() as conn:
        rows = conn.execute(select(regions_table).order_by(regions_table.c.code)).mappings().all()
    return [Region.from_row(row) for row in rows]


def load_items(engine: Engine) -> list[ServiceItem]:
    with engine.connect() as conn:
        rows = conn.execute(select(service_items_table).order_by(service_items_table.c.id)).mappings().all()
    return [
        ServiceItem(
            id=row["id"],
            source=row["source"],
            tier=row["tier"],
            department=row["department"],
            region_code=row["region_code"],
            content=json.loads(row["content"]),
        )
        for row in rows
    ]
