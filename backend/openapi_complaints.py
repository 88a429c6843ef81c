"""Paths and schemas of public problem reports for the OpenAPI document (backend/openapi.py).

The same reports are served as Open311 GeoReport v2 at /open311/v2/, described by that
specification rather than here.
"""

from __future__ import annotations

from typing import Any

from backend.complaints.categories import read_complaint_codes
from backend.complaints.lifecycle import RATINGS, STATUSES
from backend.openapi_schemas import (
    BILINGUAL,
    CHANNEL,
    CONVERSATION,
    DATE,
    ERROR,
    NAME,
    TEXT,
    answer,
    errors,
    obj,
    query_param,
    ref,
    request_body,
)

_CODES = read_complaint_codes()
STATUS_ENUM = list(STATUSES)
CATEGORY_ENUM = list(_CODES.categories)
REQUEST_TYPE_ENUM = list(_CODES.request_types)
_STAFF: list[dict[str, list[str]]] = [{"staffToken": []}]
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "example": "GD20261126-7KQ3MX"}}
_VERIFY_CODE = {
    "name": "X-Verify-Code",
    "in": "header",
    "description": "The last four digits of the reporter's phone, or an anonymous report's follow-up code",
    "schema": {"type": "string"},
}
_LOCKED = {
    "description": "Locked after too many wrong codes",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    "content": {"application/json": {"schema": ERROR}},
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "At most 100 characters. A repeat with the same key answers 200 with the first report "
    "(an anonymous report gets a new follow-up code, the earlier one no longer works); "
    "the same key with a different body is a 422.",
    "schema": {"type": "string", "maxLength": 100},
}
DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_TEXT = {"type": "string", "nullable": True}

_UPDATE = obj(["status", "at", "note"], status={"type": "string", "enum": STATUS_ENUM}, at=DATE_TIME, note=TEXT)
_OFFICE = obj(
    ["region_code", "department"],
    region_code={"type": "string", "nullable": True, "description": "null: the 12345 hotline, region unknown"},
    tier={"type": "string", "enum": ["national", "provincial", "city", "county"]},
    department={"type": "string", "description": "The office, in the report's language"},
    department_alt={"type": "string", "description": "The office, in the other language"},
    kind={"type": "string", "description": "Its key in data/catalogue/departments.yml"},
)
_STATUS_FIELDS: dict[str, Any] = {
    "complaint_id": {"type": "string", "example": "GD20261126-7KQ3MX"},
    "category": {"type": "string", "enum": CATEGORY_ENUM},
    "category_name": BILINGUAL,
    "request_type": {"type": "string", "enum": REQUEST_TYPE_ENUM},
    "request_type_name": BILINGUAL,
    "status": {"type": "string", "enum": STATUS_ENUM},
    "response_due": DATE,
    "overdue": {"type": "boolean", "description": "Past response_due (Beijing date) and neither responded nor closed"},
    "office": _OFFICE,
    "lang": {"type": "string", "enum": ["zh", "en"]},
    "created_at": DATE_TIME,
    "updates": {"type": "array", "items": _UPDATE},
    "satisfaction": obj(["rating", "at"], rating={"type": "string", "enum": list(RATINGS)}, at=DATE_TIME),
}
_REQUIRED_STATUS = [name for name in _STATUS_FIELDS if name != "satisfaction"]

