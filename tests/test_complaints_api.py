"""Public problem reports over HTTP (CONTRACT.md §3), on SQLite and on PostgreSQL: filing
and dispatch to the right office, follow-up with a verification code, staff updates, the
reporter's rating, overdue reports, and the reporter told of each update in their
conversation. Routing and deadlines are also checked as the pure functions they are."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from backend.catalogue.catalogue import Catalogue
from backend.catalogue.sources import read_holidays
from backend.complaints.categories import ComplaintCodes, read_complaint_codes
from backend.complaints.lifecycle import TRANSITIONS, follow_up_hash, is_overdue
from backend.complaints.records import Dispatch, create_complaint, find_complaint
from backend.complaints.routing import DEPARTMENTS_BY_KIND, response_due, route
from backend.notify import COMPLAINT_UPDATED_INTENT
from backend.procedure.appointments import office_today
from backend.procedure.workdays import WorkCalendar
from backend.store import make_engine
from tests.conftest import POSTGRES_URL, FakeRasa, RunningPlatform, complaint_draft, fresh_engine, wait_for
from tools.stack import free_port

PHONE = "13987654321"
NAME = "欧阳晓梅"
UNKNOWN_ID = "GD20261126-ABCDEF"
RASA_TOKEN = "rasa-token-for-complaints"


@pytest.fixture(scope="module")
def codes() -> ComplaintCodes:
    return read_complaint_codes()


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.from_data(read_holidays())


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa(free_port()).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, rasa: FakeRasa
) -> Iterator[RunningPlatform]:
    var_dir = tmp_path_factory.mktemp(f"complaints-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{var_dir / 'platform.db'}"
    else:
        fresh_engine(POSTGRES_URL).dispose()
        url = POSTGRES_URL
    env = {"RASA_URL": f"http://127.0.0.1:{rasa.port}", "RASA_AUTH_TOKEN": RASA_TOKEN}
    running = RunningPlatform(url, var_dir, env=env)
    yield running
    running.stop()


def today() -> date:
    return office_today(datetime.now(timezone.utc))


def report(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "road-damage",
        "request_type": "help",
        "description": "武侯祠大街人行道塌陷，有人差点摔倒。",
        "location": {"region_code": "510107", "address": "武侯祠大街231号", "lat": 30.645, "long": 104.047},
        "occurred_at": "2026-11-20T08:30:00+08:00",
        "photo_urls": ["https://img.example.cn/a.jpg"],
        "contact": {"name": NAME, "phone": PHONE},
        "channel": "rest",
        "conversation_id": None,
        "lang": "zh",
    }
    body.update(changes)
    return body


def file(platform: RunningPlatform, body: dict[str, Any], **headers: str) -> requests.Response:
    return platform.post("/api/v1/complaints", json=body, headers=headers)


def filed(platform: RunningPlatform, **changes: Any) -> dict[str, Any]:
    answer = file(platform, report(**changes))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def check(platform: RunningPlatform, complaint_id: str, code: str) -> requests.Response:
    return platform.get(f"/api/v1/complaints/{complaint_id}", headers={"X-Verify-Code": code})


def staff_get(platform: RunningPlatform, complaint_id: str) -> dict[str, Any]:
    answer = platform.get(f"/api/v1/complaints/{complaint_id}", headers=platform.staff)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def update(platform: RunningPlatform, complaint_id: str, status: str, note: str = "") -> requests.Response:
    path = f"/api/v1/complaints/{complaint_id}/updates"
    return platform.post(path, json={"status": status, "note": note}, headers=platform.staff)


def rate(platform: RunningPlatform, complaint_id: str, code: str, rating: str, comment: str = "") -> requests.Response:
    body = {"rating": rating, "comment": comment}
    path = f"/api/v1/complaints/{complaint_id}/satisfaction"
    return platform.post(path, json=body, headers={"X-Verify-Code": code})


def responded(platform: RunningPlatform, **changes: Any) -> str:
    complaint_id: str = filed(platform, **changes)["complaint_id"]
    assert update(platform, complaint_id, "in_progress", "已到现场").status_code == 200
    assert update(platform, complaint_id, "responded", "已修复").status_code == 200
    return complaint_id


# Routing and deadlines, pure


def test_every_category_routes_to_a_department_named_at_every_tier(catalogue: Catalogue, codes: ComplaintCodes) -> None:
    assert set(codes.categories) >= {"noise", "road-damage", "other"} and len(codes.categories) == 19
    for category in codes.categories.values():
        for key in DEPARTMENTS_BY_KIND[category.department_kind]:
            assert key in catalogue.departments, (category.code, key)
        for region_code in ("510107", "510100", "510000", "110108", "110000", "419001"):
            routing = route(category, catalogue.regions.get(region_code), catalogue.departments, catalogue.regions)
            assert routing.office.name["zh"] and routing.office.name["en"]
            assert "{" not in routing.office.name["zh"] + routing.office.name["en"]


def test_a_county_report_goes_to_the_county_office_and_a_city_report_to_the_city(
    catalogue: Catalogue, codes: ComplaintCodes
) -> None:
    road = codes.categories["road-damage"]
    county = route(road, catalogue.regions.get("510107"), catalogue.departments, catalogue.regions)
    assert (county.department, county.office.region and county.office.region.code) == ("urban_management", "510107")
    assert county.office.name["zh"] == "成都市武侯区城市管理和综合执法局"
    city = route(
        codes.categories["traffic-parking"], catalogue.regions.get("510100"), catalogue.departments, catalogue.regions
    )
    assert city.office.tier == "city" and city.office.name["zh"] == "成都市公安局交通警察支队"
    district = route(
        codes.categories["water-supply"], catalogue.regions.get("110108"), catalogue.departments, catalogue.regions
    )
    assert district.office.name["zh"] == "北京市自来水集团海淀区供水服务中心"
    unknown = route(road, None, catalogue.departments, catalogue.regions)
    assert unknown.department == "hotline_12345" and unknown.office.region is None


def test_response_deadlines_count_working_days_across_a_holiday(calendar: WorkCalendar, codes: ComplaintCodes) -> None:
    holiday = min(day for day in calendar.days_off if day.weekday() < 5 and day.year >= 2026)
    eve = holiday - timedelta(days=1)
    for request_type in codes.request_types.values():
        due = response_due(calendar, eve, request_type)
        assert due == calendar.add_working_days(eve, request_type.response_working_days)
        weekdays_only = WorkCalendar(frozenset(), frozenset(), frozenset()).add_working_days(
            eve, request_type.response_working_days
        )
        assert due > weekdays_only  # the holiday pushed it back


def test_overdue_means_past_the_response_day_and_not_answered() -> None:
    day = date(2026, 12, 1)
    assert is_overdue("in_progress", day, day + timedelta(days=1))
    assert not is_overdue("in_progress", day, day)
    assert not is_overdue("responded", day, day + timedelta(days=9))
    assert not is_overdue("closed", day, day + timedelta(days=9))
    assert TRANSITIONS["closed"] == frozenset()


# Filing


def test_filing_dispatches_the_report_at_once_to_the_county_office(
    platform: RunningPlatform, calendar: WorkCalendar
) -> None:
    body = filed(platform)
    assert body["complaint_id"].startswith(f"GD{today():%Y%m%d}-") and len(body["complaint_id"]) == 17
    assert (body["category"], body["request_type"], body["status"]) == ("road-damage", "help", "dispatched")
    assert body["category_name"] == {"zh": "道路及市政设施损坏", "en": "Damaged roads or public facilities"}
    assert body["response_due"] == calendar.add_working_days(today(), 10).isoformat()
    assert body["office"]["region_code"] == "510107"
    assert body["office"]["department"] == "成都市武侯区城市管理和综合执法局"
    assert [(entry["status"], entry["note"]) for entry in body["updates"]] == [
        ("open", "已受理"),
        ("dispatched", "已派单至成都市武侯区城市管理和综合执法局"),
    ]
    assert body["contact"] == {"name": "欧***", "phone": "139****4321"}
    assert "follow_up_code" not in body and "description" not in body and body["overdue"] is False


def test_a_city_report_goes_to_the_city_office_in_english(platform: RunningPlatform) -> None:
    body = filed(platform, category="food-safety", location={"region_code": "510100"}, lang="en")
    assert body["office"]["region_code"] == "510100" and body["office"]["tier"] == "city"
    assert body["office"]["department"] == "Chengdu Administration for Market Regulation"
    assert body["office"]["department_alt"] == "成都市市场监督管理局"
    assert body["updates"][-1]["note"] == "Dispatched to Chengdu Administration for Market Regulation"


def test_each_request_type_is_due_after_its_working_days(
    platform: RunningPlatform, calendar: WorkCalendar, codes: ComplaintCodes
) -> None:
    for request_type in codes.request_types.values():
        body = filed(platform, request_type=request_type.code)
        expected = calendar.add_working_days(today(), request_type.response_working_days)
        assert body["response_due"] == expected.isoformat(), request_type.code


def test_an_anonymous_reporter_follows_up_with_the_code_given_once(platform: RunningPlatform) -> None:
    body = filed(platform, contact=None)
    code = body["follow_up_code"]
    assert len(code) == 4 and code.isdigit() and body["contact"] is None
    answer = check(platform, body["complaint_id"], code)
    assert answer.status_code == 200 and "follow_up_code" not in answer.json()
    staff = staff_get(platform, body["complaint_id"])
    assert staff["anonymous"] is True and staff["contact"] is None and code not in str(staff["updates"])
    wrong = "0000" if code != "0000" else "1111"
    assert check(platform, body["complaint_id"], wrong).status_code == 403
    named_only = filed(platform, contact={"name": NAME})
    assert len(named_only["follow_up_code"]) == 4


def test_a_reporter_with_a_phone_follows_up_with_its_last_four_digits(platform: RunningPlatform) -> None:
    body = filed(platform, contact={"name": NAME, "phone": "+86 139-8765-4321"})
    answer = check(platform, body["complaint_id"], PHONE[-4:])
    assert answer.status_code == 200
    view = answer.json()
    assert view["complaint_id"] == body["complaint_id"] and view["status"] == "dispatched"
    assert set(view) >= {"category", "request_type", "response_due", "overdue", "office", "updates"}
    assert "contact" not in view and "description" not in view and "location" not in view
    for secret in (PHONE, NAME, "139****4321", "武侯祠大街231号"):
        assert secret not in answer.text
    landline = filed(platform, contact={"phone": "028-8555 1234"})
    assert check(platform, landline["complaint_id"], "1234").status_code == 200


def test_a_wrong_code_is_answered_alike_for_real_and_unknown_numbers(platform: RunningPlatform) -> None:
    complaint_id = filed(platform)["complaint_id"]
    real = check(platform, complaint_id, "0000")
    unknown = check(platform, "GD20261126-ZZZZZZ", "0000")
    malformed = check(platform, "not-a-report", "0000")
    application = check(platform, "ZW20261126-ZZZZZZ", "0000")
    assert real.status_code == unknown.status_code == malformed.status_code == application.status_code == 403
    assert real.json() == unknown.json() == malformed.json() == application.json()
    assert real.json()["error"]["code"] == "verification_failed"
    missing = platform.get(f"/api/v1/complaints/{complaint_id}")
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "verification_required")


@pytest.mark.parametrize("known", [True, False])
def test_five_wrong_codes_lock_the_follow_up_even_for_the_right_code(platform: RunningPlatform, known: bool) -> None:
    complaint_id = filed(platform)["complaint_id"] if known else UNKNOWN_ID
    assert [check(platform, complaint_id, "9999").status_code for _ in range(5)] == [403] * 5
    locked = check(platform, complaint_id, PHONE[-4:])
    assert (locked.status_code, locked.json()["error"]["code"]) == (429, "locked")
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    rating = rate(platform, complaint_id, PHONE[-4:], "satisfied")
    assert rating.status_code == 429
    if known:
        assert staff_get(platform, complaint_id)["status"] == "dispatched"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"category": "potholes"}, "unknown_category"),
        ({"category": None}, "missing_category"),
        ({"request_type": "rant"}, "unknown_request_type"),
        ({"description": ""}, "missing_description"),
        ({"description": "坑" * 4001}, "invalid_description"),
        ({"description": "a\x00b"}, "invalid_description"),
        ({"location": None}, "missing_location"),
        ({"location": {"region_code": "999999"}}, "unknown_region"),
        ({"location": {"region_code": "810000"}}, "region_not_served"),
        ({"location": {"region_code": "510107", "lat": 48.85, "long": 2.35}}, "location_outside_china"),
        ({"location": {"region_code": "510107", "lat": 30.6}}, "invalid_location"),
        ({"location": {"region_code": "510107", "address": "x" * 301}}, "invalid_address"),
        ({"photo_urls": ["https://img.example.cn/a.jpg"] * 6}, "invalid_photo_urls"),
        ({"photo_urls": ["javascript:alert(1)"]}, "invalid_photo_urls"),
        ({"photo_urls": "https://img.example.cn/a.jpg"}, "invalid_photo_urls"),
        ({"occurred_at": "yesterday"}, "invalid_occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "invalid_occurred_at"),
        ({"contact": {"phone": "12345"}}, "invalid_phone"),
        ({"contact": {"name": "欧阳3", "phone": PHONE}}, "invalid_name"),
        ({"contact": "anonymous"}, "invalid_contact"),
        ({"lang": "fr"}, "invalid_lang"),
    ],
)
def test_bad_reports_are_refused_without_repeating_personal_data(
    platform: RunningPlatform, changes: dict[str, Any], code: str
) -> None:
    answer = file(platform, report(**changes))
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert "12345" not in error["message"] and "欧阳3" not in error["message"]


def test_a_description_of_4000_characters_is_accepted(platform: RunningPlatform) -> None:
    body = filed(platform, description="坑" * 4000, photo_urls=None, occurred_at=None)
    assert len(staff_get(platform, body["complaint_id"])["description"]) == 4000


def test_the_same_idempotency_key_files_once_and_renews_an_anonymous_code(platform: RunningPlatform) -> None:
    body = report(contact=None, category="sanitation")
    first = file(platform, body, **{"Idempotency-Key": "report-1"})
    again = file(platform, body, **{"Idempotency-Key": "report-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    complaint_id = first.json()["complaint_id"]
    assert again.json()["complaint_id"] == complaint_id
    assert check(platform, complaint_id, again.json()["follow_up_code"]).status_code == 200
    other = file(platform, {**body, "description": "另一件事"}, **{"Idempotency-Key": "report-1"})
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")


# Staff


def test_staff_see_everything_and_the_office_works_the_report_through(platform: RunningPlatform) -> None:
    complaint_id = filed(platform)["complaint_id"]
    staff = staff_get(platform, complaint_id)
    assert staff["contact"] == {"name": NAME, "phone": PHONE, "email": None}
    assert staff["location"] == {
        "region_code": "510107",
        "address": "武侯祠大街231号",
        "address_id": None,
        "lat": 30.645,
        "long": 104.047,
    }
    assert staff["occurred_at"] == "2026-11-20T00:30:00Z" and staff["photo_urls"] == ["https://img.example.cn/a.jpg"]
    assert (staff["round"], staff["overdue"], staff["anonymous"]) == (1, False, False)
    for status in ("in_progress", "responded", "closed"):
        answer = update(platform, complaint_id, status, note=f"now {status}")
        assert answer.status_code == 200 and answer.json()["status"] == status
    view = check(platform, complaint_id, PHONE[-4:]).json()
    assert [entry["status"] for entry in view["updates"]] == [
        "open",
        "dispatched",
        "in_progress",
        "responded",
        "closed",
    ]
    assert view["updates"][-1]["note"] == "now closed"


@pytest.mark.parametrize(
    ("path", "status", "note", "expected"),
    [
        ([], "open", "", 409),
        ([], "dispatched", "", 409),
        (["in_progress"], "dispatched", "", 409),
        (["in_progress"], "in_progress", "", 409),
        (["responded"], "in_progress", "", 409),
        (["responded", "closed"], "responded", "", 409),
        (["responded", "closed"], "closed", "again", 409),
        (["responded", "closed"], "closed", "", 409),
        ([], "closed", "", 400),
        ([], "closed", "重复件，已合并至另一诉求", 200),
        (["in_progress"], "closed", "非本市管辖", 200),
        (["responded"], "closed", "", 200),
        ([], "lost", "", 400),
    ],
)
def test_only_the_12345_flow_is_allowed(
    platform: RunningPlatform, path: list[str], status: str, note: str, expected: int
) -> None:
    complaint_id = filed(platform)["complaint_id"]
    for step in path:
        assert update(platform, complaint_id, step, note="步骤").status_code == 200
    answer = update(platform, complaint_id, status, note)
    assert answer.status_code == expected, answer.text
    if expected == 409:
        assert answer.json()["error"]["code"] == "illegal_transition"


def test_updates_are_for_staff_only(platform: RunningPlatform) -> None:
    complaint_id = filed(platform)["complaint_id"]
    path = f"/api/v1/complaints/{complaint_id}/updates"
    assert platform.post(path, json={"status": "in_progress"}).status_code == 401
    assert platform.post(path, json={"status": "in_progress"}, headers={"Authorization": "Bearer x"}).status_code == 403
    assert update(platform, UNKNOWN_ID, "in_progress").status_code == 404
    assert update(platform, complaint_id, "in_progress", note="n" * 501).status_code == 400
    assert platform.get(f"/api/v1/complaints/{UNKNOWN_ID}", headers=platform.staff).status_code == 404
    assert platform.get("/api/v1/complaints").status_code == 401


# The reporter's rating


def test_a_satisfied_reporter_closes_the_report(platform: RunningPlatform) -> None:
    complaint_id = responded(platform)
    answer = rate(platform, complaint_id, PHONE[-4:], "basically_satisfied", comment="修得还行")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "closed" and body["satisfaction"]["rating"] == "basically_satisfied"
    assert "comment" not in body["satisfaction"]
    assert body["updates"][-1]["status"] == "closed" and "基本满意" in body["updates"][-1]["note"]
    assert staff_get(platform, complaint_id)["satisfaction"]["comment"] == "修得还行"
    again = rate(platform, complaint_id, PHONE[-4:], "satisfied")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_responded")


def test_a_dissatisfied_reporter_reopens_the_report_for_a_new_round(
    platform: RunningPlatform, calendar: WorkCalendar
) -> None:
    complaint_id = responded(platform, request_type="complaint")
    answer = rate(platform, complaint_id, PHONE[-4:], "dissatisfied", comment="坑还在")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "in_progress" and body["satisfaction"]["rating"] == "dissatisfied"
    assert body["updates"][-1]["status"] == "in_progress" and "不满意" in body["updates"][-1]["note"]
    assert body["response_due"] == calendar.add_working_days(today(), 15).isoformat()
    staff = staff_get(platform, complaint_id)
    assert staff["round"] == 2 and staff["updates"][-1]["round"] == 2 and staff["updates"][-2]["round"] == 1
    assert update(platform, complaint_id, "responded", "已再次处理").status_code == 200
    assert rate(platform, complaint_id, PHONE[-4:], "satisfied").json()["status"] == "closed"


def test_a_rating_needs_a_response_a_known_rating_and_the_right_code(platform: RunningPlatform) -> None:
    waiting = filed(platform)["complaint_id"]
    early = rate(platform, waiting, PHONE[-4:], "satisfied")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_responded")
    complaint_id = responded(platform)
    assert rate(platform, complaint_id, "0000", "satisfied").status_code == 403
    assert rate(platform, complaint_id, PHONE[-4:], "meh").status_code == 400
    assert (
        rate(platform, "GD20261126-RATE22", PHONE[-4:], "satisfied").json()
        == rate(platform, complaint_id, "0000", "satisfied").json()
    )


# Lists and overdue reports


def insert_overdue(platform: RunningPlatform, calendar: WorkCalendar, category: str) -> str:
    """A report filed 40 days ago, straight into the platform's database."""
    long_ago = datetime.now(timezone.utc) - timedelta(days=40)
    draft = complaint_draft(
        category=category, request_type="consultation", description="早已到期的诉求", channel="rest"
    )
    dispatch = Dispatch(
        department="education",
        office_region_code="510107",
        office_tier="county",
        office_zh="成都市武侯区教育局",
        office_en="Education Bureau of Wuhou District, Chengdu",
        response_due=calendar.add_working_days(office_today(long_ago), 2),
    )
    engine = make_engine(platform.database_url)
    try:
        complaint, _ = create_complaint(engine, draft, dispatch, None, None, "hash", long_ago)
    finally:
        engine.dispose()
    return complaint.id


