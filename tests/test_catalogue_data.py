"""The catalogue's data: every contract item, complete in both languages, and the local items."""

from __future__ import annotations

import yaml

from backend.catalogue import sources
from backend.catalogue.catalogue import Catalogue
from backend.catalogue.items import STAGES, localize
from backend.settings import DATA_DIR

CONTRACT = yaml.safe_load((DATA_DIR / "contract" / "services.yml").read_text(encoding="utf-8"))["services"]


def test_every_contract_item_is_in_the_catalogue_verbatim(catalogue: Catalogue) -> None:
    for entry in CONTRACT:
        item = catalogue.items.get(entry["id"])
        assert item is not None, entry["id"]
        assert item.source == "national"
        assert item.tier == entry["tier"], entry["id"]
        assert item.content["name"]["zh"] == entry["zh"], entry["id"]
        assert item.content["name"]["en"] == entry["en"], entry["id"]
        assert item.content["audience"] == entry["audience"], entry["id"]


def test_national_items_are_complete_in_both_languages(catalogue: Catalogue) -> None:
    labels = sources.read_labels()
    for item in catalogue.items.values():
        if item.source != "national":
            continue
        content = item.content
        assert content["promised_days"] <= content["statutory_days"] or content["statutory_days"] == 0, item.id
        assert len(content["materials"]) >= 2, item.id
        assert content["faqs"], item.id
        assert len(content["keywords"]["zh"]) >= 5 and len(content["keywords"]["en"]) >= 4, item.id
        for lang in ("zh", "en"):
            view = localize(item, lang, labels, catalogue.departments[item.department].label)
            assert [step["stage"] for step in view["steps"]] == list(STAGES)
            assert all(step["text"] for step in view["steps"])
            assert view["fee"] and view["summary"] and view["where"] and view["eligibility"]


def test_english_texts_are_english_and_chinese_texts_chinese(catalogue: Catalogue) -> None:
    for item in catalogue.items.values():
        if item.source != "national":
            continue
        for field in ("name", "summary", "eligibility", "where"):
            zh, en = item.content[field]["zh"], item.content[field]["en"]
            assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), (item.id, field)
            cjk_in_en = sum("\u4e00" <= ch <= "\u9fff" for ch in en)
            assert cjk_in_en <= len(en) * 0.2, (item.id, field)


def test_all_real_guangan_items_are_imported_for_their_district(catalogue: Catalogue) -> None:
    local = [item for item in catalogue.items.values() if item.source == "local"]
    assert len(local) == 1135
    assert {item.region_code for item in local} == {"511602"}
    assert all(item.content["item_code"] and item.content["url"].startswith("http") for item in local)
    assert all(item.content["office"]["zh"] and item.content["office"]["en"] for item in local)
    untranslated = [i.id for i in local if any("\u4e00" <= ch <= "\u9fff" for ch in i.content["name"]["en"])]
    assert untranslated == []


def test_every_department_key_has_an_office_at_every_tier(catalogue: Catalogue) -> None:
    for department in catalogue.departments.values():
        for tier in ("national", "provincial", "city", "county"):
            assert set(department.templates[tier]) == {"zh", "en"}, (department.key, tier)
