"""Routes for public problem reports (CONTRACT.md §3): file one (it is dispatched at
once to the office that handles it), follow it up with a verification code, update it
(staff), rate the response, list (staff).

Three views of one report: the receipt the reporter gets (contact masked, and an
anonymous reporter's follow-up code, once), the reporter's follow-up check (no personal
data, no description) and the staff view (everything).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from backend.api.applications import MAX_NOTE_CHARS, iso_utc
from backend.api.auth import code_is, is_staff, require_staff, verify_citizen_by
from backend.api.bodies import (
    MAX_ADDRESS_CHARS,
    channel_field,
    contact_field,
    conversation_field,
    coordinates,
    description_field,
    fingerprint,
    idempotency_key,
    json_body,
    key_reused,
    lang_field,
    object_field,
    occurred_at_field,
    photo_urls_field,
    region_field,
    text_field,
)
from backend.api.errors import ApiError
from backend.api.params import limit_param, offset_param
from backend.catalogue.regions import Region
from backend.complaints.categories import ComplaintCodes
from backend.complaints.lifecycle import (
    RATINGS,
    STATUSES,
    can_move,
    follow_up_matches,
    is_overdue,
    needs_note,
    new_follow_up_code,
    phone_code,
)
from backend.complaints.records import (
    Complaint,
    ComplaintDraft,
    ComplaintFilter,
    ComplaintNotFound,
    Dispatch,
    NotAwaitingRating,
    create_complaint,
    find_complaint,
    list_complaints,
    rate_complaint,
    update_complaint,
)
from backend.complaints.routing import NotServed, response_due, route
from backend.procedure.appointments import office_today
from backend.procedure.identity import mask_mobile, mask_name
from backend.records import IdempotencyKeyReused, IllegalTransition

complaint_routes = Blueprint("complaints", url_prefix="/api/v1")

COMPLAINT_ID = re.compile(r"^GD\d{8}-[2-9A-HJ-NP-Z]{6}$")
MAX_COMMENT_CHARS = 500


def office_view(complaint: Complaint) -> dict[str, Any]:
    return {
        "region_code": complaint.office_region_code,
        "tier": complaint.office_tier,
        "department": complaint.office_name(complaint.lang),
        "department_alt": complaint.office_name("en" if complaint.lang == "zh" else "zh"),
        "kind": complaint.department,
    }


def names(codes: ComplaintCodes, complaint: Complaint) -> dict[str, Any]:
    category = codes.categories.get(complaint.category)
    request_type = codes.request_types.get(complaint.request_type)
    return {
        "category_name": dict(category.name) if category else {"zh": complaint.category, "en": complaint.category},
        "request_type_name": dict(request_type.name) if request_type else None,
    }


def citizen_view(complaint: Complaint, codes: ComplaintCodes, today: date) -> dict[str, Any]:
    """What a verified follow-up check shows: nothing about the reporter, nor what they wrote."""
    view: dict[str, Any] = {
        "complaint_id": complaint.id,
        "category": complaint.category,
        **names(codes, complaint),
        "request_type": complaint.request_type,
        "status": complaint.status,
        "response_due": complaint.response_due.isoformat(),
        "overdue": is_overdue(complaint.status, complaint.response_due, today),
        "office": office_view(complaint),
        "lang": complaint.lang,
        "created_at": iso_utc(complaint.created_at),
        "updates": [{"status": u.status, "at": iso_utc(u.at), "note": u.note} for u in complaint.updates],
    }
    if complaint.satisfaction:
        assert complaint.rated_at is not None
        view["satisfaction"] = {"rating": complaint.satisfaction, "at": iso_utc(complaint.rated_at)}
    return view


def receipt_view(
    complaint: Complaint, codes: ComplaintCodes, today: date, follow_up_code: str | None
) -> dict[str, Any]:
    """What the reporter is answered on filing: enough of their details to recognise them,
    and the code an anonymous reporter follows the report up with."""
    contact = None
    if complaint.contact_name or complaint.contact_phone:
        contact = {
            "name": mask_name(complaint.contact_name) if complaint.contact_name else None,
            "phone": mask_mobile(complaint.contact_phone) if complaint.contact_phone else None,
        }
    view = {**citizen_view(complaint, codes, today), "contact": contact}
    if follow_up_code:
        view["follow_up_code"] = follow_up_code
    return view


def staff_view(complaint: Complaint, codes: ComplaintCodes, today: date) -> dict[str, Any]:
    view = citizen_view(complaint, codes, today)
    contact = None
    if complaint.contact_name or complaint.contact_phone or complaint.contact_email:
        contact = {"name": complaint.contact_name, "phone": complaint.contact_phone, "email": complaint.contact_email}
    if complaint.satisfaction:
        view["satisfaction"]["comment"] = complaint.satisfaction_comment
    return {
        **view,
        "description": complaint.description,
        "location": {
            "region_code": complaint.region_code,
            "address": complaint.address,
            "address_id": complaint.address_id,
            "lat": complaint.latitude,
            "long": complaint.longitude,
        },
        "occurred_at": iso_utc(complaint.occurred_at) if complaint.occurred_at else None,
        "photo_urls": list(complaint.photo_urls),
        "contact": contact,
        "anonymous": complaint.anonymous,
        "account_id": complaint.account_id,
        "device_id": complaint.device_id,
        "channel": complaint.channel,
        "conversation_id": complaint.conversation_id,
        "round": complaint.round,
        "updated_at": iso_utc(complaint.updated_at),
        "updates": [
            {"status": u.status, "at": iso_utc(u.at), "note": u.note, "round": u.round} for u in complaint.updates
        ],
    }


async def file_complaint(
    request: Request, draft: ComplaintDraft, region: Region | None, key: str | None, now: datetime
) -> tuple[Complaint, bool, str | None]:
    """Route the report, work out its response day and record it dispatched; returns it,
    whether it is new, and an anonymous reporter's follow-up code."""
    ctx = request.app.ctx
    codes: ComplaintCodes = ctx.complaint_codes
    try:
        routing = route(codes.categories[draft.category], region, ctx.catalogue.departments, ctx.catalogue.regions)
    except NotServed:
        raise ApiError(400, "region_not_served", "Reports are handled for regions of the mainland only.") from None
    dispatch = Dispatch(
        department=routing.department,
        office_region_code=routing.office.region.code if routing.office.region else None,
        office_tier=routing.office.tier,
        office_zh=routing.office.name["zh"],
        office_en=routing.office.name["en"],
        response_due=response_due(ctx.calendar, office_today(now), codes.request_types[draft.request_type]),
    )
    follow_up_code = new_follow_up_code() if draft.contact_phone is None else None
    request_hash = fingerprint(dataclasses.asdict(draft))
    try:
        complaint, created = await asyncio.to_thread(
            create_complaint, ctx.engine, draft, dispatch, follow_up_code, key, request_hash, now
        )
    except IdempotencyKeyReused:
        raise key_reused() from None
    return complaint, created, follow_up_code


