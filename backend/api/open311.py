"""Open311 GeoReport v2 at /open311/v2/ (http://wiki.open311.org/GeoReport_v2): the
report categories as services, reports as service requests, in JSON or XML.

Filing (POST requests.json, with an `api_key`) goes through the same routing and
records as the assistant's reports (backend/api/complaints.py), on channel 'open311'.
Extensions: `jurisdiction_id` may be a 6-digit division code, which places a report
and narrows a list to that region; `lang` ('zh' or 'en', default 'zh') chooses the
language of names and notices. Errors are the spec's list of `{code, description}`
with the HTTP status: 403 for a missing or wrong api_key, 404 for what does not
exist, 400 for everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json as jsonlib
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from sanic import Blueprint, Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, text

from backend.api.bodies import (
    MAX_ADDRESS_CHARS,
    applicant_name,
    coordinates,
    description_field,
    http_url,
    reporter_phone,
    text_field,
)
from backend.api.complaints import COMPLAINT_ID, file_complaint
from backend.api.errors import ApiError
from backend.catalogue.regions import Region
from backend.complaints import open311
from backend.complaints.categories import ComplaintCodes
from backend.complaints.datetimes import parse_datetime
from backend.complaints.records import ComplaintDraft, ComplaintFilter, find_complaint, list_complaints

open311_routes = Blueprint("open311", url_prefix="/open311/v2")

ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MAX_REQUESTS = 1000
MAX_SPAN = timedelta(days=90)
MAX_IDS = 200
MAX_FIELD_CHARS = 100
MAX_EMAIL_CHARS = 254


class Open311Error(SanicException):
    """An error in the spec's form, in the format the client asked for."""

    def __init__(self, status: int, description: str, fmt: str = "json") -> None:
        super().__init__(description, status_code=status)
        self.fmt = fmt


def install_open311_error_handler(app: Sanic) -> None:
    @app.exception(Open311Error)
    async def open311_error(request: Request, error: Open311Error) -> HTTPResponse:
        status = error.status_code or 400
        return _answer(open311.error(status, str(error)), "errors", error.fmt, status)


def _answer(value: Any, root: str, fmt: str, status: int = 200) -> HTTPResponse:
    if fmt == "xml":
        return text(open311.to_xml(root, value), status=status, content_type="text/xml; charset=utf-8")
    body = jsonlib.dumps(value, ensure_ascii=False)
    return text(body, status=status, content_type="application/json; charset=utf-8")


def _resource(name: str) -> tuple[str, str]:
    """'requests.json' -> ('requests', 'json'); an unknown format is a 400 (in JSON)."""
    stem, dot, fmt = name.rpartition(".")
    if not dot:
        raise Open311Error(404, "Not found: resources end in .json or .xml.")
    if fmt not in open311.FORMATS:
        raise Open311Error(400, "The format must be json or xml.")
    return stem, fmt


@contextlib.contextmanager
def _spec_errors(fmt: str) -> Iterator[None]:
    """The platform's own validation errors, answered in the spec's form."""
    try:
        yield
    except ApiError as error:
        raise Open311Error(error.status_code, str(error), fmt) from None


def _lang(fields: Mapping[str, str], fmt: str) -> str:
    lang = (fields.get("lang") or "zh").strip().lower()
    if lang not in ("zh", "en"):
        raise Open311Error(400, "lang must be 'zh' or 'en'.", fmt)
    return lang


def _jurisdiction(request: Request, fields: Mapping[str, str], fmt: str) -> Region | None:
    """A 6-digit division code names a region (unknown: 404); anything else is the
    jurisdiction's own name, which this single endpoint may ignore."""
    raw = (fields.get("jurisdiction_id") or "").strip()
    if not (len(raw) == 6 and raw.isdigit()):
        return None
    region = request.app.ctx.catalogue.regions.get(raw)
    if region is None:
        raise Open311Error(404, "jurisdiction_id was not found: use a 6-digit administrative division code.", fmt)
    return region


def _query(request: Request) -> dict[str, str]:
    return {key: values[0] for key, values in request.args.items() if values}


def _posted(request: Request, fmt: str) -> dict[str, Any]:
    """The fields of a POST: form-encoded as the spec says (or a JSON object), over the query string's."""
    content_type = (request.headers.get("Content-Type") or "").lower()
    body: dict[str, Any]
    try:
        if "json" in content_type:
            parsed = jsonlib.loads(request.body or b"{}")
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
            body = parsed
        elif "multipart/form-data" in content_type:
            body = {key: values[0] for key, values in request.form.items() if values}
        else:
            pairs = parse_qs((request.body or b"").decode("utf-8"), keep_blank_values=True, max_num_fields=100)
            body = {key: values[0] for key, values in pairs.items()}
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Open311Error(400, "The body must be form-encoded (application/x-www-form-urlencoded).", fmt) from None
    return {**_query(request), **body}


