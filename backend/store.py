"""The platform's database: SQLite by default, PostgreSQL supported (SQLAlchemy Core).

The catalogue's data files are synchronised into it at start-up, idempotently: a row is
written only when its content changed, and rows whose source is gone are removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, delete, select
from sqlalchemy.engine import Engine

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


def make_engine(url: str) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True)
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
