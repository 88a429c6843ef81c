"""Open311 GeoReport v2 conformance, written from the specification
(http://wiki.open311.org/GeoReport_v2): discovery, the service list and definitions,
POST and GET of service requests, their fields and formats, the error list with its
status codes, and no reporter's personal data in anything public. On SQLite and on
PostgreSQL."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from backend.catalogue.sources import read_holidays
from backend.complaints.categories import ComplaintCodes, read_complaint_codes
from backend.complaints.datetimes import parse_datetime
from backend.complaints.records import Dispatch, create_complaint
from backend.procedure.appointments import office_today
from backend.procedure.workdays import WorkCalendar
from backend.settings import Settings
from backend.store import complaints_table, make_engine
from tests.conftest import POSTGRES_URL, RunningPlatform, complaint_draft, fresh_engine

API_KEY = "open311-key-for-tests"
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
ATTRIBUTE_FIELDS = {
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
FIRST, LAST, PHONE, EMAIL = "晓梅", "欧阳", "13987654321", "ouyang@example.cn"


@pytest.fixture(scope="module")
def codes() -> ComplaintCodes:
    return read_complaint_codes()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    var_dir = tmp_path_factory.mktemp(f"open311-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{var_dir / 'platform.db'}"
    else:
        fresh_engine(POSTGRES_URL).dispose()
        url = POSTGRES_URL
    running = RunningPlatform(url, var_dir, env={"OPEN311_API_KEYS": f"another-key, {API_KEY}"})
    yield running
    running.stop()


def today() -> date:
    return office_today(datetime.now(timezone.utc))


def get(platform: RunningPlatform, resource: str, **params: str) -> requests.Response:
    return platform.get(f"/open311/v2/{resource}", params=params)


def post(platform: RunningPlatform, **fields: str) -> requests.Response:
    """Form-encoded, as the specification sends it."""
    return platform.post("/open311/v2/requests.json", data={"api_key": API_KEY, **fields})


def created(platform: RunningPlatform, **fields: str) -> str:
    fields = {"service_code": "road-damage", "jurisdiction_id": "510107", "description": "井盖缺失", **fields}
    answer = post(platform, **fields)
    assert answer.status_code == 201, answer.text
    request_id: str = answer.json()[0]["service_request_id"]
    return request_id


def one(platform: RunningPlatform, request_id: str) -> dict[str, Any]:
    answer = get(platform, f"requests/{request_id}.json")
    assert answer.status_code == 200
    (found,) = answer.json()
    assert isinstance(found, dict)
    return found


def assert_error(answer: requests.Response, status: int) -> None:
    """The spec's error: the HTTP status, and a list of {code, description}."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    errors = answer.json()
    assert isinstance(errors, list) and errors
    assert all(set(error) == {"code", "description"} and error["description"] for error in errors)
    assert errors[0]["code"] == status


# Discovery and services


def test_discovery_names_the_v2_endpoint_and_its_formats(platform: RunningPlatform) -> None:
    body = get(platform, "discovery.json").json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    assert parse_datetime(endpoint["changeset"]) is not None


def test_the_service_list_has_every_category_with_the_spec_fields(
    platform: RunningPlatform, codes: ComplaintCodes
) -> None:
    answer = get(platform, "services.json")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    services = answer.json()
    assert [service["service_code"] for service in services] == list(codes.categories)
    for service in services:
        assert set(service) == SERVICE_FIELDS
        assert service["metadata"] is True and service["type"] == "realtime"
        assert isinstance(service["keywords"], str) and service["group"]
    noise = get(platform, "services.json", lang="en").json()[0]
    assert (noise["service_name"], noise["group"]) == ("Noise nuisance", "Ecology and environment")


def test_a_service_definition_offers_the_request_types(platform: RunningPlatform, codes: ComplaintCodes) -> None:
    body = get(platform, "services/noise.json").json()
    assert body["service_code"] == "noise"
    (attribute,) = body["attributes"]
    assert set(attribute) == ATTRIBUTE_FIELDS
    assert (attribute["code"], attribute["datatype"], attribute["variable"]) == (
        "request_type",
        "singlevaluelist",
        True,
    )
    assert attribute["order"] == 1 and isinstance(attribute["required"], bool)
    assert [value["key"] for value in attribute["values"]] == list(codes.request_types)
    assert all(set(value) == {"key", "name"} for value in attribute["values"])
    assert_error(get(platform, "services/potholes.json"), 404)


