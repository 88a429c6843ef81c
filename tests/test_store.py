"""The catalogue loads into SQLite or PostgreSQL idempotently."""

from __future__ import annotations

import dataclasses

from backend.catalogue import sources
from backend.store import load_items, load_regions, sync_catalogue
from tests.conftest import fresh_engine


def test_loading_twice_writes_nothing_the_second_time(database_url: str) -> None:
    engine = fresh_engine(database_url)
    regions, items = sources.read_regions(), sources.read_items()
    first = sync_catalogue(engine, regions, items)
    second = sync_catalogue(engine, regions, items)
    assert first.inserted == len(regions) + len(items)
    assert second.changed == 0
    assert len(load_items(engine)) == len(items)
    assert len(load_regions(engine)) == len(regions)


def test_changed_and_removed_items_are_updated_and_deleted(database_url: str) -> None:
    engine = fresh_engine(database_url)
    regions, items = sources.read_regions(), sources.read_items()
    sync_catalogue(engine, regions, items)
    passport = next(item for item in items if item.id == "passport")
    edited = dataclasses.replace(passport, content={**passport.content, "promised_days": 3})
    remaining = [edited if item.id == "passport" else item for item in items if item.id != "dog-registration"]
    report = sync_catalogue(engine, regions, remaining)
    assert (report.inserted, report.updated, report.deleted) == (0, 1, 1)
    stored = {item.id: item for item in load_items(engine)}
    assert stored["passport"].content["promised_days"] == 3
    assert "dog-registration" not in stored
