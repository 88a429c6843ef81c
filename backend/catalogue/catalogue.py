"""The catalogue as the running platform holds it: items, regions, offices and search."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backend.catalogue.items import ServiceItem, localize
from backend.catalogue.offices import Department, load_departments, resolve_office
from backend.catalogue.regions import Region, RegionDirectory
from backend.search.services import ScoredItem, ServiceSearch


@dataclass
class Catalogue:
    items: dict[str, ServiceItem]
    regions: RegionDirectory
    departments: dict[str, Department]
    labels: Mapping[str, Any]
    search: ServiceSearch

    @classmethod
    def build(
        cls,
        items: Iterable[ServiceItem],
        regions: Iterable[Region],
        not_places: Iterable[str],
        departments: Mapping[str, Any],
        labels: Mapping[str, Any],
        synonyms: Mapping[str, Any],
        phrasings: Mapping[str, Mapping[str, list[str]]],
    ) -> Catalogue:
        items = list(items)
        known = load_departments(departments)
        return cls(
            items={item.id: item for item in items},
            regions=RegionDirectory(regions, not_places),
            departments=known,
            labels=labels,
            search=ServiceSearch(items, synonyms, phrasings, {key: d.label for key, d in known.items()}),
        )

    def find_region(self, text: str) -> Region | None:
        """A region by code, name, alias, pinyin or English name; the most prominent if several.

        Failing an exact match, a place named within the text ('Wuhou, Chengdu').
        """
        found = self.regions.lookup(text)
        return found[0] if found else self.regions.find_in_text(text)

    def find_services(self, query: str, region: Region | None = None, limit: int = 10) -> list[ScoredItem]:
        return self.search.find(query, region.code if region else None, limit)

    def service_view(self, item: ServiceItem, lang: str, region: Region | None) -> dict[str, Any]:
        """The item in one language, with the office that handles it in `region`."""
        department = self.departments.get(item.department)
        label = department.label if department else item.content["office"]
        view = localize(item, lang, self.labels, label)
        view["office"] = self.office_view(item, lang, region)
        return view

    def office_view(self, item: ServiceItem, lang: str, region: Region | None) -> dict[str, Any] | None:
        if item.source == "local":
            local_region = self.regions.get(item.region_code or "")
            return {
                "region_code": item.region_code,
                "region_name": None
                if local_region is None
                else (local_region.name if lang == "zh" else local_region.name_en),
                "tier": item.tier,
                "department": item.content["office"][lang],
                "department_alt": item.content["office"]["en" if lang == "zh" else "zh"],
                "precise": True,
            }
        office = resolve_office(item.tier, self.departments[item.department], region, self.regions)
        return office.as_dict(lang) if office else None
