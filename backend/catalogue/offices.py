"""Which office handles an item for a citizen's region, named in both languages.

County items in a county go to that county's department, city items to the city's,
provincial items to the province's and national items to the national authority.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backend.catalogue.regions import MUNICIPALITIES, OUTSIDE_MAINLAND, Region, RegionDirectory


@dataclass(frozen=True)
class Department:
    key: str
    label: Mapping[str, str]
    templates: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Office:
    region: Region | None
    tier: str
    name: Mapping[str, str]
    precise: bool

    def as_dict(self, lang: str) -> dict[str, Any]:
        return {
            "region_code": self.region.code if self.region else None,
            "region_name": _region_label(self.region, lang),
            "tier": self.tier,
            "department": self.name[lang],
            "department_alt": self.name["en" if lang == "zh" else "zh"],
            "precise": self.precise,
        }


def load_departments(raw: Mapping[str, Any]) -> dict[str, Department]:
    return {key: Department(key=key, label=spec["label"], templates=spec["office"]) for key, spec in raw.items()}


def office_region(item_tier: str, region: Region, directory: RegionDirectory) -> tuple[Region, str, bool]:
    """The region whose department handles an item of `item_tier` for someone in `region`.

    Returns that region, the tier its office acts at, and whether it is precise. A
    municipality acts as a city for city items, and so does a county-level city governed
    directly by its province (济源市). When the citizen's region is coarser than the
    item's tier (a city given for a county item) the coarser region's office is
    returned and marked imprecise: the citizen should name the county.
    """
    if item_tier == "provincial":
        return directory.province_of(region), "provincial", True
    if item_tier == "city":
        city = directory.city_of(region)
        if city is None:
            return region, "provincial", False
        return city, "city", True
    if region.tier == "county":
        return region, "county", True
    return region, "city" if region.tier == "city" else "provincial", False


def resolve_office(
    item_tier: str,
    department: Department,
    region: Region | None,
    directory: RegionDirectory,
) -> Office | None:
    if item_tier == "national":
        return Office(region=None, tier="national", name=department.templates["national"], precise=True)
    if region is None or directory.province_of(region).code in OUTSIDE_MAINLAND:
        return None
    handling, tier, precise = office_region(item_tier, region, directory)
    variants = [f"{tier}@municipality"] if directory.province_of(handling).code in MUNICIPALITIES else []
    if tier == "county" and handling.name.endswith("区"):
        variants.append("county@district")
    template = next(department.templates[key] for key in [*variants, tier] if key in department.templates)
    place = directory.place_name(handling)
    parent = directory.parent(handling) if handling.tier == "county" else None
    fields = {
        "place": place.zh,
        "place_en": place.en,
        "city": parent.name if parent else place.zh,
        "city_en": parent.name_en if parent else place.en,
        "county": handling.name,
        "county_en": handling.name_en,
    }
    name = {lang: template[lang].format(**fields) for lang in ("zh", "en")}
    return Office(region=handling, tier=tier, name=name, precise=precise)


def _region_label(region: Region | None, lang: str) -> str | None:
    if region is None:
        return None
    return region.name if lang == "zh" else region.name_en
