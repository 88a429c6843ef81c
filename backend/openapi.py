"""The platform's OpenAPI document (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _query(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _answer("Error", _ERROR) for status in statuses}


LANG = _query("lang", "Answer language; detected from `q` when absent.", enum=["zh", "en"])
REGION = _query("region", "6-digit division code or a region name (海淀区, 北京海淀, Haidian).")

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Zhengwu Assistant service platform",
        "version": "1.0.0",
        "description": "Service items, regions and the offices that handle them, in Chinese and English.",
    },
    "paths": {
        "/health": {
            "get": {
                "summary": "Liveness",
                "responses": {"200": _answer("Up", {"type": "object", "properties": {"status": {"type": "string"}}})},
            }
        },
        "/api/v1/services": {
            "get": {
                "summary": "Search service items for a question",
                "parameters": [
                    _query("q", "The citizen's question (at most 200 characters).", required=True),
                    REGION,
                    LANG,
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                    },
                ],
                "responses": {
                    "200": _answer("Ranked results", {"$ref": "#/components/schemas/SearchResults"}),
                    **_errors(400),
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
                    "200": _answer("The item", {"$ref": "#/components/schemas/Service"}),
                    **_errors(400, 404),
                },
            }
        },
        "/api/v1/regions": {
            "get": {
                "summary": "Find regions by Chinese name, alias, pinyin or English; or list a region's children",
                "parameters": [
                    _query("q", "Name to look for; without q and parent, the provinces are listed."),
                    _query("parent", "6-digit code: list this region's direct children."),
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
                ],
                "responses": {
                    "200": _answer("Regions", {"type": "array", "items": {"$ref": "#/components/schemas/Region"}}),
                    **_errors(400),
                },
            }
        },
    },
    "components": {
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
        }
    },
}
