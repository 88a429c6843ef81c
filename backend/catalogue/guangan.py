"""The real local catalogue of 广安区 (511602), imported as `local` service items."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

from backend.catalogue.items import ServiceItem

GUANGAN_DISTRICT = "511602"


def guangan_items(
    groups: list[Mapping[str, Any]],
    offices: Mapping[str, Mapping[str, str]],
    names_en: Mapping[str, str],
) -> Iterator[ServiceItem]:
    """One item per published sub-item; its id is the portal's implementation code.

    `names_en` gives the English name by item code; an item without one shows its
    Chinese name in English answers too (see items.localize).
    """
    for group in groups:
        office = offices[group["department"]]
        for main in group["items"]:
            for sub in main["sub_items"]:
                query = parse_qs(urlparse(sub["link"]).query)
                item_code = query["itemCode"][0]
                yield ServiceItem(
                    id=f"guangan-{item_code}",
                    source="local",
                    tier="county",
                    department=group["department"],
                    region_code=GUANGAN_DISTRICT,
                    content={
                        "name": {
                            "zh": sub["name"].strip(),
                            **({"en": names_en[item_code]} if item_code in names_en else {}),
                        },
                        "office": dict(office),
                        "department_short": group["department"],
                        "group": None if main["main_item"] == "未分类" else main["main_item"],
                        "item_code": item_code,
                        "item_type": query.get("taskType", ["10"])[0],
                        "url": sub["link"],
                    },
                )


def _english(names_en: Mapping[str, str], item_code: str) -> dict[str, str]:
    return {"en": names_en[item_code]} if item_code in names_en else {}
