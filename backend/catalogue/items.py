"""Service items: the bilingual records of the catalogue and how they are shown.

An item is either `national` (the nationwide catalogue of data/catalogue/services,
valid in every region) or `local` (published by one region's portal, like 广安区's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGS = ("zh", "en")
ONLINE_LEVELS = ("fully_online", "one_visit", "on_site")
STAGES = ("reception", "approval", "completion")
MATERIAL_FORMS = ("original", "copy", "original_and_copy")
AUDIENCES = ("person", "business", "foreigner")
ITEM_TIERS = ("national", "provincial", "city", "county")
ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}$")
RECEPTIONS = ("online", "appointment")
DELIVERY_METHODS = ("window", "mail", "electronic")

_BILINGUAL_FIELDS = ("name", "summary", "eligibility", "fee", "where", "legal_basis")


class CatalogueError(ValueError):
    """The catalogue's data files break the schema of data/catalogue/README.md."""


@dataclass(frozen=True)
class ServiceItem:
    id: str
    source: str
    tier: str
    department: str
    region_code: str | None
    content: Mapping[str, Any]

    def name(self, lang: str) -> str:
        return str(self.content["name"][lang])

    @property
    def online_level(self) -> str | None:
        """None for local items: their portal does not say how far they can be done online."""
        return self.content.get("online_level") if self.source == "national" else None


def reception(item: ServiceItem) -> str:
    """'online' when the assistant can take the application; otherwise the citizen books a visit.

    Local items have no online level, so they are treated as the on-site ones are.
    """
    return "online" if item.online_level in ("fully_online", "one_visit") else "appointment"


def delivery_methods(item: ServiceItem) -> list[str]:
    """How the result may reach the citizen: always at the window; by mail unless the
    citizen must come in person anyway; electronically only when nothing needs a visit."""
    level = item.online_level
    methods = ["window"]
    if level in ("fully_online", "one_visit"):
        methods.append("mail")
    if level == "fully_online":
        methods.append("electronic")
    return methods


def national_item(raw: Mapping[str, Any], departments: Mapping[str, Any]) -> ServiceItem:
    """Validate one record of services/*.yml; every problem is reported at once."""
    item_id = str(raw.get("id", ""))
    problems: list[str] = []
    if not ITEM_ID.match(item_id):
        problems.append("id must be letters, digits and dashes")
    _expect_choice(raw, "tier", ITEM_TIERS, problems)
    _expect_choice(raw, "online_level", ONLINE_LEVELS, problems)
    _expect_choice(raw, "audience", AUDIENCES, problems)
    if raw.get("department") not in departments:
        problems.append(f"department {raw.get('department')!r} is not in departments.yml")
    for key in ("statutory_days", "promised_days"):
        if not isinstance(raw.get(key), int) or raw[key] < 0:
            problems.append(f"{key} must be a whole number of working days")
    for key in _BILINGUAL_FIELDS:
        _expect_bilingual(raw.get(key), key, problems)
    for index, material in enumerate(raw.get("materials") or []):
        _expect_bilingual(material, f"materials[{index}]", problems)
        if material.get("form") not in MATERIAL_FORMS:
            problems.append(f"materials[{index}].form must be one of {MATERIAL_FORMS}")
    if not raw.get("materials"):
        problems.append("materials must list at least one document")
    for index, question in enumerate(raw.get("eligibility_questions") or []):
        _expect_bilingual(question, f"eligibility_questions[{index}]", problems)
    steps = raw.get("steps") or {}
    for stage in STAGES:
        _expect_bilingual(steps.get(stage), f"steps.{stage}", problems)
    for index, faq in enumerate(raw.get("faqs") or []):
        _expect_bilingual(faq.get("q"), f"faqs[{index}].q", problems)
        _expect_bilingual(faq.get("a"), f"faqs[{index}].a", problems)
    keywords = raw.get("keywords") or {}
    if not all(isinstance(keywords.get(lang), list) for lang in LANGS):
        problems.append("keywords must have zh and en lists")
    if problems:
        raise CatalogueError(f"service item {item_id or '?'}: " + "; ".join(problems))
    return ServiceItem(
        id=item_id,
        source="national",
        tier=raw["tier"],
        department=raw["department"],
        region_code=None,
        content=dict(raw),
    )


def localize(
    item: ServiceItem,
    lang: str,
    labels: Mapping[str, Any],
    department_label: Mapping[str, str],
) -> dict[str, Any]:
    """The item as one language's reader sees it: the `service` object of the API."""
    c = item.content
    if item.source == "local":
        return _localize_local(item, lang, labels)
    return {
        "id": item.id,
        "source": item.source,
        "name": c["name"][lang],
        "tier": item.tier,
        "tier_label": labels["tiers"][item.tier][lang],
        "department": department_label[lang],
        "audience": c["audience"],
        "online_level": c["online_level"],
        "online_level_label": labels["online_levels"][c["online_level"]][lang],
        "time_limit_days": c["promised_days"],
        "statutory_days": c["statutory_days"],
        "reception": reception(item),
        "delivery": delivery_methods(item),
        "fee": c["fee"][lang],
        "summary": c["summary"][lang],
        "eligibility": c["eligibility"][lang],
        "eligibility_questions": [question[lang] for question in c.get("eligibility_questions") or []],
        "materials": [
            {
                "name": m[lang],
                "form": m["form"],
                "form_label": labels["material_forms"][m["form"]][lang],
                "copies": m.get("copies", 1),
                **({"note": m["note"][lang]} if m.get("note") else {}),
            }
            for m in c["materials"]
        ],
        "steps": [
            {"stage": stage, "title": labels["stages"][stage][lang], "text": c["steps"][stage][lang]}
            for stage in STAGES
        ],
        "where": c["where"][lang],
        "legal_basis": c["legal_basis"][lang],
        "varies_by_city": c["varies_by_city"][lang] if c.get("varies_by_city") else None,
        "faqs": [{"q": faq["q"][lang], "a": faq["a"][lang]} for faq in c.get("faqs", [])],
        "url": c.get("url"),
        "region_code": None,
    }


def _localize_local(item: ServiceItem, lang: str, labels: Mapping[str, Any]) -> dict[str, Any]:
    c = item.content
    item_type = labels["item_types"].get(c["item_type"], labels["item_types"]["10"])
    return {
        "id": item.id,
        "source": item.source,
        "name": c["name"].get(lang) or c["name"]["zh"],
        "name_zh": c["name"]["zh"],
        "tier": item.tier,
        "tier_label": labels["tiers"][item.tier][lang],
        "department": c["office"][lang],
        "item_code": c["item_code"],
        "item_type": c["item_type"],
        "item_type_label": item_type[lang],
        "group": c.get("group"),
        "summary": labels["local_item_note"][lang],
        "online_level": None,
        "time_limit_days": None,
        "reception": reception(item),
        "delivery": delivery_methods(item),
        "fee": None,
        "materials": [],
        "steps": [],
        "url": c["url"],
        "region_code": item.region_code,
    }


def _expect_choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...], problems: list[str]) -> None:
    if raw.get(key) not in choices:
        problems.append(f"{key} must be one of {choices}")


def _expect_bilingual(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, Mapping) or not all(
        isinstance(value.get(lang), str) and value[lang].strip() for lang in LANGS
    ):
        problems.append(f"{where} needs non-empty zh and en text")
