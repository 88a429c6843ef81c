"""JSON request bodies shared by the application and appointment handlers.

Each bad field is a clear 400 naming the field; no message ever repeats what the
applicant typed, since that may be an ID number, a phone number or a name.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from sanic.request import Request

from backend.api.errors import ApiError
from backend.catalogue.catalogue import Catalogue
from backend.catalogue.items import ITEM_ID, ServiceItem
from backend.catalogue.regions import Region
from backend.procedure.identity import normalize_mobile

MAX_NAME_CHARS = 50
MAX_CHANNEL_CHARS = 32
MAX_CONVERSATION_CHARS = 200
MAX_KEY_CHARS = 100
# Besides letters: the middle dot of transcribed minority and foreign names (阿沛·阿旺晋美), and Latin punctuation.
_NAME_PUNCTUATION = frozenset(" ·•.'-")


def json_body(request: Request) -> Mapping[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "The request body must be JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object.")
    return body


def text_field(body: Mapping[str, Any], name: str, max_chars: int, required: bool = True) -> str:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ApiError(400, f"missing_{name}", f"Field '{name}' is required.")
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"invalid_{name}", f"Field '{name}' must be a string.")
    value = value.strip()
    if len(value) > max_chars:
        raise ApiError(400, f"invalid_{name}", f"Field '{name}' is limited to {max_chars} characters.")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        # PostgreSQL cannot store NUL, and no field of ours has a use for control characters.
        raise ApiError(400, f"invalid_{name}", f"Field '{name}' must not contain control characters.")
    return value


def object_field(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = body.get(name)
    if value is None:
        raise ApiError(400, f"missing_{name}", f"Field '{name}' is required.")
    if not isinstance(value, dict):
        raise ApiError(400, f"invalid_{name}", f"Field '{name}' must be an object.")
    return value


def service_field(body: Mapping[str, Any], catalogue: Catalogue) -> ServiceItem:
    service_id = text_field(body, "service_id", 120)
    item = catalogue.items.get(service_id) if ITEM_ID.match(service_id) else None
    if item is None:
        raise ApiError(400, "unknown_service", "No service item has that id.")
    return item


def region_field(body: Mapping[str, Any], catalogue: Catalogue) -> Region:
    code = text_field(body, "region_code", 40)
    region = catalogue.regions.get(code) if code.isdigit() else None
    if region is None:
        raise ApiError(400, "unknown_region", "Field 'region_code' must be a known 6-digit region code.")
    return region


def applicant_name(applicant: Mapping[str, Any]) -> str:
    """1 to 50 letters, spaces and the punctuation of names; no digits, no symbols."""
    raw = applicant.get("name")
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name or len(name) > MAX_NAME_CHARS or not all(_name_character(ch) for ch in name):
        raise ApiError(400, "invalid_name", f"The applicant's name must be 1 to {MAX_NAME_CHARS} letters, no digits.")
    return name


def _name_character(ch: str) -> bool:
    return ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] in "LM"


def applicant_phone(applicant: Mapping[str, Any]) -> str:
    raw = applicant.get("phone")
    phone = normalize_mobile(raw) if isinstance(raw, str) else None
    if phone is None:
        raise ApiError(400, "invalid_phone", "The applicant's phone must be a mainland mobile number of 11 digits.")
    return phone


def lang_field(body: Mapping[str, Any]) -> str:
    lang = text_field(body, "lang", 2, required=False) or "zh"
    if lang not in ("zh", "en"):
        raise ApiError(400, "invalid_lang", "Field 'lang' must be 'zh' or 'en'.")
    return lang


def channel_field(body: Mapping[str, Any]) -> str:
    return text_field(body, "channel", MAX_CHANNEL_CHARS, required=False) or "rest"


def conversation_field(body: Mapping[str, Any]) -> str | None:
    return text_field(body, "conversation_id", MAX_CONVERSATION_CHARS, required=False) or None


def idempotency_key(request: Request) -> str | None:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > MAX_KEY_CHARS:
        raise ApiError(400, "invalid_idempotency_key", f"Idempotency-Key is limited to {MAX_KEY_CHARS} characters.")
    return key or None


def key_reused() -> ApiError:
    return ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used for a different request.")


def fingerprint(fields: Mapping[str, Any]) -> str:
    """What tells a repeated request from a different one under the same Idempotency-Key."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