@open311_routes.route("/<resource:str>", methods=ANY_METHOD)
async def top_level(request: Request, resource: str) -> HTTPResponse:
    name, fmt = _resource(resource)
    if name == "discovery" and request.method == "GET":
        return _discovery(request, fmt)
    if name == "services" and request.method == "GET":
        return _services(request, fmt)
    if name == "requests" and request.method == "GET":
        return await _requests(request, fmt)
    if name == "requests" and request.method == "POST":
        return await _create(request, fmt)
    if name in ("discovery", "services", "requests"):
        raise Open311Error(405, f"{request.method} is not allowed here.", fmt)
    raise Open311Error(404, f"No resource '{name}'.", fmt)


@open311_routes.route("/services/<resource:str>", methods=ANY_METHOD)
async def service_definition(request: Request, resource: str) -> HTTPResponse:
    code, fmt = _resource(resource)
    if request.method != "GET":
        raise Open311Error(405, f"{request.method} is not allowed here.", fmt)
    fields = _query(request)
    _jurisdiction(request, fields, fmt)
    codes: ComplaintCodes = request.app.ctx.complaint_codes
    if code not in codes.categories:
        raise Open311Error(404, f"service_code '{code[:40]}' was not found.", fmt)
    return _answer(open311.service_definition(codes, code, _lang(fields, fmt)), "service_definition", fmt)


@open311_routes.route("/requests/<resource:str>", methods=ANY_METHOD)
async def one_request(request: Request, resource: str) -> HTTPResponse:
    wanted, fmt = _resource(resource)
    if request.method != "GET":
        raise Open311Error(405, f"{request.method} is not allowed here.", fmt)
    fields = _query(request)
    _jurisdiction(request, fields, fmt)
    wanted = wanted.strip().upper()
    ctx = request.app.ctx
    found = await asyncio.to_thread(find_complaint, ctx.engine, wanted) if COMPLAINT_ID.match(wanted) else None
    if found is None:
        raise Open311Error(404, "service_request_id was not found.", fmt)
    return _answer([open311.request(found, ctx.complaint_codes, _lang(fields, fmt))], "service_requests", fmt)


@open311_routes.route("/<rest:path>", methods=ANY_METHOD)
async def not_found(request: Request, rest: str) -> HTTPResponse:
    fmt = "xml" if rest.endswith(".xml") else "json"
    raise Open311Error(404, "Not found.", fmt)


def _discovery(request: Request, fmt: str) -> HTTPResponse:
    endpoint = f"{request.scheme}://{request.host}/open311/v2"
    return _answer(open311.discovery(endpoint, _lang(_query(request), fmt)), "discovery", fmt)


def _services(request: Request, fmt: str) -> HTTPResponse:
    fields = _query(request)
    _jurisdiction(request, fields, fmt)
    ctx = request.app.ctx
    found = open311.services(ctx.complaint_codes, ctx.catalogue.departments, _lang(fields, fmt))
    return _answer(found, "services", fmt)


def _dates(fields: Mapping[str, str], fmt: str, now: datetime) -> tuple[datetime, datetime]:
    """The span of requested_datetime to search: the last 90 days unless told, never more."""
    bounds = []
    for name in ("start_date", "end_date"):
        raw = (fields.get(name) or "").strip()
        parsed = parse_datetime(raw) if raw else None
        if raw and parsed is None:
            raise Open311Error(400, f"{name} must be a W3C date-time, such as 2026-11-01T00:00:00+08:00.", fmt)
        bounds.append(parsed)
    start, end = bounds
    if start is None and end is None:
        return now - MAX_SPAN, now
    if start is None:
        assert end is not None
        return end - MAX_SPAN, end
    if end is None:
        return start, start + MAX_SPAN
    if end < start:
        raise Open311Error(400, "end_date must not be before start_date.", fmt)
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days.", fmt)
    return start, end