def _category_and_type(codes: ComplaintCodes, category: str, request_type: str) -> None:
    if category not in codes.categories:
        raise ApiError(400, "unknown_category", "Field 'category' must be a report category code.")
    if request_type not in codes.request_types:
        raise ApiError(
            400, "unknown_request_type", f"Field 'request_type' must be one of {', '.join(codes.request_types)}."
        )


def _complaint_draft(body: Mapping[str, Any], request: Request, now: datetime) -> tuple[ComplaintDraft, Region]:
    ctx = request.app.ctx
    category = text_field(body, "category", 40)
    request_type = text_field(body, "request_type", 20)
    _category_and_type(ctx.complaint_codes, category, request_type)
    description = description_field(body)
    location = object_field(body, "location")
    region = region_field(location, ctx.catalogue)
    latitude, longitude = coordinates(location.get("lat"), location.get("long"))
    name, phone = contact_field(body)
    draft = ComplaintDraft(
        category=category,
        request_type=request_type,
        description=description,
        region_code=region.code,
        address=text_field(location, "address", MAX_ADDRESS_CHARS, required=False) or None,
        address_id=None,
        latitude=latitude,
        longitude=longitude,
        occurred_at=occurred_at_field(body, now),
        photo_urls=photo_urls_field(body),
        contact_name=name,
        contact_phone=phone,
        contact_email=None,
        account_id=None,
        device_id=None,
        channel=channel_field(body),
        conversation_id=conversation_field(body),
        lang=lang_field(body),
    )
    return draft, region


