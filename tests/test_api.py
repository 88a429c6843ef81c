"""The platform over HTTP (CONTRACT.md §3), on SQLite and on PostgreSQL."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

from tests.conftest import RunningPlatform


def test_health(platform: RunningPlatform) -> None:
    answer = platform.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_openapi_document_describes_the_api(platform: RunningPlatform) -> None:
    document = platform.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/services", "/api/v1/services/{id}", "/api/v1/regions"} <= set(document["paths"])
    assert {
        "/api/v1/applications",
        "/api/v1/applications/{id}",
        "/api/v1/applications/{id}/transitions",
        "/api/v1/appointments/slots",
        "/api/v1/appointments",
    } <= set(document["paths"])
    schemas = document["components"]["schemas"]
    assert {"reception", "delivery"} <= set(schemas["Service"]["properties"])
    assert {"NewApplication", "ApplicationReceipt", "ApplicationStatus", "Slots", "Appointment"} <= set(schemas)
    assert document["components"]["securitySchemes"]["staffToken"]["scheme"] == "bearer"


def test_search_with_a_region_resolves_the_office(platform: RunningPlatform) -> None:
    answer = platform.get("/api/v1/services", params={"q": "我想开个面馆", "region": "510107"})
    assert answer.status_code == 200
    body = answer.json()
    best = body["results"][0]
    assert best["service"]["id"] == "food-business-licence"
    assert best["service"]["office"]["department"] == "成都市武侯区市场监督管理局"
    assert best["service"]["materials"] and best["service"]["time_limit_days"] is not None
    assert body["lang"] == "zh"


def test_search_answers_in_english_for_english_questions(platform: RunningPlatform) -> None:
    body = platform.get("/api/v1/services", params={"q": "open a noodle shop", "region": "Wuhou, Chengdu"}).json()
    service = body["results"][0]["service"]
    assert body["lang"] == "en"
    assert service["id"] == "food-business-licence"
    assert service["name"] == "Food business licence"
    assert service["office"]["department"] == "Market Regulation Administration of Wuhou District, Chengdu"


def test_lang_parameter_forces_the_language(platform: RunningPlatform) -> None:
    body = platform.get("/api/v1/services", params={"q": "护照", "lang": "en", "limit": 1}).json()
    assert body["results"][0]["service"]["name"] == "Ordinary passport issuance"
    assert len(body["results"]) == 1


def test_one_service_with_its_office(platform: RunningPlatform) -> None:
    body = platform.get("/api/v1/services/passport", params={"region": "北京海淀", "lang": "zh"}).json()
    assert body["id"] == "passport"
    assert body["office"]["department"] == "北京市公安局出入境管理总队"
    assert [step["stage"] for step in body["steps"]] == ["reception", "approval", "completion"]


@pytest.mark.parametrize(
    ("service_id", "reception", "delivery"),
    [
        ("food-business-licence", "online", ["window", "mail", "electronic"]),
        ("passport", "online", ["window", "mail"]),
        ("marriage-registration", "appointment", ["window"]),
        ("guangan-511Z07001006-511602000000-000-11511301008778183N-1-00", "appointment", ["window"]),
    ],
)
def test_each_service_says_how_it_is_received_and_delivered(
    platform: RunningPlatform, service_id: str, reception: str, delivery: list[str]
) -> None:
    for lang in ("zh", "en"):
        body = platform.get(f"/api/v1/services/{service_id}", params={"lang": lang}).json()
        assert (body["reception"], body["delivery"]) == (reception, delivery)


def test_one_service_without_region_has_no_office_yet(platform: RunningPlatform) -> None:
    body = platform.get("/api/v1/services/food-business-licence").json()
    assert body["office"] is None


def test_regions_by_name_alias_pinyin_and_english(platform: RunningPlatform) -> None:
    for query in ("海淀", "北京海淀", "haidian", "Haidian District"):
        found = platform.get("/api/v1/regions", params={"q": query}).json()
        assert found[0] == {
            "code": "110108",
            "name": "海淀区",
            "name_en": "Haidian District",
            "tier": "county",
            "parent_code": "110000",
        }, query


def test_regions_lists_provinces_and_children(platform: RunningPlatform) -> None:
    assert len(platform.get("/api/v1/regions").json()) == 34
    children = platform.get("/api/v1/regions", params={"parent": "510100"}).json()
    assert "510107" in {region["code"] for region in children}


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/api/v1/services", {}, 400, "missing_q"),
        ("/api/v1/services", {"q": "   "}, 400, "missing_q"),
        ("/api/v1/services", {"q": "面馆" * 150}, 400, "q_too_long"),
        ("/api/v1/services", {"q": "面馆", "region": "999999"}, 400, "unknown_region"),
        ("/api/v1/services", {"q": "面馆", "region": "Atlantis"}, 400, "unknown_region"),
        ("/api/v1/services", {"q": "面馆", "lang": "fr"}, 400, "invalid_lang"),
        ("/api/v1/services", {"q": "面馆", "limit": "0"}, 400, "invalid_limit"),
        ("/api/v1/services", {"q": "面馆", "limit": "-1; DROP TABLE x"}, 400, "invalid_limit"),
        ("/api/v1/services/no-such-item", {}, 404, "service_not_found"),
        ("/api/v1/services/" + quote("../../etc/passwd", safe=""), {}, 404, None),
        ("/api/v1/services/" + quote("x' OR '1'='1", safe=""), {}, 404, "service_not_found"),
        ("/api/v1/services/passport", {"region": "x" * 300}, 400, "region_too_long"),
        ("/api/v1/regions", {"parent": "abc"}, 400, "unknown_region"),
        ("/api/v1/nothing-here", {}, 404, None),
    ],
)
def test_bad_input_gets_a_clean_json_4xx(
    platform: RunningPlatform, path: str, params: dict, status: int, code: str | None
) -> None:
    answer = platform.get(path, params=params)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code


@pytest.mark.parametrize("query", ["' OR 1=1 --", "%", "_", "\\", "<script>alert(1)</script>", "🙂", "的"])
def test_strange_queries_are_answered_not_failed(platform: RunningPlatform, query: str) -> None:
    answer = platform.get("/api/v1/services", params={"q": query})
    assert answer.status_code == 200
    assert isinstance(answer.json()["results"], list)
    assert platform.get("/api/v1/regions", params={"q": query}).status_code == 200


def test_a_huge_url_is_refused_with_a_4xx(platform: RunningPlatform) -> None:
    answer = platform.get("/api/v1/services", params={"q": "面" * 10000})
    assert 400 <= answer.status_code < 500


def test_wrong_method_is_a_json_405(platform: RunningPlatform) -> None:
    answer = requests.post(platform.url + "/api/v1/services", json={}, timeout=10)
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"


def test_the_log_names_the_loaded_catalogue(platform: RunningPlatform) -> None:
    assert "catalogue ready" in platform.log()