def _listed(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


async def _requests(request: Request, fmt: str) -> HTTPResponse:
    """GET requests: by id (which overrides every other argument), or by service_code,
    dates, status and region, newest first, at most 1000."""
    fields = _query(request)
    lang = _lang(fields, fmt)
    region = _jurisdiction(request, fields, fmt)
    ctx = request.app.ctx
    codes: ComplaintCodes = ctx.complaint_codes
    ids = [wanted.upper() for wanted in _listed(fields.get("service_request_id"))]
    if ids:
        wanted = ComplaintFilter(ids=[wanted for wanted in ids[:MAX_IDS] if COMPLAINT_ID.match(wanted)] or ["-"])
    else:
        services = _listed(fields.get("service_code"))
        unknown = [code for code in services if code not in codes.categories]
        if unknown:
            raise Open311Error(400, f"Unknown service_code '{unknown[0][:40]}'.", fmt)
        statuses = set(_listed(fields.get("status")))
        if not statuses <= {"open", "closed"}:
            raise Open311Error(400, "status must be open, closed or both (comma-separated).", fmt)
        start, end = _dates(fields, fmt, datetime.now(timezone.utc))
        wanted = ComplaintFilter(
            categories=services,
            created_from=start,
            created_until=end,
            public_statuses=statuses,
            region_code=region.code if region else None,
        )
    found, _ = await asyncio.to_thread(list_complaints, ctx.engine, wanted, MAX_REQUESTS)
    return _answer([open311.request(complaint, codes, lang) for complaint in found], "service_requests", fmt)


def _valid_key(request: Request, supplied: str) -> bool:
    keys: tuple[str, ...] = request.app.ctx.settings.open311_api_keys
    # Every key compared, in constant time: how long it takes tells nothing.
    matches = [hmac.compare_digest(supplied.encode(), key.encode()) for key in keys]
    return bool(supplied) and any(matches)


def _optional(fields: Mapping[str, Any], name: str, max_chars: int) -> str | None:
    return text_field(fields, name, max_chars, required=False) or None


def _reporter_name(fields: Mapping[str, Any]) -> str | None:
    """Family name first for Chinese names (李 + 雷 -> 李雷), given name first otherwise."""
    first = _optional(fields, "first_name", MAX_FIELD_CHARS) or ""
    last = _optional(fields, "last_name", MAX_FIELD_CHARS) or ""
    if not first and not last:
        return None
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in first + last)
    name = last + first if chinese else f"{first} {last}".strip()
    return applicant_name({"name": name})


def _email(fields: Mapping[str, Any]) -> str | None:
    email = _optional(fields, "email", MAX_EMAIL_CHARS)
    if email is None:
        return None
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or any(ch.isspace() for ch in email):
        raise ApiError(400, "invalid_email", "email must be an e-mail address.")
    return email


async def _create(request: Request, fmt: str) -> HTTPResponse:
    fields = _posted(request, fmt)
    supplied = fields.get("api_key")
    if not isinstance(supplied, str) or not _valid_key(request, supplied.strip()):
        raise Open311Error(403, "Missing or invalid api_key: cannot create the service request.", fmt)
    ctx = request.app.ctx
    codes: ComplaintCodes = ctx.complaint_codes
    lang = _lang(fields, fmt)
    code = fields.get("service_code")
    if not isinstance(code, str) or not code.strip():
        raise Open311Error(400, "service_code was not provided.", fmt)
    if code.strip() not in codes.categories:
        raise Open311Error(404, f"service_code '{code.strip()[:40]}' was not found.", fmt)
    region = _jurisdiction(request, fields, fmt)
    now = datetime.now(timezone.utc)
    with _spec_errors(fmt):
        description = description_field(fields) if fields.get("description") not in (None, "") else ""
        latitude, longitude = coordinates(fields.get("lat"), fields.get("long"))
        address = _optional(fields, "address_string", MAX_ADDRESS_CHARS)
        address_id = _optional(fields, "address_id", MAX_FIELD_CHARS)
        if latitude is None and address is None and address_id is None and region is None:
            message = "A location is required: lat and long, address_string, or jurisdiction_id as a region code."
            raise ApiError(400, "missing_location", message)
        if region is None and address is not None:
            region = ctx.catalogue.find_region(address)
        if region is None and latitude is None:
            raise ApiError(
                400,
                "unknown_region",
                "Cannot tell the report's region: send jurisdiction_id (a 6-digit division code) "
                "or name the district or county in address_string.",
            )
        request_type = (fields.get(f"attribute[{open311.REQUEST_TYPE_ATTRIBUTE}]") or "").strip()
        request_type = request_type or open311.DEFAULT_REQUEST_TYPE
        if request_type not in codes.request_types:
            message = f"attribute[request_type] must be one of {', '.join(codes.request_types)}."
            raise ApiError(400, "unknown_request_type", message)
        media = fields.get("media_url")
        phone = fields.get("phone")
        draft = ComplaintDraft(
            category=code.strip(),
            request_type=request_type,
            description=description,
            region_code=region.code if region else None,
            address=address,
            address_id=address_id,
            latitude=latitude,
            longitude=longitude,
            occurred_at=None,
            photo_urls=(http_url(media, "media_url"),) if media not in (None, "") else (),
            contact_name=_reporter_name(fields),
            contact_phone=reporter_phone(phone) if phone not in (None, "") else None,
            contact_email=_email(fields),
            account_id=_optional(fields, "account_id", MAX_FIELD_CHARS),
            device_id=_optional(fields, "device_id", MAX_FIELD_CHARS),
            channel="open311",
            conversation_id=None,
            lang=lang,
        )
        complaint, _, follow_up_code = await file_complaint(request, draft, region, None, now)
    notice = open311.service_notice(complaint, lang)
    if follow_up_code:
        notice += " " + open311.text("follow_up", lang, code=follow_up_code)
    answer = [{"service_request_id": complaint.id, "service_notice": notice, "account_id": complaint.account_id}]
    return _answer(answer, "service_requests", fmt, status=201)
