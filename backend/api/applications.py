"""Routes for applications (CONTRACT.md §3): submit, check with a verification code,
move through the three-stage procedure (staff), list (staff).

Three views of one application: the receipt the applicant gets (applicant masked),
the citizen's status check (no personal data at all) and the staff view (everything).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from backend.api.auth import is_staff, require_staff, verify_citizen
from backend.api.bodies import (
    applicant_name,
    applicant_phone,
    channel_field,
    conversation_field,
    fingerprint,
    idempotency_key,
    json_body,
    key_reused,
    lang_field,
    object_field,
    region_field,
    service_field,
    text_field,
)
from backend.api.errors import ApiError
from backend.api.params import limit_param, offset_param
from backend.catalogue.catalogue import Catalogue
from backend.catalogue.items import DELIVERY_METHODS, ITEM_ID, delivery_methods, reception
from backend.procedure.applications import STATUSES, verification_code
from backend.procedure.appointments import office_today
from backend.procedure.identity import check_id_number, mask_id_number, mask_mobile, mask_name
from backend.procedure.workdays import WorkCalendar
from backend.records import (
    Application,
    ApplicationDraft,
    ApplicationNotFound,
    IdempotencyKeyReused,
    IllegalTransition,
    create_application,
    find_application,
    list_applications,
    move_application,
)

application_routes = Blueprint("applications", url_prefix="/api/v1")

APPLICATION_ID = re.compile(r"^ZW\d{8}-[2-9A-HJ-NP-Z]{6}$")
MAX_NOTE_CHARS = 500


def iso_utc(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def service_names(catalogue: Catalogue, service_id: str) -> dict[str, str]:
    item = catalogue.items.get(service_id)
    if item is None:  # withdrawn from the catalogue since: the id is all there is
        return {"zh": service_id, "en": service_id}
    names = item.content["name"]
    return {lang: names.get(lang) or names["zh"] for lang in ("zh", "en")}


def citizen_view(application: Application, catalogue: Catalogue) -> dict[str, Any]:
    """What a verified status check shows: nothing about the applicant."""
    return {
        "application_id": application.id,
        "service_id": application.service_id,
        "service_name": service_names(catalogue, application.service_id),
        "region_code": application.region_code,
        "status": application.status,
        "stage": application.stage,
        "delivery": application.delivery,
        "channel": application.channel,
        "lang": application.lang,
        "expected_completion": application.expected_completion.isoformat(),
        "created_at": iso_utc(application.created_at),
        "history": [
            {"status": entry.status, "stage": entry.stage, "at": iso_utc(entry.at), "note": entry.note}
            for entry in application.history
        ],
    }


def receipt_view(application: Application, catalogue: Catalogue) -> dict[str, Any]:
    """What the applicant is answered on submission: enough of their details to recognise them."""
    applicant = {
        "name": mask_name(application.applicant_name),
        "id_number": mask_id_number(application.id_number),
        "phone": mask_mobile(application.phone),
    }
    return {**citizen_view(application, catalogue), "applicant": applicant}


def staff_view(application: Application, catalogue: Catalogue) -> dict[str, Any]:
    applicant = {"name": application.applicant_name, "id_number": application.id_number, "phone": application.phone}
    return {
        **citizen_view(application, catalogue),
        "applicant": applicant,
        "conversation_id": application.conversation_id,
    }


def _application_draft(
    body: Mapping[str, Any], catalogue: Catalogue, calendar: WorkCalendar, now: datetime
) -> ApplicationDraft:
    item = service_field(body, catalogue)
    region = region_field(body, catalogue)
    if reception(item) != "online":
        raise ApiError(
            400, "not_online", "This item cannot be applied for online: book a visit (GET /api/v1/appointments/slots)."
        )
    delivery = text_field(body, "delivery", 16)
    if delivery not in DELIVERY_METHODS:
        raise ApiError(400, "invalid_delivery", f"Field 'delivery' must be one of {', '.join(DELIVERY_METHODS)}.")
    offered = delivery_methods(item)
    if delivery not in offered:
        raise ApiError(400, "delivery_not_offered", f"This item is delivered only by: {', '.join(offered)}.")
    applicant = object_field(body, "applicant")
    name = applicant_name(applicant)
    raw_id = applicant.get("id_number")
    checked = check_id_number(raw_id, today=office_today(now)) if isinstance(raw_id, str) else None
    if checked is None or not checked.valid:
        problem = checked.problem if checked else "missing"
        raise ApiError(400, "invalid_id_number", f"The applicant's ID number is not valid ({problem}).")
    phone = applicant_phone(applicant)
    return ApplicationDraft(
        service_id=item.id,
        region_code=region.code,
        applicant_name=name,
        id_number=checked.number,
        phone=phone,
        delivery=delivery,
        channel=channel_field(body),
        conversation_id=conversation_field(body),
        lang=lang_field(body),
        expected_completion=calendar.add_working_days(office_today(now), int(item.content["promised_days"])),
    )


@application_routes.post("/applications")
async def submit_application(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    now = datetime.now(timezone.utc)
    key = idempotency_key(request)
    draft = _application_draft(json_body(request), ctx.catalogue, ctx.calendar, now)
    # The due date depends on the day; a repeat the next day is still the same request.
    request_hash = fingerprint({**dataclasses.asdict(draft), "expected_completion": None})
    try:
        application, created = await asyncio.to_thread(create_application, ctx.engine, draft, key, request_hash, now)
    except IdempotencyKeyReused:
        raise key_reused() from None
    return json(receipt_view(application, ctx.catalogue), status=201 if created else 200)


@application_routes.get("/applications/<application_id:str>")
async def get_application(request: Request, application_id: str) -> HTTPResponse:
    ctx = request.app.ctx
    wanted = application_id.strip().upper()
    staff = is_staff(request)
    found = await asyncio.to_thread(find_application, ctx.engine, wanted) if APPLICATION_ID.match(wanted) else None
    if staff:
        if found is None:
            raise ApiError(404, "application_not_found", "No application has that number.")
        return json(staff_view(found, ctx.catalogue))
    await verify_citizen(request, "application", wanted, verification_code(found.id_number) if found else None)
    assert found is not None  # verify_citizen refuses every code for an unknown id
    return json(citizen_view(found, ctx.catalogue))


@application_routes.post("/applications/<application_id:str>/transitions")
async def move(request: Request, application_id: str) -> HTTPResponse:
    require_staff(request)
    ctx = request.app.ctx
    body = json_body(request)
    status = text_field(body, "status", 32)
    if status not in STATUSES:
        raise ApiError(400, "unknown_status", f"Field 'status' must be one of {', '.join(STATUSES)}.")
    note = text_field(body, "note", MAX_NOTE_CHARS, required=False)
    now = datetime.now(timezone.utc)
    try:
        application = await asyncio.to_thread(
            move_application, ctx.engine, application_id.strip().upper(), status, note, now
        )
    except ApplicationNotFound:
        raise ApiError(404, "application_not_found", "No application has that number.") from None
    except IllegalTransition as illegal:
        message = f"An application cannot move from '{illegal.current}' to '{illegal.to}'."
        raise ApiError(409, "illegal_transition", message) from None
    if application.conversation_id:
        request.app.add_task(ctx.notifier.deliver_now())
    return json(staff_view(application, ctx.catalogue))


@application_routes.get("/applications")
async def list_for_staff(request: Request) -> HTTPResponse:
    require_staff(request)
    ctx = request.app.ctx
    status = (request.args.get("status") or "").strip() or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, "unknown_status", f"Parameter 'status' must be one of {', '.join(STATUSES)}.")
    service_id = (request.args.get("service_id") or "").strip() or None
    if service_id is not None and not ITEM_ID.match(service_id):
        raise ApiError(400, "invalid_service_id", "Parameter 'service_id' must be a service item id.")
    limit = limit_param(request, default=20)
    offset = offset_param(request)
    found, total = await asyncio.to_thread(list_applications, ctx.engine, status, service_id, limit, offset)
    return json(
        {
            "total": total,
            "limit": limit,
            "offset": offset,
            "results": [staff_view(application, ctx.catalogue) for application in found],
        }
    )
