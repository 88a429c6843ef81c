"""The platform's database: SQLite by default, PostgreSQL supported (SQLAlchemy Core).

The catalogue's data files are synchronised into it at start-up, idempotently: a row is
written only when its content changed, and rows whose source is gone are removed.
Applications, appointments, public problem reports, wrong verification codes and the
notification outbox are the platform's own records; backend/records.py,
backend/bookings.py and backend/complaints/records.py write them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
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
    inspect,
    select,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from backend.catalogue.items import ServiceItem
from backend.catalogue.regions import Region

log = logging.getLogger(__name__)
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

# The outbox: one row per change to tell the citizen, written with the change itself.
# `source` names the change ('application_history:17', 'complaint_updates:9'): one row each.
notifications_table = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(80), nullable=False, unique=True),
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


# Public problem reports (12345). The reporter's contact details are kept here and nowhere
# else; an anonymous reporter's follow-up code only as a hash. The office is recorded as
# it was named when the report was dispatched.
complaints_table = Table(
    "complaints",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("category", String(40), nullable=False, index=True),
    Column("request_type", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("region_code", String(6)),
    Column("address", String(300)),
    Column("address_id", String(100)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("occurred_at", UtcDateTime),
    Column("photo_urls", Text, nullable=False),
    Column("contact_name", String(50)),
    Column("contact_phone", String(20)),
    Column("contact_email", String(254)),
    Column("account_id", String(100)),
    Column("device_id", String(100)),
    Column("follow_up_hash", String(64)),
    Column("channel", String(32), nullable=False),
    Column("conversation_id", String(200)),
    Column("lang", String(2), nullable=False),
    Column("department", String(40), nullable=False),
    Column("office_region_code", String(6)),
    Column("office_tier", String(16), nullable=False),
    Column("office_zh", String(200), nullable=False),
    Column("office_en", String(200), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("round", Integer, nullable=False),
    Column("response_due", Date, nullable=False, index=True),
    Column("satisfaction", String(24)),
    Column("satisfaction_comment", Text),
    Column("rated_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("idempotency_key", String(100), unique=True),
    Column("request_hash", String(64)),
)

complaint_updates_table = Table(
    "complaint_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", String(20), ForeignKey("complaints.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("round", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)


def make_engine(url: str) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a database error's message must not carry an applicant's details into the log.
    engine = create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)
    _upgrade_outbox(engine)
    metadata.create_all(engine)
    return engine


def _upgrade_outbox(engine: Engine) -> None:
    """Databases made before reports existed keyed the outbox by application history
    entry (`history_id`): remake the table keyed by `source`, keeping every row in order."""
    inspector = inspect(engine)
    if not inspector.has_table("notifications"):
        return
    if "history_id" not in {column["name"] for column in inspector.get_columns("notifications")}:
        return
    old = Table(
        "notifications",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("history_id", Integer),
        *(Column(c.name, c.type) for c in notifications_table.columns if c.name not in ("id", "source")),
    )
    with engine.begin() as conn:
        rows = conn.execute(select(old).order_by(old.c.id)).mappings().all()
        old.drop(conn)
        notifications_table.create(conn)
        kept = [
            {
                **{name: row[name] for name in row if name not in ("id", "history_id")},
                "source": f"application_history:{row['history_id']}",
            }
            for row in rows
        ]
        if kept:
            conn.execute(notifications_table.insert(), kept)
    log.info("notification outbox upgraded: %d rows now keyed by their source", len(rows))


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
