"""Reports as Open311 GeoReport v2 shows them (http://wiki.open311.org/GeoReport_v2):
the service list and definitions, service requests, discovery, errors, and the XML
form of each (the spec's elements, which its JSON mirrors).

A service is a report category (service_code = the contract's code); its one attribute
is the request type, which decides the response deadline. Requests are public: they
never carry the reporter's name, phone, e-mail or account, and a description is shown
with phone and ID numbers and the reporter's name blanked. Reports of wrongdoing (举报)
keep their description to staff, to protect the one who reported.

Pure: records in, plain data or XML text out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from backend.catalogue.offices import Department
from backend.complaints.categories import ComplaintCodes
from backend.complaints.datetimes import end_of_office_day, w3c
from backend.complaints.records import Complaint
from backend.complaints.routing import department_for
from bot.privacy import redact_text

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint last changed in a way clients may care about.
CHANGESET = "2026-11-26T00:00:00+08:00"
FORMATS = {"json": "application/json", "xml": "text/xml"}
REQUEST_TYPE_ATTRIBUTE = "request_type"
DEFAULT_REQUEST_TYPE = "help"
WITHHELD_DESCRIPTIONS = frozenset({"report"})
NAME_PLACEHOLDER = "[name]"
# Lists of the spec's XML and the element each item of them is.
_ITEM_ELEMENTS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
_TEXTS: dict[str, dict[str, str]] = {
    "contact": {
        "zh": "12345政务服务便民热线；紧急情况请拨打110、119、120或122",
        "en": "The 12345 government service hotline; in an emergency call 110, 119, 120 or 122",
    },
    "key_service": {
        "zh": "api_key 由平台运维人员发放（OPEN311_API_KEYS）",
        "en": "api_key values are issued by the platform's operators (OPEN311_API_KEYS)",
    },
    "service_description": {
        "zh": "{name}。由{department}承办；按诉求类型在{days}个工作日内答复。",
        "en": "{name}. Handled by: {department}; answered within {days} working days, by type of request.",
    },
    "attribute_description": {
        "zh": "诉求类型（决定答复时限），默认为“求助”",
        "en": "Type of request (decides the response deadline); 'help' when not given",
    },
    "notice": {
        "zh": "已派单至{office}，将于{due}前答复。",
        "en": "Dispatched to {office}, who will respond by {due}.",
    },
    "follow_up": {
        "zh": "查询凭证：{code}（请妥善保存，仅显示一次）。",
        "en": "Follow-up code: {code} (keep it: it is shown only once).",
    },
}


def open311_status(status: str) -> str:
    return "closed" if status == "closed" else "open"


def text(key: str, lang: str, **fields: Any) -> str:
    return _TEXTS[key][lang].format(**fields)


def discovery(endpoint_url: str, lang: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": text("contact", lang),
        "key_service": text("key_service", lang),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }


def services(codes: ComplaintCodes, departments: Mapping[str, Department], lang: str) -> list[dict[str, Any]]:
    days = sorted({kind.response_working_days for kind in codes.request_types.values()})
    found = []
    for category in codes.categories.values():
        department = departments[department_for(category)].label
        found.append(
            {
                "service_code": category.code,
                "service_name": category.name[lang],
                "description": text(
                    "service_description",
                    lang,
                    name=category.name[lang],
                    department=department[lang],
                    days=f"{days[0]}–{days[-1]}",
                ),
                "metadata": True,
                "type": "realtime",
                "keywords": ", ".join(dict.fromkeys([category.name["zh"], category.name["en"], category.code])),
                "group": department[lang],
            }
        )
    return found


def service_definition(codes: ComplaintCodes, service_code: str, lang: str) -> dict[str, Any]:
    return {
        "service_code": service_code,
        "attributes": [
            {
                "variable": True,
                "code": REQUEST_TYPE_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": None,
                "order": 1,
                "description": text("attribute_description", lang),
                "values": [
                    {"key": kind.code, "name": f"{kind.name[lang]} ({kind.response_working_days})"}
                    for kind in codes.request_types.values()
                ],
            }
        ],
    }


def service_notice(complaint: Complaint, lang: str) -> str:
    return text("notice", lang, office=complaint.office_name(lang), due=complaint.response_due.isoformat())


def public_text(value: str, complaint: Complaint) -> str:
    """`value` without phone or ID numbers, nor the reporter's name."""
    redacted = redact_text(value)
    name = complaint.contact_name
    return redacted.replace(name, NAME_PLACEHOLDER) if name and len(name) > 1 else redacted


def request(complaint: Complaint, codes: ComplaintCodes, lang: str) -> dict[str, Any]:
    """One service request as anyone may see it."""
    category = codes.categories.get(complaint.category)
    latest = complaint.updates[-1].note if complaint.updates else ""
    withheld = complaint.request_type in WITHHELD_DESCRIPTIONS or not complaint.description
    return {
        "service_request_id": complaint.id,
        "status": open311_status(complaint.status),
        "status_notes": public_text(latest, complaint) or None,
        "service_name": category.name[lang] if category else complaint.category,
        "service_code": complaint.category,
        "description": None if withheld else public_text(complaint.description, complaint),
        "agency_responsible": complaint.office_name(lang),
        "service_notice": service_notice(complaint, lang),
        "requested_datetime": w3c(complaint.created_at),
        "updated_datetime": w3c(complaint.updated_at),
        "expected_datetime": w3c(end_of_office_day(complaint.response_due)),
        "address": public_text(complaint.address, complaint) if complaint.address else None,
        "address_id": complaint.address_id,
        "zipcode": None,
        "lat": complaint.latitude,
        "long": complaint.longitude,
        "media_url": complaint.photo_urls[0] if complaint.photo_urls else None,
    }


def error(status: int, description: str) -> list[dict[str, Any]]:
    return [{"code": status, "description": description}]


def to_xml(root: str, value: Any) -> str:
    """The spec's XML for a JSON answer: `root` holds the list or the object's fields."""
    document = _element(root, value)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(document, encoding="unicode")


def _element(name: str, value: Any) -> ElementTree.Element:
    element = ElementTree.Element(name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            element.append(_element(key, item))
    elif isinstance(value, list):
        for item in value:
            element.append(_element(_ITEM_ELEMENTS.get(name, "item"), item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element