def test_xml_is_the_spec_elements(platform: RunningPlatform) -> None:
    answer = get(platform, "services.xml")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/xml")
    assert answer.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ElementTree.fromstring(answer.content)
    assert root.tag == "services" and {child.tag for child in root} == {"service"}
    assert {field.tag for field in root[0]} == SERVICE_FIELDS and root[0].findtext("metadata") == "true"
    definition = ElementTree.fromstring(get(platform, "services/noise.xml").content)
    assert definition.tag == "service_definition"
    assert [value.findtext("key") for value in definition.iter("value")][:2] == ["consultation", "help"]
    request_id = created(platform)
    requests_xml = ElementTree.fromstring(get(platform, f"requests/{request_id}.xml").content)
    assert requests_xml.tag == "service_requests" and requests_xml[0].tag == "request"
    assert {field.tag for field in requests_xml[0]} == REQUEST_FIELDS
    error = get(platform, "requests/GD20261126-ZZZZZZ.xml")
    assert error.status_code == 404
    errors = ElementTree.fromstring(error.content)
    assert errors.tag == "errors" and errors[0].tag == "error" and errors[0].findtext("code") == "404"


# POST service request


def test_creating_a_request_needs_a_valid_api_key(platform: RunningPlatform) -> None:
    fields = {"service_code": "road-damage", "jurisdiction_id": "510107", "description": "井盖缺失"}
    assert_error(platform.post("/open311/v2/requests.json", data=fields), 403)
    assert_error(platform.post("/open311/v2/requests.json", data={**fields, "api_key": "wrong"}), 403)
    assert_error(platform.post("/open311/v2/requests.json", data={**fields, "api_key": ""}), 403)
    assert platform.post("/open311/v2/requests.json", data={**fields, "api_key": "another-key"}).status_code == 201


def test_a_created_request_answers_its_id_and_notice(platform: RunningPlatform, codes: ComplaintCodes) -> None:
    answer = post(
        platform,
        service_code="road-damage",
        jurisdiction_id="510107",
        description="井盖缺失",
        account_id="acct-42",
        phone=PHONE,
    )
    assert answer.status_code == 201
    (receipt,) = answer.json()
    assert set(receipt) == {"service_request_id", "service_notice", "account_id"}
    assert receipt["account_id"] == "acct-42" and "成都市武侯区城市管理和综合执法局" in receipt["service_notice"]
    found = one(platform, receipt["service_request_id"])
    assert set(found) == REQUEST_FIELDS
    assert (found["status"], found["service_code"], found["service_name"]) == (
        "open",
        "road-damage",
        "道路及市政设施损坏",
    )
    assert found["agency_responsible"] == "成都市武侯区城市管理和综合执法局"
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        parsed = parse_datetime(found[name])
        assert parsed is not None and found[name].endswith("+08:00"), name
    calendar = WorkCalendar.from_data(read_holidays())
    expected = calendar.add_working_days(today(), codes.request_types["help"].response_working_days)
    assert found["expected_datetime"].startswith(expected.isoformat())


def test_the_request_type_attribute_sets_the_deadline(platform: RunningPlatform, codes: ComplaintCodes) -> None:
    calendar = WorkCalendar.from_data(read_holidays())
    request_id = created(platform, **{"attribute[request_type]": "consultation"})
    expected = calendar.add_working_days(today(), codes.request_types["consultation"].response_working_days)
    assert one(platform, request_id)["expected_datetime"].startswith(expected.isoformat())
    assert_error(
        post(platform, service_code="noise", jurisdiction_id="510107", **{"attribute[request_type]": "x"}), 400
    )


def test_a_description_is_limited_to_4000_characters(platform: RunningPlatform) -> None:
    request_id = created(platform, description="坑" * 4000)
    assert len(one(platform, request_id)["description"]) == 4000
    assert_error(post(platform, service_code="road-damage", jurisdiction_id="510107", description="坑" * 4001), 400)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"jurisdiction_id": "510107"}, 400),  # no service_code
        ({"service_code": "potholes", "jurisdiction_id": "510107"}, 404),
        ({"service_code": "noise"}, 400),  # no location at all
        ({"service_code": "noise", "jurisdiction_id": "999999"}, 404),
        ({"service_code": "noise", "lat": "48.85", "long": "2.35"}, 400),  # Paris
        ({"service_code": "noise", "lat": "30.6"}, 400),  # lat without long
        ({"service_code": "noise", "lat": "north", "long": "east"}, 400),
        ({"service_code": "noise", "address_string": "somewhere quiet"}, 400),  # no region to route to
        ({"service_code": "noise", "jurisdiction_id": "510107", "media_url": "not a url"}, 400),
        ({"service_code": "noise", "jurisdiction_id": "510107", "email": "nobody"}, 400),
        ({"service_code": "noise", "jurisdiction_id": "510107", "phone": "12"}, 400),
        ({"service_code": "noise", "jurisdiction_id": "510107", "lang": "fr"}, 400),
    ],
)
def test_bad_requests_are_answered_with_the_spec_errors(
    platform: RunningPlatform, fields: dict[str, str], status: int
) -> None:
    assert_error(post(platform, **fields), status)


