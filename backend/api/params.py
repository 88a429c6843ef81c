"""Query-parameter parsing shared by the handlers: each bad value is a clear 400."""

from __future__ import annotations

from sanic.request import Request

from backend.api.errors import ApiError
from backend.catalogue.catalogue import Catalogue
from backend.catalogue.regions import Region
from backend.search.text import detect_lang

MAX_QUERY_CHARS = 200
MAX_LIMIT = 50
MAX_OFFSET = 1_000_000


def whole_number(raw: str, max_digits: int = 9) -> int | None:
    """`raw` as a whole number when it is 1 to `max_digits` ASCII digits, else None. Not
    str.isdigit() alone: it takes '²', which int() refuses, and 5,000 digits, past int()'s limit."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= max_digits else None


def text_param(request: Request, name: str, required: bool = True) -> str:
    value = (request.args.get(name) or "").strip()
    if required and not value:
        raise ApiError(400, f"missing_{name}", f"Parameter '{name}' is required.")
    if len(value) > MAX_QUERY_CHARS:
        raise ApiError(400, f"{name}_too_long", f"Parameter '{name}' is limited to {MAX_QUERY_CHARS} characters.")
    return value


def lang_param(request: Request, text: str = "") -> str:
    lang = (request.args.get("lang") or "").strip().lower()
    if not lang:
        return detect_lang(text) if text else "zh"
    if lang not in ("zh", "en"):
        raise ApiError(400, "invalid_lang", "Parameter 'lang' must be 'zh' or 'en'.")
    return lang


def limit_param(request: Request, default: int = 10) -> int:
    raw = (request.args.get("limit") or "").strip()
    if not raw:
        return default
    limit = whole_number(raw)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, "invalid_limit", f"Parameter 'limit' must be a whole number from 1 to {MAX_LIMIT}.")
    return limit


def offset_param(request: Request) -> int:
    """Where a page of a staff list starts (0 by default)."""
    raw = (request.args.get("offset") or "0").strip()
    offset = whole_number(raw)
    if offset is None or offset > MAX_OFFSET:
        raise ApiError(400, "invalid_offset", "Parameter 'offset' must be a whole number from 0.")
    return offset


def region_param(request: Request, catalogue: Catalogue) -> Region | None:
    """`region` may be a 6-digit code or a name (海淀区, 北京海淀, Haidian); unknown is a 400."""
    raw = text_param(request, "region", required=False)
    if not raw:
        return None
    region = catalogue.find_region(raw)
    if region is None:
        raise ApiError(400, "unknown_region", f"Region '{raw[:40]}' is not a known administrative division.")
    return region
