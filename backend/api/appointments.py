"""Routes for appointments at the window, for items that cannot be applied for online:
the free slots of the next working days, and booking one."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from backend.api.applications import iso_utc, service_names
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
from backend.api.params import region_param, whole_number
from backend.bookings import Appointment, AppointmentDraft, SlotFull, book, seats_taken
from backend.catalogue.catalogue import Catalogue
from backend.catalogue.items import ITEM_ID, ServiceItem, reception
from backend.catalogue.regions import Region
from backend.procedure.appointments import (
    SEATS_PER_SLOT,
    SLOT_TIMES,
    bookable_days,
    booking_problem,
    office_today,
)
from backend.procedure.identity import mask_mobile, mask_name
from backend.procedure.workdays import WorkCalendar
from backend.records import IdempotencyKeyReused

appointment_routes = Blueprint("appointments", url_prefix="/api/v1")

MAX_DAYS = 10
_DATE_PROBLEMS = {
    "not_after_today": ("date_too_soon", "Visits are booked from the next working day on."),
    "too_far_ahead": ("date_too_far", "Visits can be booked at most 30 days ahead."),
    "not_a_working_day": ("not_a_working_day", "The office is closed that day."),
}


def _check_bookable(item: ServiceItem, region: Region) -> None:
    if reception(item) != "appointment":
        raise ApiError(
            400, "not_by_appointment", "This item is applied for online (POST /api/v1/applications), not by a visit."
        )
    if item.region_code and item.region_code != region.code:
        raise ApiError(400, "not_offered_in_region", "This local item is handled only in its own region.")


def appointment_view(appointment: Appointment, catalogue: Catalogue) -> dict[str, Any]:
    item = catalogue.items.get(appointment.service_id)
    region = catalogue.regions.get(appointment.region_code)
    return {
        "appointment_id": appointment.id,
        "service_id": appointment.service_id,
        "service_name": service_names(catalogue, appointment.service_id),
        "region_code": appointment.region_code,
        "office": catalogue.office_view(item, appointment.lang, region) if item else None,
        "date": appointment.date.isoformat(),
        "time": appointment.time,
        "status": appointment.status,
        "applicant": {"name": mask_name(appointment.applicant_name), "phone": mask_mobile(appointment.phone)},
        "channel": appointment.channel,
        "lang": appointment.lang,
        "created_at": iso_utc(appointment.created_at),
    }


@appointment_routes.get("/appointments/slots")
async def free_slots(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    service_id = (request.args.get("service_id") or "").strip()
    item = ctx.catalogue.items.get(service_id) if ITEM_ID.match(service_id) else None
    if item is None:
        raise ApiError(400, "unknown_service", "Parameter 'service_id' must name a service item.")
    region = region_param(request, ctx.catalogue)
    if region is None:
        raise ApiError(400, "missing_region", "Parameter 'region' is required.")
    _check_bookable(item, region)
    wanted = whole_number((request.args.get("days") or "5").strip())
    if wanted is None or not 1 <= wanted <= MAX_DAYS:
        raise ApiError(400, "invalid_days", f"Parameter 'days' must be a whole number from 1 to {MAX_DAYS}.")
    days = bookable_days(ctx.calendar, office_today(datetime.now(timezone.utc)), wanted)
    taken = await asyncio.to_thread(seats_taken, ctx.engine, item.id, region.code, days)
    return json(
        {
            "service_id": item.id,
            "region_code": region.code,
            "days": [
                {
                    "date": day.isoformat(),
                    "slots": [
                        {"time": time, "available": max(0, SEATS_PER_SLOT - taken.get((day, time), 0))}
                        for time in SLOT_TIMES
                    ],
                }
                for day in days
            ],
        }
    )


def _appointment_draft(
    body: Mapping[str, Any], catalogue: Catalogue, calendar: WorkCalendar, today: date
) -> AppointmentDraft:
    item = service_field(body, catalogue)
    region = region_field(body, catalogue)
    _check_bookable(item, region)
    try:
        day = date.fromisoformat(text_field(body, "date", 10))
    except ValueError:
        raise ApiError(400, "invalid_date", "Field 'date' must be a date, YYYY-MM-DD.") from None
    problem = booking_problem(calendar, today, day)
    if problem:
        raise ApiError(400, *_DATE_PROBLEMS[problem])
    time = text_field(body, "time", 11)
    if time not in SLOT_TIMES:
        raise ApiError(400, "invalid_time", f"Field 'time' must be one of {', '.join(SLOT_TIMES)}.")
    applicant = object_field(body, "applicant")
    return AppointmentDraft(
        service_id=item.id,
        region_code=region.code,
        date=day,
        time=time,
        applicant_name=applicant_name(applicant),
        phone=applicant_phone(applicant),
        channel=channel_field(body),
        conversation_id=conversation_field(body),
        lang=lang_field(body),
    )


@appointment_routes.post("/appointments")
async def book_appointment(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    now = datetime.now(timezone.utc)
    key = idempotency_key(request)
    draft = _appointment_draft(json_body(request), ctx.catalogue, ctx.calendar, office_today(now))
    try:
        appointment, created = await asyncio.to_thread(
            book, ctx.engine, draft, key, fingerprint(dataclasses.asdict(draft)), now
        )
    except SlotFull:
        raise ApiError(409, "slot_full", "That time is fully booked; choose another slot.") from None
    except IdempotencyKeyReused:
        raise key_reused() from None
    return json(appointment_view(appointment, ctx.catalogue), status=201 if created else 200)