def test_a_location_is_placed_by_address_string_or_coordinates(platform: RunningPlatform) -> None:
    by_address = one(platform, created(platform, jurisdiction_id="", address_string="北京市海淀区中关村大街27号"))
    assert by_address["agency_responsible"] == "北京市海淀区城市管理和综合执法局"
    assert by_address["address"] == "北京市海淀区中关村大街27号"
    in_english = created(platform, jurisdiction_id="", address_string="Wuhou District, Chengdu", lang="en")
    (found,) = get(platform, f"requests/{in_english}.json", lang="en").json()
    office = "Urban Management and Comprehensive Law Enforcement Bureau of Wuhou District, Chengdu"
    assert (found["agency_responsible"], found["service_name"]) == (office, "Damaged roads or public facilities")
    assert one(platform, in_english)["agency_responsible"] == "成都市武侯区城市管理和综合执法局"
    by_point = one(platform, created(platform, jurisdiction_id="", lat="39.9042", long="116.4074"))
    assert (by_point["lat"], by_point["long"]) == (39.9042, 116.4074)
    assert by_point["agency_responsible"] == "12345政务服务便民热线"
    by_id = one(platform, created(platform, address_id="ADDR-77"))
    assert by_id["address_id"] == "ADDR-77"


def test_a_json_body_is_accepted_too(platform: RunningPlatform) -> None:
    body = {"api_key": API_KEY, "service_code": "sanitation", "lat": 30.65, "long": 104.05, "jurisdiction_id": "510107"}
    answer = platform.post("/open311/v2/requests.json", json=body)
    assert answer.status_code == 201 and answer.json()[0]["service_request_id"].startswith("GD")


# GET service requests


def test_public_requests_never_show_the_reporter(platform: RunningPlatform) -> None:
    request_id = created(
        platform,
        description=f"我是{LAST}{FIRST}，电话{PHONE}，小区门口垃圾三天没人收。",
        first_name=FIRST,
        last_name=LAST,
        phone=PHONE,
        email=EMAIL,
        device_id="device-1",
        account_id="acct-7",
        media_url="https://img.example.cn/rubbish.jpg",
    )
    single = get(platform, f"requests/{request_id}.json")
    listed = get(platform, "requests.json", service_request_id=request_id)
    for answer in (single, listed, get(platform, f"requests/{request_id}.xml")):
        assert answer.status_code == 200
        for secret in (PHONE, EMAIL, LAST + FIRST, "device-1", "acct-7"):
            assert secret not in answer.text
    found = single.json()[0]
    assert "[phone]" in found["description"] and found["media_url"] == "https://img.example.cn/rubbish.jpg"
    whistle = one(platform, created(platform, description="某餐馆使用地沟油", **{"attribute[request_type]": "report"}))
    assert whistle["description"] is None


def test_status_is_open_until_closed_with_the_staff_notes(platform: RunningPlatform) -> None:
    request_id = created(platform)
    path = f"/api/v1/complaints/{request_id}/updates"
    assert platform.post(path, json={"status": "in_progress", "note": "已派人"}, headers=platform.staff).ok
    assert one(platform, request_id)["status"] == "open"
    assert one(platform, request_id)["status_notes"] == "已派人"
    assert platform.post(path, json={"status": "responded", "note": "已修复"}, headers=platform.staff).ok
    assert platform.post(path, json={"status": "closed", "note": "办结"}, headers=platform.staff).ok
    closed = one(platform, request_id)
    assert (closed["status"], closed["status_notes"]) == ("closed", "办结")
    assert closed["updated_datetime"] >= closed["requested_datetime"]  # both +08:00: text order is time order
    open_ids = {found["service_request_id"] for found in get(platform, "requests.json", status="open").json()}
    closed_ids = {found["service_request_id"] for found in get(platform, "requests.json", status="closed").json()}
    assert request_id in closed_ids and request_id not in open_ids
    both = get(platform, "requests.json", status="open,closed").json()
    assert request_id in {found["service_request_id"] for found in both}


