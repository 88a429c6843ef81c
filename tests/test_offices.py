"""Office resolution: the right department at the item's tier, named in both languages."""

from __future__ import annotations

import pytest

from backend.catalogue.catalogue import Catalogue


def office(catalogue: Catalogue, service_id: str, region_code: str | None, lang: str = "zh") -> dict | None:
    region = catalogue.regions.get(region_code) if region_code else None
    return catalogue.office_view(catalogue.items[service_id], lang, region)


def test_county_item_goes_to_the_county_department(catalogue: Catalogue) -> None:
    zh = office(catalogue, "food-business-licence", "510107", "zh")
    en = office(catalogue, "food-business-licence", "510107", "en")
    assert zh is not None and en is not None
    assert zh["department"] == "成都市武侯区市场监督管理局"
    assert en["department"] == "Market Regulation Administration of Wuhou District, Chengdu"
    assert zh["region_code"] == "510107" and zh["tier"] == "county" and zh["precise"] is True


def test_city_item_goes_to_the_city_for_a_county_resident(catalogue: Catalogue) -> None:
    zh = office(catalogue, "passport", "510107")
    assert zh is not None
    assert zh["region_code"] == "510100"
    assert zh["department"] == "成都市公安局出入境管理支队"


def test_municipality_acts_as_the_city(catalogue: Catalogue) -> None:
    zh = office(catalogue, "passport", "110108")
    assert zh is not None
    assert zh["region_code"] == "110000" and zh["tier"] == "city"
    assert zh["department"] == "北京市公安局出入境管理总队"


def test_province_administered_county_acts_as_the_city(catalogue: Catalogue) -> None:
    zh = office(catalogue, "driving-licence-renewal", "419001")
    assert zh is not None
    assert zh["region_code"] == "419001"
    assert zh["department"].startswith("济源市")


def test_provincial_item_goes_to_the_province(catalogue: Catalogue) -> None:
    zh = office(catalogue, "drug-wholesale-licence", "510107", "zh")
    en = office(catalogue, "drug-wholesale-licence", "510107", "en")
    assert zh is not None and en is not None
    assert zh["department"] == "四川省药品监督管理局"
    assert zh["region_code"] == "510000" and zh["tier"] == "provincial"
    assert "Sichuan" in en["department"]


def test_national_item_goes_to_the_national_authority_wherever_asked(catalogue: Catalogue) -> None:
    for region in (None, "510107", "110108"):
        zh = office(catalogue, "trademark-registration", region)
        assert zh is not None
        assert zh["department"] == "国家知识产权局" and zh["tier"] == "national"


def test_district_police_branch_is_named_after_its_city(catalogue: Catalogue) -> None:
    zh = office(catalogue, "no-criminal-record-certificate", "510107")
    assert zh is not None and zh["department"] == "成都市公安局武侯区分局"


def test_county_item_with_only_a_city_known_is_marked_imprecise(catalogue: Catalogue) -> None:
    zh = office(catalogue, "food-business-licence", "510100")
    assert zh is not None
    assert zh["precise"] is False and zh["region_code"] == "510100"


def test_no_office_until_the_region_is_known(catalogue: Catalogue) -> None:
    assert office(catalogue, "food-business-licence", None) is None


def test_mainland_procedures_have_no_office_in_hong_kong(catalogue: Catalogue) -> None:
    assert office(catalogue, "food-business-licence", "810000") is None


@pytest.mark.parametrize("service_id", ["resident-id-card", "company-registration", "construction-permit"])
def test_every_tier_and_department_resolves_everywhere(catalogue: Catalogue, service_id: str) -> None:
    """A sample of items, every mainland county: a name in both languages, no template left."""
    item = catalogue.items[service_id]
    for region in catalogue.regions:
        if region.tier != "county" or region.code[:2] in ("71", "81", "82"):
            continue
        zh = catalogue.office_view(item, "zh", region)
        en = catalogue.office_view(item, "en", region)
        assert zh is not None and en is not None
        assert "{" not in zh["department"] and "{" not in en["department"]
        assert zh["department"] != en["department"]


def test_local_items_are_handled_by_their_own_office(catalogue: Catalogue) -> None:
    item = next(i for i in catalogue.items.values() if i.source == "local" and i.department == "区市监局")
    zh = catalogue.office_view(item, "zh", None)
    assert zh is not None and zh["department"] == "广安市广安区市场监督管理局"
    assert zh["region_code"] == "511602"