def test_a_report_past_its_response_day_is_flagged_overdue(platform: RunningPlatform, calendar: WorkCalendar) -> None:
    late = insert_overdue(platform, calendar, "education")
    answered = insert_overdue(platform, calendar, "education")
    assert update(platform, answered, "responded", "已答复").status_code == 200
    fresh = filed(platform, category="education")["complaint_id"]
    assert staff_get(platform, late)["overdue"] is True
    assert check(platform, late, PHONE[-4:]).json()["overdue"] is True
    assert staff_get(platform, answered)["overdue"] is False
    params = {"category": "education", "overdue": "true"}
    overdue = platform.get("/api/v1/complaints", params=params, headers=platform.staff).json()
    assert [found["complaint_id"] for found in overdue["results"]] == [late]
    params["overdue"] = "false"
    on_time = platform.get("/api/v1/complaints", params=params, headers=platform.staff).json()
    assert {found["complaint_id"] for found in on_time["results"]} == {answered, fresh}


def test_staff_list_reports_newest_first(platform: RunningPlatform) -> None:
    ids = [filed(platform, category="healthcare")["complaint_id"] for _ in range(3)]
    update(platform, ids[0], "in_progress")
    params = {"category": "healthcare"}
    listed = platform.get("/api/v1/complaints", params=params, headers=platform.staff).json()
    assert listed["total"] == 3 and [found["complaint_id"] for found in listed["results"]] == ids[::-1]
    assert listed["results"][0]["contact"]["phone"] == PHONE
    busy = platform.get("/api/v1/complaints", params={**params, "status": "in_progress"}, headers=platform.staff)
    assert [found["complaint_id"] for found in busy.json()["results"]] == [ids[0]]
    page = platform.get("/api/v1/complaints", params={**params, "limit": 1, "offset": 1}, headers=platform.staff)
    assert [found["complaint_id"] for found in page.json()["results"]] == [ids[1]]
    for bad in ({"status": "lost"}, {"category": "x"}, {"overdue": "yes"}, {"offset": "-1"}, {"limit": "500"}):
        assert platform.get("/api/v1/complaints", params=bad, headers=platform.staff).status_code == 400