def test_requests_are_filtered_by_id_code_date_and_region(platform: RunningPlatform) -> None:
    water = created(platform, service_code="water-supply", jurisdiction_id="110108")
    power = created(platform, service_code="power-supply", jurisdiction_id="510100")
    by_ids = get(platform, "requests.json", service_request_id=f"{water},{power}", service_code="noise")
    assert {found["service_request_id"] for found in by_ids.json()} == {water, power}  # ids override the rest
    by_code = get(platform, "requests.json", service_code="water-supply,power-supply").json()
    assert {water, power} <= {found["service_request_id"] for found in by_code}
    assert {found["service_code"] for found in by_code} <= {"water-supply", "power-supply"}
    in_sichuan = {
        found["service_request_id"] for found in get(platform, "requests.json", jurisdiction_id="510000").json()
    }
    assert power in in_sichuan and water not in in_sichuan
    now = datetime.now(timezone.utc)
    span = {
        "start_date": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (now + timedelta(hours=1)).isoformat(),
    }
    assert water in {found["service_request_id"] for found in get(platform, "requests.json", **span).json()}
    tomorrow = (now + timedelta(days=1)).astimezone(timezone(timedelta(hours=8))).isoformat(timespec="seconds")
    assert get(platform, "requests.json", start_date=tomorrow).json() == []
    listed = get(platform, "requests.json").json()
    times = [found["requested_datetime"] for found in listed]
    assert all(time.endswith("+08:00") for time in times) and times == sorted(times, reverse=True)


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "last week"},
        {"end_date": "2026-13-01T00:00:00Z"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # more than 90 days
        {"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"},
        {"status": "pending"},
        {"service_code": "potholes"},
        {"lang": "fr"},
    ],
)
def test_bad_filters_are_400s(platform: RunningPlatform, params: dict[str, str]) -> None:
    assert_error(get(platform, "requests.json", **params), 400)


def test_the_default_list_is_the_last_90_days_and_at_most_1000(platform: RunningPlatform) -> None:
    engine = make_engine(platform.database_url)
    long_ago = datetime.now(timezone.utc) - timedelta(days=120)
    try:
        old = insert(engine, "education", long_ago)
        recent = [insert(engine, "education", datetime.now(timezone.utc) - timedelta(minutes=n)) for n in range(3)]
    finally:
        engine.dispose()
    listed = {found["service_request_id"] for found in get(platform, "requests.json", service_code="education").json()}
    assert set(recent) <= listed and old not in listed
    window = {
        "start_date": (long_ago - timedelta(days=1)).isoformat(),
        "end_date": (long_ago + timedelta(days=1)).isoformat(),
    }
    assert [found["service_request_id"] for found in get(platform, "requests.json", **window).json()] == [old]
    assert_error(get(platform, "requests/GD20261126-ZZZZZZ.json"), 404)
    assert_error(get(platform, "requests/not-a-request.json"), 404)


def test_no_more_than_1000_requests_are_listed(platform: RunningPlatform) -> None:
    engine = make_engine(platform.database_url)
    now = datetime.now(timezone.utc)
    try:
        insert_many(engine, "healthcare", [now - timedelta(seconds=n) for n in range(1001)])
    finally:
        engine.dispose()
    assert len(get(platform, "requests.json", service_code="healthcare").json()) == 1000


def test_unknown_resources_formats_and_methods_are_spec_errors(platform: RunningPlatform) -> None:
    assert_error(get(platform, "requests.csv"), 400)
    assert_error(get(platform, "tokens/123.json"), 404)
    assert_error(get(platform, "nothing.json"), 404)
    assert_error(platform.post("/open311/v2/services.json"), 405)
    assert_error(requests.delete(platform.url + "/open311/v2/requests.json", timeout=10), 405)


# Configuration


def test_without_configured_keys_one_is_generated_privately(tmp_path: Path) -> None:
    settings = Settings.from_env({"ZW_VAR_DIR": str(tmp_path)})
    key_file = tmp_path / "open311-api-key"
    assert settings.open311_api_keys == (key_file.read_text().strip(),)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    configured = Settings.from_env({"ZW_VAR_DIR": str(tmp_path), "OPEN311_API_KEYS": "a, b,,"})
    assert configured.open311_api_keys == ("a", "b")


def insert(engine: Any, category: str, at: datetime) -> str:
    """A report filed at `at`, straight into the platform's database."""
    draft = complaint_draft(category=category, request_type="help", description="", channel="open311")
    dispatch = Dispatch("education", "510107", "county", "成都市武侯区教育局", "Education Bureau", office_today(at))
    complaint, _ = create_complaint(engine, draft, dispatch, None, None, "hash", at)
    return complaint.id


def insert_many(engine: Any, category: str, times: list[datetime]) -> None:
    """Bare reports (no updates) filed at `times`, in one transaction."""
    rows = [
        {
            "id": f"GD{office_today(at):%Y%m%d}-{n:06d}",
            "category": category,
            "request_type": "help",
            "description": "",
            "photo_urls": "[]",
            "channel": "open311",
            "lang": "zh",
            "department": "health_commission",
            "office_tier": "county",
            "office_zh": "成都市武侯区卫生健康局",
            "office_en": "Health Bureau of Wuhou District, Chengdu",
            "status": "dispatched",
            "round": 1,
            "response_due": office_today(at),
            "created_at": at,
            "updated_at": at,
        }
        for n, at in enumerate(times)
    ]
    with engine.begin() as conn:
        conn.execute(complaints_table.insert(), rows)
