"""Paths of report photos (backend/api/uploads.py) for the OpenAPI document (backend/openapi.py)."""

from __future__ import annotations

from typing import Any

from backend.openapi_schemas import TEXT, answer, errors, obj

_IMAGE = {"schema": {"type": "string", "format": "binary"}}
_IMAGES = {media_type: _IMAGE for media_type in ("image/jpeg", "image/png", "image/webp")}

UPLOAD_PATHS: dict[str, Any] = {
    "/api/v1/uploads": {
        "post": {
            "summary": "Upload a photo for a problem report",
            "description": (
                "One JPEG, PNG or WebP image of at most 5 MB as the raw body, checked by its magic bytes and by "
                "decoding it, and stored without its metadata. Anyone may upload (30 photos per address in 10 "
                "minutes). The absolute `url` goes into a report's `photo_urls`."
            ),
            "requestBody": {"required": True, "content": _IMAGES},
            "responses": {
                "201": answer(
                    "Stored",
                    obj(
                        ["url", "media_type", "size"],
                        url={"type": "string", "format": "uri"},
                        media_type=TEXT,
                        size={"type": "integer"},
                    ),
                ),
                **errors(413, 415, 429),
            },
        }
    },
    "/api/v1/uploads/{name}": {
        "get": {
            "summary": "A stored photo (X-Content-Type-Options: nosniff)",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": TEXT}],
            "responses": {"200": {"description": "The image", "content": _IMAGES}, **errors(404)},
        }
    },
}
