"""JSON request bodies shared by the application, appointment and report handlers.

Each bad field is a clear 400 naming the field; no message ever repeats what the
applicant typed, since that may be an ID number, a phone number or a name.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sanic.request import Request

from backend.api.errors import ApiError
from backend.catalogue.catalogue import Catalogue
from backend.catalogue.items import ITEM_ID, ServiceItem
from backend.catalogue.regions import Region
from backend.complaints.datetimes import parse_datetime
from backend.complaints.routing import in_china
from backend.procedure.identity import normalize_mobile

MAX_NAME_CHARS = 50
MAX_CHANNEL_CHARS = 32
MAX_CONVERSATION_CHARS = 200
MAX_KEY_CHARS = 100
MAX_URL_CHARS = 500
MAX_DESCRIPTION_CHARS = 4000
MAX_ADDRESS_CHARS = 300
MAX_PHOTOS = 5
# A report may say when it happened, but not later than now (give or take a clock's drift).
_CLOCK_SKEW = timedelta(minutes=5)
# A landline with its area code: 0 + 2 or 3 digits, then 7 or 8 (010-12345678, 0831 2345678).
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
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


def reporter_phone(raw: Any) -> str:
    """A mainland mobile number, or a landline with its area code, as digits only."""
    phone = normalize_mobile(raw) if isinstance(raw, str) else None
    if phone is None and isinstance(raw, str):
        digits = re.sub(r"[\s\-()]", "", raw)
        digits = re.sub(r"^(\+86|0086)", "", digits)
        phone = digits if _LANDLINE.match(digits) else None
    if phone is None:
        raise ApiError(
            400, "invalid_phone", "The phone must be a mainland mobile number, or a landline with its area code."
        )
    return phone


def http_url(raw: Any, name: str) -> str:
    """An absolute http(s) URL of at most 500 characters, without spaces."""
    value = raw.strip() if isinstance(raw, str) else ""
    try:
        parts = urlsplit(value) if value and len(value) <= MAX_URL_CHARS else None
        valid = (
            parts is not None
            and parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in value)
        )
    except ValueError:  # a malformed host, such as an unclosed IPv6 bracket
        valid = False
    if not valid:
        message = f"Field '{name}' must hold http(s) URLs of at most {MAX_URL_CHARS} characters."
        raise ApiError(400, f"invalid_{name}", message)
    return value


def description_field(body: Mapping[str, Any]) -> str:
    raw = body.get("description")
    normalised = raw.replace("\r\n", "\n").replace("\r", "\n") if isinstance(raw, str) else raw
    return text_field({"description": normalised}, "description", MAX_DESCRIPTION_CHARS)


def coordinates(lat: Any, long: Any) -> tuple[float | None, float | None]:
    """Both or neither; numbers (or numeric strings) within China."""
    if lat in (None, "") and long in (None, ""):
        return None, None
    try:
        latitude, longitude = float(lat), float(long)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON integer of 400 digits
        raise ApiError(400, "invalid_location", "'lat' and 'long' must both be given, as numbers.") from None
    if isinstance(lat, bool) or isinstance(long, bool) or not in_china(latitude, longitude):
        raise ApiError(400, "location_outside_china", "'lat' and 'long' must be a place in China (WGS84).")
    return latitude, longitude


def photo_urls_field(body: Mapping[str, Any]) -> tuple[str, ...]:
    raw = body.get("photo_urls")
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_PHOTOS:
        raise ApiError(400, "invalid_photo_urls", f"Field 'photo_urls' must be a list of at most {MAX_PHOTOS} URLs.")
    return tuple(http_url(url, "photo_urls") for url in raw)


def occurred_at_field(body: Mapping[str, Any], now: datetime) -> datetime | None:
    raw = body.get("occurred_at")
    if raw in (None, ""):
        return None
    occurred = parse_datetime(raw) if isinstance(raw, str) else None
    if occurred is None or occurred > now + _CLOCK_SKEW:
        raise ApiError(400, "invalid_occurred_at", "Field 'occurred_at' must be an ISO 8601 time, not in the future.")
    return occurred


def contact_field(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    contact = body.get("contact")
    if contact is None:
        return None, None
    if not isinstance(contact, dict):
        raise ApiError(400, "invalid_contact", "Field 'contact' must be an object or null (anonymous).")
    name = applicant_name(contact) if contact.get("name") not in (None, "") else None
    phone = reporter_phone(contact["phone"]) if contact.get("phone") not in (None, "") else None
    return name, phone


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
    if len(key) > MAX_KEY_CHARS or not (key.isascii() and key.isprintable()):  # it is stored: no surrogates
        message = f"Idempotency-Key must be at most {MAX_KEY_CHARS} printable ASCII characters."
        raise ApiError(400, "invalid_idempotency_key", message)
    return key or None


def key_reused() -> ApiError:
    return ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used for a different request.")


def fingerprint(fields: Mapping[str, Any]) -> str:
    """What tells a repeated request from a different one under the same Idempotency-Key."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
