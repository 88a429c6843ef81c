"""Where a report goes (12345's 派单) and by when it is answered.

A category names a kind of authority (data/contract/complaints.yml); that kind is a
department of data/catalogue/departments.yml, and its office is the one of the report's
region: the county's office when the region is a county, else the region's own (a
city's, or a province's or municipality's). A report without a known region goes to
the 12345 hotline, which dispatches it by hand.

Pure: the catalogue's departments and regions and the working-day calendar are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from backend.catalogue.offices import Department, Office, resolve_office
from backend.catalogue.regions import Region, RegionDirectory
from backend.complaints.categories import Category, RequestType
from backend.procedure.workdays import WorkCalendar

# The contract's wording of each kind -> the departments.yml keys that handle it, the
# first being the one reports are dispatched to ("a / b" kinds name two).
DEPARTMENTS_BY_KIND: Mapping[str, tuple[str, ...]] = {
    "ecology and environment / public security": ("ecology_environment", "public_security"),
    "urban management": ("urban_management",),
    "urban management (law enforcement)": ("urban_management",),
    "water utility": ("water_utility",),
    "power utility": ("power_utility",),
    "gas / heating utility": ("gas_heating",),
    "traffic police": ("traffic_police",),
    "transport": ("transport",),
    "ecology and environment": ("ecology_environment",),
    "market regulation": ("market_regulation",),
    "human resources and social security": ("hrss",),
    "human resources and social security / healthcare security": ("hrss", "healthcare_security"),
    "education": ("education",),
    "health commission": ("health_commission",),
    "housing and urban-rural development": ("housing_construction",),
    "government service administration": ("government_service",),
    "12345 hotline centre (dispatches)": ("hotline_12345",),
}
HOTLINE = "hotline_12345"
# A box around China, islands of the South China Sea included (WGS84 degrees).
CHINA_LATITUDES = (3.5, 53.6)
CHINA_LONGITUDES = (73.4, 135.1)
_TIER_OF_REGION = {"county": "county", "city": "city", "province": "provincial"}


class NotServed(ValueError):
    """The region lies outside the mainland, whose offices do not handle it."""


@dataclass(frozen=True)
class Routing:
    department: str
    """The departments.yml key of the kind that handles the report."""
    office: Office


def department_for(category: Category) -> str:
    return DEPARTMENTS_BY_KIND[category.department_kind][0]


def route(
    category: Category,
    region: Region | None,
    departments: Mapping[str, Department],
    directory: RegionDirectory,
) -> Routing:
    """The office that answers a report of `category` made in `region` (None: not known)."""
    if region is None:
        hotline = departments[HOTLINE]
        return Routing(HOTLINE, Office(region=None, tier="national", name=hotline.templates["national"], precise=False))
    key = department_for(category)
    office = resolve_office(_TIER_OF_REGION[region.tier], departments[key], region, directory)
    if office is None:
        raise NotServed(region.code)
    return Routing(key, office)


def in_china(latitude: float, longitude: float) -> bool:
    """Whether a point may lie in China: within its bounding box (not a border test)."""
    return (
        CHINA_LATITUDES[0] <= latitude <= CHINA_LATITUDES[1] and CHINA_LONGITUDES[0] <= longitude <= CHINA_LONGITUDES[1]
    )


def response_due(calendar: WorkCalendar, accepted: date, request_type: RequestType) -> date:
    """The day a response is due: the type's working days after the day of acceptance."""
    return calendar.add_working_days(accepted, request_type.response_working_days)
