"""The platform's OpenAPI document (served at /api/v1/openapi.json): its paths, and the
catalogue's schemas; those of applications and appointments are in backend/openapi_schemas.py,
those of public problem reports in backend/openapi_complaints.py."""

from __future__ import annotations

from typing import Any

from backend.catalogue.items import DELIVERY_METHODS
from backend.console.openapi import STATS_PATHS, STATS_SCHEMAS
from backend.openapi_complaints import COMPLAINT_PATHS, COMPLAINT_SCHEMAS
from backend.openapi_schemas import APPLICATION_SCHEMAS, ERROR, answer, errors, query_param, ref, request_body
from backend.openapi_uploads import UPLOAD_PATHS
from backend.procedure.applications import STATUSES

LANG = query_param("lang", "Answer language; detected from `q` when absent.", enum=["zh", "en"])
REGION = query_param("region", "6-digit division code or a region name (海淀区, 北京海淀, Haidian).")
STAFF: list[dict[str, list[str]]] = [{"staffToken": []}]
STATUS_ENUM = list(STATUSES)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "At most 100 characters. A repeat with the same key answers 200 with the first record, "
    "creating nothing; the same key with a different body is a 422.",
    "schema": {"type": "string", "maxLength": 100},
}
APPLICATION_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Zhengwu Assistant service platform",
        "version": "1.0.0",
        "description": "Service items, regions and the offices that handle them, in Chinese and English; "
        "applications through the three-stage procedure and appointments at the office; public problem "
        "reports (12345), also served as Open311 GeoReport v2 at /open311/v2/.",
    },
    "paths": {
        "/health": {
            "get": {
                "summary": "Liveness",
                "responses": {"200": answer("Up", {"type": "object", "properties": {"status": {"type": "string"}}})},
            }
        },
        "/api/v1/services": {
            "get": {
                "summary": "Search service items for a question",
                "parameters": [
                    query_param("q", "The citizen's question (at most 200 characters).", required=True),
                    REGION,
                    LANG,
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                    },
                ],
                "responses": {
                    "200": answer("Ranked results", {"$ref": "#/components/schemas/SearchResults"}),
                    **errors(400),
                },
            }
        },
        "/api/v1/services/{id}": {
            "get": {
                "summary": "One service item, with its office resolved for a region",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    REGION,
                    LANG,
                ],
                "responses": {
                    "200": answer("The item", {"$ref": "#/components/schemas/Service"}),
                    **errors(400, 404),
                },
            }
        },
        "/api/v1/regions": {
            "get": {
                "summary": "Find regions by Chinese name, alias, pinyin or English; or list a region's children",
                "parameters": [
                    query_param("q", "Name to look for; without q and parent, the provinces are listed."),
                    query_param("parent", "6-digit code: list this region's direct children."),
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
                ],
                "responses": {
                    "200": answer("Regions", {"type": "array", "items": {"$ref": "#/components/schemas/Region"}}),
                    **errors(400),
                },
            }
        },
        "/api/v1/applications": {
            "post": {
                "summary": "Submit an application for an item that can be applied for online",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": request_body("NewApplication"),
                "responses": {
                    "201": answer("Received; the applicant's details masked", ref("ApplicationReceipt")),
                    "200": answer("A repeat under the same Idempotency-Key", ref("ApplicationReceipt")),
                    **errors(400, 422),
                },
            },
            "get": {
                "summary": "Applications, newest first (staff)",
                "security": STAFF,
                "parameters": [
                    query_param("status", "Only applications in this status.", enum=STATUS_ENUM),
                    query_param("service_id", "Only applications for this service item."),
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                ],
                "responses": {
                    "200": answer("A page of applications", ref("ApplicationList")),
                    **errors(400, 401, 403),
                },
            },
        },
        "/api/v1/applications/{id}": {
            "get": {
                "summary": "An application's status: to the applicant with the verification code, or to staff",
                "description": "Five wrong codes within 15 minutes lock the application's checks for 15 minutes "
                "(429 with Retry-After). An unknown number is answered exactly as a wrong code.",
                "security": [{}, *STAFF],
                "parameters": [
                    APPLICATION_ID,
                    {
                        "name": "X-Verify-Code",
                        "in": "header",
                        "description": "The last four characters of the applicant's ID number",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": answer(
                        "Without personal data for the applicant; with them for staff",
                        {"oneOf": [ref("ApplicationStatus"), ref("StaffApplication")]},
                    ),
                    "429": {
                        "description": "Locked after too many wrong codes",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
                        "content": {"application/json": {"schema": ERROR}},
                    },
                    **errors(401, 403, 404),
                },
            }
        },
        "/api/v1/applications/{id}/transitions": {
            "post": {
                "summary": "Move an application to its next status (staff); the citizen is notified",
                "security": STAFF,
                "parameters": [APPLICATION_ID],
                "requestBody": request_body("Transition"),
                "responses": {
                    "200": answer("The application after the change", ref("StaffApplication")),
                    **errors(400, 401, 403, 404, 409),
                },
            }
        },
        "/api/v1/appointments/slots": {
            "get": {
                "summary": "Free slots of the next working days, for items handled at the office",
                "parameters": [
                    query_param("service_id", "A service item whose reception is 'appointment'.", required=True),
                    query_param("region", "6-digit code or name of the citizen's region.", required=True),
                    {
                        "name": "days",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
                    },
                ],
                "responses": {"200": answer("Slots by working day", ref("Slots")), **errors(400)},
            }
        },
        "/api/v1/appointments": {
            "post": {
                "summary": "Book a visit to the office",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": request_body("NewAppointment"),
                "responses": {
                    "201": answer("Booked; the applicant's details masked", ref("Appointment")),
                    "200": answer("A repeat under the same Idempotency-Key", ref("Appointment")),
                    **errors(400, 409, 422),
                },
            }
        },
        **COMPLAINT_PATHS,
        **STATS_PATHS,
        **UPLOAD_PATHS,
    },
    "components": {
        "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                        "required": ["code", "message"],
                    }
                },
            },
            "Region": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "pattern": "^[0-9]{6}$"},
                    "name": {"type": "string"},
                    "name_en": {"type": "string"},
                    "tier": {"type": "string", "enum": ["province", "city", "county"]},
                    "parent_code": {"type": "string", "nullable": True},
                },
            },
            "Office": {
                "type": "object",
                "nullable": True,
                "properties": {
                    "region_code": {"type": "string", "nullable": True},
                    "region_name": {"type": "string", "nullable": True},
                    "tier": {"type": "string", "enum": ["national", "provincial", "city", "county"]},
                    "department": {"type": "string", "description": "Office name in the answer language"},
                    "department_alt": {"type": "string", "description": "Office name in the other language"},
                    "precise": {
                        "type": "boolean",
                        "description": "false when the region given is coarser than the item's tier",
                    },
                },
            },
            "Service": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "source": {"type": "string", "enum": ["national", "local"]},
                    "name": {"type": "string"},
                    "tier": {"type": "string", "enum": ["national", "provincial", "city", "county"]},
                    "department": {"type": "string"},
                    "online_level": {
                        "type": "string",
                        "nullable": True,
                        "enum": ["fully_online", "one_visit", "on_site"],
                    },
                    "time_limit_days": {"type": "integer", "nullable": True, "description": "promised working days"},
                    "statutory_days": {"type": "integer", "description": "statutory working days"},
                    "fee": {"type": "string", "nullable": True},
                    "materials": {"type": "array", "items": {"type": "object"}},
                    "steps": {"type": "array", "items": {"type": "object"}},
                    "url": {"type": "string", "nullable": True},
                    "reception": {
                        "type": "string",
                        "enum": ["online", "appointment"],
                        "description": "online: POST /api/v1/applications; appointment: book a visit",
                    },
                    "delivery": {
                        "type": "array",
                        "items": {"type": "string", "enum": list(DELIVERY_METHODS)},
                        "description": "How the result may be delivered",
                    },
                    "office": {"$ref": "#/components/schemas/Office"},
                },
            },
            "SearchResults": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "lang": {"type": "string"},
                    "region": {"$ref": "#/components/schemas/Region"},
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "service": {"$ref": "#/components/schemas/Service"},
                                "score": {"type": "number"},
                            },
                        },
                    },
                },
            },
            **APPLICATION_SCHEMAS,
            **COMPLAINT_SCHEMAS,
            **STATS_SCHEMAS,
        },
    },
}