@complaint_routes.post("/complaints")
async def submit_complaint(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    now = datetime.now(timezone.utc)
    key = idempotency_key(request)
    draft, region = _complaint_draft(json_body(request), request, now)
    complaint, created, code = await file_complaint(request, draft, region, key, now)
    return json(receipt_view(complaint, ctx.complaint_codes, office_today(now), code), status=201 if created else 200)


def _accepts(complaint: Complaint | None) -> Callable[[str], bool] | None:
    """How the reporter's code is checked: their phone's last four digits, or the
    follow-up code of an anonymous report; None for an unknown number."""
    if complaint is None:
        return None
    if complaint.contact_phone:
        return code_is(phone_code(complaint.contact_phone))
    stored = complaint.follow_up_hash
    if stored is None:
        return None
    return lambda supplied: follow_up_matches(complaint.id, stored, supplied)


async def _found_for(request: Request, complaint_id: str) -> tuple[Complaint | None, str]:
    wanted = complaint_id.strip().upper()
    if not COMPLAINT_ID.match(wanted):
        return None, wanted
    return await asyncio.to_thread(find_complaint, request.app.ctx.engine, wanted), wanted


@complaint_routes.get("/complaints/<complaint_id:str>")
async def follow_up(request: Request, complaint_id: str) -> HTTPResponse:
    ctx = request.app.ctx
    staff = is_staff(request)
    found, wanted = await _found_for(request, complaint_id)
    today = office_today(datetime.now(timezone.utc))
    if staff:
        if found is None:
            raise ApiError(404, "complaint_not_found", "No report has that number.")
        return json(staff_view(found, ctx.complaint_codes, today))
    await verify_citizen_by(request, "complaint", wanted, _accepts(found))
    assert found is not None  # verify_citizen_by refuses every code for an unknown number
    return json(citizen_view(found, ctx.complaint_codes, today))


@complaint_routes.post("/complaints/<complaint_id:str>/updates")
async def update(request: Request, complaint_id: str) -> HTTPResponse:
    require_staff(request)
    ctx = request.app.ctx
    body = json_body(request)
    status = text_field(body, "status", 32)
    if status not in STATUSES:
        raise ApiError(400, "unknown_status", f"Field 'status' must be one of {', '.join(STATUSES)}.")
    note = text_field(body, "note", MAX_NOTE_CHARS, required=False)
    found, wanted = await _found_for(request, complaint_id)
    if found is None:
        raise ApiError(404, "complaint_not_found", "No report has that number.")
    if can_move(found.status, status) and needs_note(found.status, status) and not note:
        raise ApiError(400, "missing_note", "Closing a report the office has not responded to needs a note saying why.")
    now = datetime.now(timezone.utc)
    try:
        complaint = await asyncio.to_thread(update_complaint, ctx.engine, wanted, status, note, now)
    except ComplaintNotFound:
        raise ApiError(404, "complaint_not_found", "No report has that number.") from None
    except IllegalTransition as illegal:
        message = f"A report cannot move from '{illegal.current}' to '{illegal.to}'."
        raise ApiError(409, "illegal_transition", message) from None
    if complaint.conversation_id:
        request.app.add_task(ctx.notifier.deliver_now())
    return json(staff_view(complaint, ctx.complaint_codes, office_today(now)))


@complaint_routes.post("/complaints/<complaint_id:str>/satisfaction")
async def rate(request: Request, complaint_id: str) -> HTTPResponse:
    """The reporter's rating of the response (or staff recording it from a call-back)."""
    ctx = request.app.ctx
    staff = is_staff(request)
    found, wanted = await _found_for(request, complaint_id)
    if staff and found is None:
        raise ApiError(404, "complaint_not_found", "No report has that number.")
    if not staff:
        await verify_citizen_by(request, "complaint", wanted, _accepts(found))
    assert found is not None
    body = json_body(request)
    rating = text_field(body, "rating", 32)
    if rating not in RATINGS:
        raise ApiError(400, "invalid_rating", f"Field 'rating' must be one of {', '.join(RATINGS)}.")
    comment = text_field(body, "comment", MAX_COMMENT_CHARS, required=False)
    now = datetime.now(timezone.utc)
    due = response_due(ctx.calendar, office_today(now), ctx.complaint_codes.request_types[found.request_type])
    try:
        complaint = await asyncio.to_thread(rate_complaint, ctx.engine, wanted, rating, comment, due, now)
    except NotAwaitingRating as waiting:
        message = f"Only a report the office has responded to can be rated; this one is '{waiting.status}'."
        raise ApiError(409, "not_responded", message) from None
    except IllegalTransition:  # rated twice at once: the other rating won
        raise ApiError(409, "not_responded", "This report has just been rated.") from None
    today = office_today(now)
    view = (
        staff_view(complaint, ctx.complaint_codes, today)
        if staff
        else citizen_view(complaint, ctx.complaint_codes, today)
    )
    return json(view)


@complaint_routes.get("/complaints")
async def list_for_staff(request: Request) -> HTTPResponse:
    require_staff(request)
    ctx = request.app.ctx
    status = (request.args.get("status") or "").strip()
    if status and status not in STATUSES:
        raise ApiError(400, "unknown_status", f"Parameter 'status' must be one of {', '.join(STATUSES)}.")
    category = (request.args.get("category") or "").strip()
    if category and category not in ctx.complaint_codes.categories:
        raise ApiError(400, "unknown_category", "Parameter 'category' must be a report category code.")
    overdue = (request.args.get("overdue") or "").strip().lower()
    if overdue not in ("", "true", "false"):
        raise ApiError(400, "invalid_overdue", "Parameter 'overdue' must be 'true' or 'false'.")
    limit = limit_param(request, default=20)
    offset = offset_param(request)
    today = office_today(datetime.now(timezone.utc))
    wanted = ComplaintFilter(
        statuses=[status] if status else [],
        categories=[category] if category else [],
        overdue={"true": True, "false": False}.get(overdue),
        today=today,
    )
    found, total = await asyncio.to_thread(list_complaints, ctx.engine, wanted, limit, offset)
    return json(
        {
            "total": total,
            "limit": limit,
            "offset": offset,
            "results": [staff_view(complaint, ctx.complaint_codes, today) for complaint in found],
        }
    )
