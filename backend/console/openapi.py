"""The dashboard's figures (GET /api/v1/stats) for the OpenAPI document (backend/openapi.py)."""

from __future__ import annotations

from typing import Any

from backend.complaints.lifecycle import RATINGS
from backend.console.stats import MAX_DAYS, RESPONSE_OUTCOMES
from backend.openapi_schemas import BILINGUAL, DATE, TEXT, answer, errors, obj, ref
from backend.procedure.applications import STAGES, STATUSES

COUNT = {"type": "integer", "minimum": 0}
RATE = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True}

STATS_PATHS: dict[str, Any] = {
    "/api/v1/stats": {
        "get": {
            "summary": "Figures of the reports and applications filed in the last `days` office days (staff)",
            "description": "The period runs from 00:00 Beijing time on the first day, today included. A report is "
            "answered on time when the first 'responded' or 'closed' update of its current round falls, in "
            "Beijing time, on or before its response day; late when after it; a report not answered is overdue "
            "once its response day has passed (as the staff list's `overdue` flag), pending before. "
            "on_time_rate = on_time / (on_time + late + overdue). Satisfaction counts each report's latest "
            "rating; rate = (satisfied + basically_satisfied) / rated. Rates are null when nothing counts.",
            "security": [{"staffToken": []}],
            "parameters": [
                {
                    "name": "days",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 30},
                }
            ],
            "responses": {"200": answer("The figures", ref("Stats")), **errors(400, 401, 403)},
        }
    }
}

STATS_SCHEMAS: dict[str, Any] = {
    "Stats": obj(
        ["days", "from", "to", "since", "complaints", "applications"],
        **{"days": COUNT, "from": DATE, "to": DATE, "since": {"type": "string", "format": "date-time"}},
        complaints=obj(
            ["total", "by_category", "by_region", "response", "satisfaction"],
            total=COUNT,
            by_category={
                "type": "array",
                "items": obj(["category", "name", "count"], category=TEXT, name=BILINGUAL, count=COUNT),
            },
            by_region={
                "type": "array",
                "description": "By the region of the office the report went to; null for the national hotline.",
                "items": obj(
                    ["region_code", "name", "count"],
                    region_code={"type": "string", "nullable": True},
                    name=BILINGUAL,
                    count=COUNT,
                ),
            },
            response=obj(
                [*RESPONSE_OUTCOMES, "on_time_rate"], **dict.fromkeys(RESPONSE_OUTCOMES, COUNT), on_time_rate=RATE
            ),
            satisfaction=obj([*RATINGS, "rated", "rate"], **dict.fromkeys(RATINGS, COUNT), rated=COUNT, rate=RATE),
        ),
        applications=obj(
            ["total", "by_status"],
            total=COUNT,
            by_status={
                "type": "array",
                "description": "Every status, in the order of the procedure.",
                "items": obj(
                    ["status", "stage", "count"],
                    status={"type": "string", "enum": list(STATUSES)},
                    stage={"type": "string", "enum": list(STAGES)},
                    count=COUNT,
                ),
            },
        ),
    )
}