COMPLAINT_SCHEMAS: dict[str, Any] = {
    "NewComplaint": obj(
        ["category", "request_type", "description", "location"],
        category={"type": "string", "enum": CATEGORY_ENUM, "description": "contract/complaints.yml"},
        request_type={"type": "string", "enum": REQUEST_TYPE_ENUM, "description": "Decides the response deadline"},
        description={"type": "string", "minLength": 1, "maxLength": 4000},
        location=obj(
            ["region_code"],
            region_code={"type": "string", "pattern": "^[0-9]{6}$"},
            address={"type": "string", "maxLength": 300},
            lat={"type": "number", "description": "WGS84, within China; with long"},
            long={"type": "number", "description": "WGS84, within China; with lat"},
        ),
        occurred_at={**DATE_TIME, "description": "ISO 8601; without a zone, Beijing time; not in the future"},
        photo_urls={"type": "array", "maxItems": 5, "items": {"type": "string", "format": "uri", "maxLength": 500}},
        contact={
            **obj(
                [],
                name=NAME,
                phone={"type": "string", "description": "Mainland mobile, or a landline with its area code"},
            ),
            "nullable": True,
            "description": "null or no phone: anonymous, and the receipt carries a follow-up code",
        },
        channel=CHANNEL,
        conversation_id={**CONVERSATION, "description": "Rasa's conversation (sender) id; updates are told there."},
        lang={"type": "string", "enum": ["zh", "en"], "default": "zh"},
    ),
    "ComplaintStatus": obj(_REQUIRED_STATUS, **_STATUS_FIELDS),
    "ComplaintReceipt": obj(
        [*_REQUIRED_STATUS, "contact"],
        **_STATUS_FIELDS,
        contact={
            **obj(
                ["name", "phone"], name={"type": "string", "nullable": True}, phone={"type": "string", "nullable": True}
            ),
            "nullable": True,
            "description": "Masked: 张*, 139****4321",
        },
        follow_up_code={
            "type": "string",
            "pattern": "^[0-9]{4}$",
            "description": "Anonymous reports only, in this answer only: the X-Verify-Code of follow-up checks",
        },
    ),
    "StaffComplaint": obj(
        [*_REQUIRED_STATUS, "description", "location", "contact", "anonymous", "round"],
        **_STATUS_FIELDS,
        description=TEXT,
        location=obj(
            ["region_code"],
            region_code={"type": "string", "nullable": True},
            address={"type": "string", "nullable": True},
            address_id={"type": "string", "nullable": True},
            lat={"type": "number", "nullable": True},
            long={"type": "number", "nullable": True},
        ),
        occurred_at={**DATE_TIME, "nullable": True},
        photo_urls={"type": "array", "items": TEXT},
        contact={
            **obj([], name=TEXT, phone=TEXT, email=TEXT),
            "nullable": True,
        },
        anonymous={"type": "boolean"},
        account_id={"type": "string", "nullable": True},
        device_id={"type": "string", "nullable": True},
        channel=TEXT,
        conversation_id={"type": "string", "nullable": True},
        round={"type": "integer", "description": "1, and one more each time a dissatisfied reporter reopens it"},
        updated_at=DATE_TIME,
    ),
    "ComplaintList": obj(
        ["total", "limit", "offset", "results"],
        total={"type": "integer"},
        limit={"type": "integer"},
        offset={"type": "integer"},
        results={"type": "array", "items": ref("StaffComplaint")},
    ),
    "ComplaintUpdate": obj(
        ["status"],
        status={"type": "string", "enum": STATUS_ENUM},
        note={"type": "string", "maxLength": 500, "description": "Required to close a report not yet responded to"},
    ),
    "Satisfaction": obj(
        ["rating"],
        rating={"type": "string", "enum": list(RATINGS)},
        comment={"type": "string", "maxLength": 500},
    ),
}

COMPLAINT_PATHS: dict[str, Any] = {
    "/api/v1/complaints": {
        "post": {
            "summary": "File a public problem report; it is dispatched at once to the office that handles it",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": request_body("NewComplaint"),
            "responses": {
                "201": answer("Filed and dispatched; the contact masked", ref("ComplaintReceipt")),
                "200": answer("A repeat under the same Idempotency-Key", ref("ComplaintReceipt")),
                **errors(400, 422),
            },
        },
        "get": {
            "summary": "Reports, newest first (staff)",
            "security": _STAFF,
            "parameters": [
                query_param("status", "Only reports in this status.", enum=STATUS_ENUM),
                query_param("category", "Only reports of this category.", enum=CATEGORY_ENUM),
                query_param("overdue", "true: only overdue reports; false: only the others.", enum=["true", "false"]),
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
            ],
            "responses": {"200": answer("A page of reports", ref("ComplaintList")), **errors(400, 401, 403)},
        },
    },
    "/api/v1/complaints/{id}": {
        "get": {
            "summary": "A report's progress: to the reporter with the verification code, or to staff",
            "description": "Five wrong codes within 15 minutes lock the report's checks for 15 minutes "
            "(429 with Retry-After). An unknown number is answered exactly as a wrong code.",
            "security": [{}, *_STAFF],
            "parameters": [_ID, _VERIFY_CODE],
            "responses": {
                "200": answer(
                    "Without personal data for the reporter; with them for staff",
                    {"oneOf": [ref("ComplaintStatus"), ref("StaffComplaint")]},
                ),
                "429": _LOCKED,
                **errors(401, 403, 404),
            },
        }
    },
    "/api/v1/complaints/{id}/updates": {
        "post": {
            "summary": "Record the office's progress (staff); the reporter is notified",
            "description": "open → dispatched → in_progress → responded → closed; dispatched may go straight to "
            "responded; any status but closed may be closed with a note. Anything else is a 409.",
            "security": _STAFF,
            "parameters": [_ID],
            "requestBody": request_body("ComplaintUpdate"),
            "responses": {
                "200": answer("The report after the update", ref("StaffComplaint")),
                **errors(400, 401, 403, 404, 409),
            },
        }
    },
    "/api/v1/complaints/{id}/satisfaction": {
        "post": {
            "summary": "The reporter rates the response: satisfied closes the report, dissatisfied reopens it",
            "description": "Only when the status is 'responded' (else 409). A dissatisfied rating sends the "
            "report back to the office (in_progress) for a new round with a new response_due.",
            "security": [{}, *_STAFF],
            "parameters": [_ID, _VERIFY_CODE],
            "requestBody": request_body("Satisfaction"),
            "responses": {
                "200": answer("The report after the rating", ref("ComplaintStatus")),
                "429": _LOCKED,
                **errors(400, 401, 403, 404, 409),
            },
        }
    },
}
