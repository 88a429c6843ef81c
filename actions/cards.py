"""What the citizen sees of a service item: custom payloads (CONTRACT.md §2) and the
variables of the responses in domain.yml that say the same in words.

Pure: platform JSON in, plain dicts out. Fragments in both languages come from
data/assistant/phrases.yml.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PHRASES_FILE = Path(__file__).resolve().parent.parent / "data" / "assistant" / "phrases.yml"
ASPECTS = ("materials", "fee", "time_limit", "where", "online", "steps")
CARD_FIELDS = (
    "id",
    "name",
    "tier",
    "department",
    "online_level",
    "time_limit_days",
    "fee",
    "materials",
    "steps",
    "url",
)


@cache
def _phrases() -> dict[str, dict[str, str]]:
    with PHRASES_FILE.open(encoding="utf-8") as handle:
        phrases: dict[str, dict[str, str]] = yaml.safe_load(handle)
    return phrases


def phrase(key: str, lang: str, **values: Any) -> str:
    return _phrases()[key][lang if lang == "en" else "zh"].format(**values)


def card_payload(service: dict[str, Any]) -> dict[str, Any]:
    """`service_card`: the item and the office for the citizen's region (null if unknown)."""
    return {
        "type": "service_card",
        "service": {field: service[field] for field in CARD_FIELDS if service.get(field) is not None},
        "office": service.get("office"),
    }


def card_args(service: dict[str, Any], lang: str) -> dict[str, str]:
    """Variables of `utter_service_card`; what an item does not say points to its guide."""
    url = service.get("url")
    return {
        "name": service["name"],
        "office": office_text(service, lang),
        "time_limit": time_limit_text(service, lang),
        "fee": service.get("fee") or phrase("see_guide", lang),
        "online": service.get("online_level_label") or phrase("see_guide", lang),
        "guide": phrase("guide_line", lang, url=url) if url else "",
    }


def _see_guide(service: dict[str, Any], lang: str) -> str:
    url = service.get("url")
    return phrase("see_guide_at", lang, url=url) if url else phrase("see_guide", lang)


def office_text(service: dict[str, Any], lang: str) -> str:
    office = service.get("office")
    if office is None:
        return phrase("office_unknown", lang, department=service["department"])
    return phrase("office", lang, department=office["department"])


def time_limit_text(service: dict[str, Any], lang: str) -> str:
    days = service.get("time_limit_days")
    if days is None:
        return phrase("see_guide", lang)
    text = phrase("working_days", lang, days=days) if days else phrase("same_day", lang)
    statutory = service.get("statutory_days")
    if statutory and statutory != days:
        text += phrase("statutory_days", lang, days=statutory)
    return text


def candidates_payload(results: list[dict[str, Any]]) -> dict[str, Any]:
    """`service_candidates`, best first."""
    return {
        "type": "service_candidates",
        "candidates": [
            {"id": found["service"]["id"], "name": found["service"]["name"], "score": round(found["score"], 3)}
            for found in results
        ],
    }


def candidates_text(results: list[dict[str, Any]], lang: str) -> str:
    return "\n".join(
        phrase("candidate_line", lang, index=index, name=found["service"]["name"])
        for index, found in enumerate(results, start=1)
    )


def candidate_buttons(results: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Buttons whose payload names the item, so a click needs no understanding."""
    return [
        {
            "title": found["service"]["name"],
            "payload": "/choose_candidate" + json.dumps({"service_id": found["service"]["id"]}),
        }
        for found in results
    ]


def detail_payload(service: dict[str, Any], aspect: str) -> dict[str, Any]:
    """`service_detail`: one aspect of the current item, for channels that draw it."""
    fields = {
        "materials": ("materials",),
        "fee": ("fee",),
        "time_limit": ("time_limit_days", "statutory_days"),
        "where": ("office", "department", "where"),
        "online": ("online_level", "online_level_label"),
        "steps": ("steps",),
    }[aspect]
    return {
        "type": "service_detail",
        "service_id": service["id"],
        "aspect": aspect,
        **{field: service.get(field) for field in fields},
    }


def detail_args(service: dict[str, Any], aspect: str, lang: str) -> dict[str, str]:
    """Variables of `utter_detail_<aspect>`."""
    if aspect == "materials":
        details = "\n".join(
            phrase(
                "material_line",
                lang,
                index=index,
                name=material["name"],
                form=material.get("form_label", ""),
                copies=material.get("copies", 1),
                plural="y" if material.get("copies", 1) == 1 else "ies",
            )
            for index, material in enumerate(service.get("materials") or [], start=1)
        )
    elif aspect == "steps":
        details = "\n".join(
            phrase("step_line", lang, index=index, title=step.get("title", ""), text=step.get("text", ""))
            for index, step in enumerate(service.get("steps") or [], start=1)
        )
    elif aspect == "fee":
        details = service.get("fee") or ""
    elif aspect == "time_limit":
        details = time_limit_text(service, lang) if service.get("time_limit_days") is not None else ""
    elif aspect == "where":
        details = "\n".join(filter(None, (office_text(service, lang), service.get("where"))))
    else:
        details = service.get("online_level_label") or ""
    return {"name": service["name"], "details": details or _see_guide(service, lang)}
