"""The staff console (CONTRACT.md §4): its page at GET /staff and assets at
/staff/assets/<name>, and the dashboard's figures at GET /api/v1/stats (staff).

The page and its scripts are public static files holding no secret: staff type the staff
token into the page, which keeps it in sessionStorage and sends it as a bearer token to
the staff JSON APIs, as any API client would. They are served with a Content-Security-
Policy that lets only this origin's scripts, styles and requests run.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json, raw

from backend.api.auth import require_staff
from backend.api.errors import ApiError
from backend.api.params import whole_number
from backend.catalogue.catalogue import Catalogue
from backend.complaints import lifecycle
from backend.complaints.categories import ComplaintCodes
from backend.console.stats import MAX_DAYS, Stats, period, read_stats
from backend.procedure import applications

staff_console_routes = Blueprint("staff_console")

STATIC_DIR = Path(__file__).resolve().parent.parent / "console" / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z]+$")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
NATIONAL = {"zh": "全国（12345热线）", "en": "National (12345 hotline)"}


def _workflow() -> bytes:
    """The statuses and the moves staff may make, from their one definition, for the page's forms."""
    workflow = {
        "complaints": {
            "statuses": list(lifecycle.STATUSES),
            "transitions": {status: sorted(after) for status, after in lifecycle.TRANSITIONS.items()},
            "ratings": list(lifecycle.RATINGS),
        },
        "applications": {
            "stages": {stage: list(statuses) for stage, statuses in applications.STAGES.items()},
            "statuses": list(applications.STATUSES),
            "transitions": {status: sorted(after) for status, after in applications.TRANSITIONS.items()},
        },
    }
    return jsonlib.dumps(workflow).encode()


def _read_assets() -> dict[str, tuple[bytes, str]]:
    """Every file of static/ by name, with its content type; read once, at start-up."""
    assets = {
        path.name: (path.read_bytes(), CONTENT_TYPES[path.suffix])
        for path in sorted(STATIC_DIR.iterdir())
        if path.is_file() and path.suffix in CONTENT_TYPES and ASSET_NAME.match(path.name)
    }
    assets["workflow.json"] = (_workflow(), CONTENT_TYPES[".json"])
    return assets


ASSETS = _read_assets()


def _served(name: str) -> HTTPResponse:
    body, content_type = ASSETS[name]
    return raw(body, content_type=content_type, headers=SECURITY_HEADERS)


@staff_console_routes.get("/staff", strict_slashes=False)
async def console_page(request: Request) -> HTTPResponse:
    return _served("index.html")


@staff_console_routes.get("/staff/assets/<name:str>")
async def console_asset(request: Request, name: str) -> HTTPResponse:
    if name == "index.html" or name not in ASSETS:
        raise ApiError(404, "not_found", "No such file.")
    return _served(name)


def days_param(request: Request, default: int = 30) -> int:
    raw_days = (request.args.get("days") or "").strip()
    if not raw_days:
        return default
    days = whole_number(raw_days)
    if days is None or not 1 <= days <= MAX_DAYS:
        raise ApiError(400, "invalid_days", f"Parameter 'days' must be a whole number from 1 to {MAX_DAYS}.")
    return days


@staff_console_routes.get("/api/v1/stats")
async def stats(request: Request) -> HTTPResponse:
    """Counts of reports and applications filed in the last `days` office days (default 30);
    how each figure is defined: backend/console/stats.py."""
    require_staff(request)
    ctx = request.app.ctx
    wanted = period(days_param(request), datetime.now(timezone.utc))
    found = await asyncio.to_thread(read_stats, ctx.engine, wanted)
    return json(stats_view(found, ctx.complaint_codes, ctx.catalogue))


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _region_name(catalogue: Catalogue, code: str | None) -> Mapping[str, str]:
    if code is None:
        return NATIONAL
    region = catalogue.regions.get(code)
    if region is None:
        return {"zh": code, "en": code}
    place = catalogue.regions.place_name(region)
    return {"zh": place.zh, "en": place.en}


def stats_view(found: Stats, codes: ComplaintCodes, catalogue: Catalogue) -> dict[str, Any]:
    def category_name(code: str) -> Mapping[str, str]:
        category = codes.categories.get(code)
        return category.name if category else {"zh": code, "en": code}

    return {
        "days": found.period.days,
        "from": found.period.first_day.isoformat(),
        "to": found.period.today.isoformat(),
        "since": found.period.since.isoformat(),
        "complaints": {
            "total": found.complaints,
            "by_category": [
                {"category": code, "name": dict(category_name(code)), "count": count}
                for code, count in found.complaints_by_category
            ],
            "by_region": [
                {"region_code": code, "name": dict(_region_name(catalogue, code)), "count": count}
                for code, count in found.complaints_by_region
            ],
            "response": {**found.response, "on_time_rate": _rate(found.on_time_rate)},
            "satisfaction": {
                **found.satisfaction,
                "rated": found.rated,
                "rate": _rate(found.satisfaction_rate),
            },
        },
        "applications": {
            "total": sum(found.applications_by_status.values()),
            "by_status": [
                {"status": status, "stage": applications.stage_of(status), "count": count}
                for status, count in found.applications_by_status.items()
            ],
        },
    }
