"""Schemas of applications and appointments for the OpenAPI document (backend/openapi.py),
and the helpers that write its parts."""

from __future__ import annotations

from typing import Any

from backend.catalogue.items import DELIVERY_METHODS
from backend.procedure.applications import STAGES, STATUSES
from backend.procedure.appointments import SLOT_TIMES


def ref(schema_name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema_name}"}


ERROR = ref("Error")


def query_param(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Any]:
    return {str(status): answer("Error", ERROR) for status in statuses}


def request_body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema_name)}}}


def obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


STATUS_ENUM = list(STATUSES)
DELIVERY_ENUM = list(DELIVERY_METHODS)
TEXT = {"type": "string"}
DATE = {"type": "string", "format": "date"}
BILINGUAL = obj(["zh", "en"], zh=TEXT, en=TEXT)
CHANNEL = {"type": "string", "maxLength": 32, "default": "rest"}
CONVERSATION = {
    "type": "string",
    "maxLength": 200,
    "description": "Rasa's conversation (sender) id; status changes are told there.",
}
BODY_LANG = {"type": "string", "enum": ["zh", "en"], "default": "zh"}
NAME = {"type": "string", "minLength": 1, "maxLength": 50, "description": "Letters only, no digits"}
MOBILE = {"type": "string", "description": "Mainland mobile number, 11 digits (+86 and separators allowed)"}

_HISTORY = obj(
    ["status", "stage", "at", "note"],
    status={"type": "string", "enum": STATUS_ENUM},
    stage={"type": "string", "enum": list(STAGES)},
    at={"type": "string", "format": "date-time"},
    note=TEXT,
)
_STATUS_FIELDS: dict[str, Any] = {
    "application_id": {"type": "string", "example": "ZW20261126-7KQ3MX"},
    "service_id": TEXT,
    "service_name": BILINGUAL,
    "region_code": TEXT,
    "status": {"type": "string", "enum": STATUS_ENUM},
    "stage": {"type": "string", "enum": list(STAGES)},
    "delivery": {"type": "string", "enum": DELIVERY_ENUM},
    "channel": TEXT,
    "lang": {"type": "string", "enum": ["zh", "en"]},
    "expected_completion": DATE,
    "created_at": {"type": "string", "format": "date-time"},
    "history": {"type": "array", "items": _HISTORY},
}
_APPLICANT = obj(["name", "id_number", "phone"], name=TEXT, id_number=TEXT, phone=TEXT)

APPLICATION_SCHEMAS: dict[str, Any] = {
    "NewApplication": obj(
        ["service_id", "region_code", "applicant", "delivery"],
        service_id=TEXT,
        region_code={"type": "string", "pattern": "^[0-9]{6}$"},
        applicant=obj(
            ["name", "id_number", "phone"],
            name=NAME,
            id_number={"type": "string", "description": "18-character resident ID number; x or X"},
            phone=MOBILE,
        ),
        delivery={"type": "string", "enum": DELIVERY_ENUM, "description": "One of the item's `delivery`"},
        channel=CHANNEL,
        conversation_id=CONVERSATION,
        lang=BODY_LANG,
    ),
    "ApplicationStatus": obj(list(_STATUS_FIELDS), **_STATUS_FIELDS),
    "ApplicationReceipt": obj(
        [*_STATUS_FIELDS, "applicant"],
        **_STATUS_FIELDS,
        applicant={**_APPLICANT, "description": "Masked: 张*, 5101**********123X, 138****8000"},
    ),
    "StaffApplication": obj(
        [*_STATUS_FIELDS, "applicant", "conversation_id"],
        **_STATUS_FIELDS,
        applicant=_APPLICANT,
        conversation_id={"type": "string", "nullable": True},
    ),
    "ApplicationList": obj(
        ["total", "limit", "offset", "results"],
        total={"type": "integer"},
        limit={"type": "integer"},
        offset={"type": "integer"},
        results={"type": "array", "items": ref("StaffApplication")},
    ),
    "Transition": obj(
        ["status"],
        status={"type": "string", "enum": STATUS_ENUM},
        note={"type": "string", "maxLength": 500},
    ),
    "Slots": obj(
        ["service_id", "region_code", "days"],
        service_id=TEXT,
        region_code=TEXT,
        days={
            "type": "array",
            "items": obj(
                ["date", "slots"],
                date=DATE,
                slots={
                    "type": "array",
                    "items": obj(
                        ["time", "available"],
                        time={"type": "string", "enum": list(SLOT_TIMES)},
                        available={"type": "integer", "minimum": 0},
                    ),
                },
            ),
        },
    ),
    "NewAppointment": obj(
        ["service_id", "region_code", "date", "time", "applicant"],
        service_id=TEXT,
        region_code={"type": "string", "pattern": "^[0-9]{6}$"},
        date={**DATE, "description": "A working day after today, at most 30 days ahead"},
        time={"type": "string", "enum": list(SLOT_TIMES)},
        applicant=obj(["name", "phone"], name=NAME, phone=MOBILE),
        channel=CHANNEL,
        conversation_id=CONVERSATION,
        lang=BODY_LANG,
    ),
    "Appointment": obj(
        ["appointment_id", "service_id", "service_name", "region_code", "office", "date", "time", "status"],
        appointment_id={"type": "string", "example": "YY20261126-7KQ3MX"},
        service_id=TEXT,
        service_name=BILINGUAL,
        region_code=TEXT,
        office=ref("Office"),
        date=DATE,
        time=TEXT,
        status={"type": "string", "enum": ["booked"]},
        applicant=obj(["name", "phone"], name=TEXT, phone=TEXT),
        channel=TEXT,
        lang={"type": "string", "enum": ["zh", "en"]},
        created_at={"type": "string", "format": "date-time"},
    ),
}
