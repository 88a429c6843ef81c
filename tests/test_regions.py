"""Regions: every division with its English name, aliases and parent, found by any name."""

from __future__ import annotations

from collections import Counter

import pytest

from backend.catalogue.catalogue import Catalogue


def test_directory_holds_every_province_city_and_county(catalogue: Catalogue) -> None:
    tiers = Counter(region.tier for region in catalogue.regions)
    assert tiers["province"] == 34
    assert tiers["county"] == 2846
    # 337 prefecture-level rows less the placeholders for province-administered counties
    assert 330 <= tiers["city"] <= 337


def test_every_parent_exists_and_tiers_nest(catalogue: Catalogue) -> None:
    for region in catalogue.regions:
        if region.tier == "province":
            assert region.parent_code is None
            continue
        parent = catalogue.regions.get(region.parent_code or "")
        assert parent is not None, region
        assert parent.tier in ("province", "city")
        assert region.name_en.strip()


@pytest.mark.parametrize(
    ("code", "name_en", "parent"),
    [
        ("110108", "Haidian District", "110000"),
        ("510107", "Wuhou District", "510100"),
        ("510100", "Chengdu", "510000"),
        ("511602", "Guang'an District", "511600"),
        ("513400", "Liangshan Yi Autonomous Prefecture", "510000"),
        ("419001", "Jiyuan City", "410000"),
        ("500000", "Chongqing", None),
        ("610000", "Shaanxi", None),
        ("140000", "Shanxi", None),
        ("429021", "Shennongjia Forest District", "420000"),
    ],
)
def test_english_names_and_parents(catalogue: Catalogue, code: str, name_en: str, parent: str | None) -> None:
    region = catalogue.regions.get(code)
    assert region is not None
    assert region.name_en == name_en
    assert region.parent_code == parent


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("海淀区", "110108"),
        ("海淀", "110108"),
        ("北京海淀", "110108"),
        ("北京市海淀区", "110108"),
        ("Haidian", "110108"),
        ("haidian district", "110108"),
        ("成都", "510100"),
        ("Chengdu", "510100"),
        ("成都武侯", "510107"),
        ("510107", "510107"),
        ("Guang'an", "511600"),
        ("guangan district", "511602"),
        ("Inner Mongolia", "150000"),
    ],
)
def test_lookup_by_chinese_alias_pinyin_or_english(catalogue: Catalogue, text: str, code: str) -> None:
    region = catalogue.find_region(text)
    assert region is not None and region.code == code


def test_search_ranks_exact_matches_before_partial_ones(catalogue: Catalogue) -> None:
    found = catalogue.regions.search("朝阳")
    assert {r.code for r in found[:3]} >= {"110105", "220104"}
    assert all("朝阳" in r.name for r in found[:3])
    assert catalogue.regions.search("wuho")[0].code == "510107"


def test_search_of_nothing_or_nonsense_is_empty(catalogue: Catalogue) -> None:
    assert catalogue.regions.search("   ") == []
    assert catalogue.regions.search("'; DROP TABLE regions; --") == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("在成都武侯区开个面馆", "510107"),
        ("open a noodle shop in Wuhou, Chengdu", "510107"),
        ("I live in Chaoyang, Beijing", "110105"),
        ("长春朝阳区办身份证", "220104"),
        ("lost my ID card in Shanghai", "310000"),
    ],
)
def test_finds_the_most_specific_region_named_in_text(catalogue: Catalogue, text: str, code: str) -> None:
    region = catalogue.regions.find_in_text(text)
    assert region is not None and region.code == code


@pytest.mark.parametrize("text", ["我想开个面馆", "how do I renew my driver's license", "plan a trip"])
def test_text_without_a_place_names_no_region(catalogue: Catalogue, text: str) -> None:
    assert catalogue.regions.find_in_text(text) is None


def test_words_listed_as_not_places_are_not_read_as_places(catalogue: Catalogue) -> None:
    assert catalogue.regions.find_in_text("how to move my hukou") is None
    beijing = catalogue.regions.find_in_text("transfer my hukou to Beijing")
    assert beijing is not None and beijing.code == "110000"
    assert catalogue.find_region("hukou") is not None and catalogue.find_region("hukou").code == "360429"  # type: ignore[union-attr]


def test_municipality_and_province_administered_counties_act_as_cities(catalogue: Catalogue) -> None:
    haidian = catalogue.regions.get("110108")
    jiyuan = catalogue.regions.get("419001")
    wuhou = catalogue.regions.get("510107")
    assert haidian and jiyuan and wuhou
    city_of_haidian = catalogue.regions.city_of(haidian)
    city_of_jiyuan = catalogue.regions.city_of(jiyuan)
    city_of_wuhou = catalogue.regions.city_of(wuhou)
    assert city_of_haidian is not None and city_of_haidian.code == "110000"
    assert city_of_jiyuan is not None and city_of_jiyuan.code == "419001"
    assert city_of_wuhou is not None and city_of_wuhou.code == "510100"
