"""Reading the catalogue's data files (data/catalogue, data/regions, data/search)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

from backend.catalogue.catalogue import Catalogue
from backend.catalogue.guangan import guangan_items
from backend.catalogue.items import CatalogueError, ServiceItem, national_item
from backend.catalogue.regions import Region
from backend.settings import DATA_DIR

# libyaml's safe loader when the platform has it: the catalogue's YAML takes seconds in pure Python.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_SAFE_LOADER)


def read_regions(data_dir: Path = DATA_DIR) -> list[Region]:
    with (data_dir / "regions" / "regions.csv").open(encoding="utf-8", newline="") as handle:
        return [Region.from_row(row) for row in csv.DictReader(handle)]


def read_not_places(data_dir: Path = DATA_DIR) -> list[str]:
    return [str(word) for word in read_yaml(data_dir / "regions" / "not_places.yml") or []]


def read_departments(data_dir: Path = DATA_DIR) -> dict[str, Any]:
    return dict(read_yaml(data_dir / "catalogue" / "departments.yml"))


def read_labels(data_dir: Path = DATA_DIR) -> dict[str, Any]:
    return dict(read_yaml(data_dir / "catalogue" / "labels.yml"))


def read_synonyms(data_dir: Path = DATA_DIR) -> dict[str, Any]:
    return dict(read_yaml(data_dir / "search" / "synonyms.yml"))


def read_phrasings(data_dir: Path = DATA_DIR) -> dict[str, dict[str, list[str]]]:
    """Colloquial phrasings by item id, merged from search/phrasings/*.yml."""
    phrasings: dict[str, dict[str, list[str]]] = {}
    for path in sorted((data_dir / "search" / "phrasings").glob("*.yml")):
        for item_id, by_lang in (read_yaml(path) or {}).items():
            merged = phrasings.setdefault(item_id, {"zh": [], "en": []})
            for lang in ("zh", "en"):
                merged[lang].extend(str(phrase) for phrase in by_lang.get(lang, []))
    return phrasings


def read_holidays(data_dir: Path = DATA_DIR) -> dict[int, dict[str, Any]]:
    """Public holidays and make-up working days by year (data/calendar/holidays.yml)."""
    return dict(read_yaml(data_dir / "calendar" / "holidays.yml"))


def catalogue_from_files(data_dir: Path = DATA_DIR) -> Catalogue:
    """The catalogue straight from the data files, without a database (tests, benchmarks)."""
    return Catalogue.build(
        items=read_items(data_dir),
        regions=read_regions(data_dir),
        not_places=read_not_places(data_dir),
        departments=read_departments(data_dir),
        labels=read_labels(data_dir),
        synonyms=read_synonyms(data_dir),
        phrasings=read_phrasings(data_dir),
    )


def read_items(data_dir: Path = DATA_DIR) -> list[ServiceItem]:
    """The nationwide items, then the local ones; ids must be unique across both."""
    departments = read_departments(data_dir)
    items = [
        national_item(raw, departments)
        for path in sorted((data_dir / "catalogue" / "services").glob("*.yml"))
        for raw in read_yaml(path) or []
    ]
    guangan_dir = data_dir / "catalogue" / "guangan"
    groups = json.loads((guangan_dir / "items.json").read_text(encoding="utf-8"))
    names_en: dict[str, str] = {}
    for path in sorted((guangan_dir / "names_en").glob("*.yml")):
        names_en.update(read_yaml(path) or {})
    items.extend(guangan_items(groups, read_yaml(guangan_dir / "departments.yml"), names_en))
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise CatalogueError(f"service item id {item.id} appears twice")
        seen.add(item.id)
    return items