# Telling the reporter


def test_each_update_is_told_in_the_conversation_exactly_once(platform: RunningPlatform, rasa: FakeRasa) -> None:
    conversation = f"wechat:o6_report@{urlsplit(platform.url).port}"
    complaint_id = filed(platform, conversation_id=conversation)["complaint_id"]
    assert update(platform, complaint_id, "in_progress", "已派人核查").status_code == 200
    assert update(platform, complaint_id, "responded", "已修复完毕").status_code == 200
    wait_for(lambda: len(rasa.calls_for(conversation)) == 2)
    time.sleep(2.5)  # a further retry pass would have sent them again by now
    calls = rasa.calls_for(conversation)
    assert [call.body for call in calls] == [
        {
            "name": COMPLAINT_UPDATED_INTENT,
            "entities": {"complaint_id": complaint_id, "status": "in_progress", "note": "已派人核查"},
        },
        {
            "name": COMPLAINT_UPDATED_INTENT,
            "entities": {"complaint_id": complaint_id, "status": "responded", "note": "已修复完毕"},
        },
    ]
    assert calls[0].query == {"output_channel": ["latest"], "token": [RASA_TOKEN]}
    rate(platform, complaint_id, PHONE[-4:], "satisfied")
    time.sleep(0.5)
    assert len(rasa.calls_for(conversation)) == 2  # the reporter's own rating is not told back


def test_the_follow_up_code_is_kept_only_as_a_hash(platform: RunningPlatform) -> None:
    body = filed(platform, contact=None, category="pollution")
    engine = make_engine(platform.database_url)
    try:
        stored = find_complaint(engine, body["complaint_id"])
    finally:
        engine.dispose()
    assert stored is not None and stored.follow_up_hash == follow_up_hash(body["complaint_id"], body["follow_up_code"])
    assert body["follow_up_code"] not in (stored.follow_up_hash or "")


def test_the_log_holds_no_personal_data(platform: RunningPlatform) -> None:
    log = platform.log()
    for secret in (PHONE, NAME, RASA_TOKEN):
        assert secret not in log


def test_the_openapi_document_describes_reports(platform: RunningPlatform) -> None:
    document = platform.get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/complaints",
        "/api/v1/complaints/{id}",
        "/api/v1/complaints/{id}/updates",
        "/api/v1/complaints/{id}/satisfaction",
    } <= set(document["paths"])
    assert {"NewComplaint", "ComplaintReceipt", "ComplaintStatus", "StaffComplaint"} <= set(
        document["components"]["schemas"]
    )
