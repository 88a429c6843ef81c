"""Applications and appointments over HTTP (CONTRACT.md §3), on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
import requests

from backend.catalogue.sources import read_holidays
from backend.procedure.appointments import SEATS_PER_SLOT, SLOT_TIMES, office_today
from backend.procedure.identity import check_character, mask_id_number
from backend.procedure.workdays import WorkCalendar
from tests.conftest import RunningPlatform


def id_number(first17: str) -> str:
    return first17 + check_character(first17)


ID_NUMBER = id_number("51010719850612345")
ID_NUMBER_X = id_number("11010519491231002")  # its check character is X
PHONE = "13987654321"
NAME = "欧阳晓梅"
GUANGAN_ITEM = "guangan-511Z07001006-511602000000-000-11511301008778183N-1-00"
UNKNOWN_ID = "ZW20261126-ABCDEF"


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.from_data(read_holidays())


def today() -> date:
    return office_today(datetime.now(timezone.utc))


def application(service_id: str = "passport", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": service_id,
        "region_code": "510107",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE},
        "delivery": "mail",
        "channel": "rest",
        "conversation_id": "conversation-1",
        "lang": "zh",
    }
    applicant = changes.pop("applicant", {})
    body.update(changes)
    if applicant is None:
        del body["applicant"]
    else:
        body["applicant"] = {**body["applicant"], **applicant}
    return body


def submit(platform: RunningPlatform, body: dict[str, Any], **headers: str) -> requests.Response:
    return platform.post("/api/v1/applications", json=body, headers=headers)


def check(platform: RunningPlatform, application_id: str, code: str) -> requests.Response:
    return platform.get(f"/api/v1/applications/{application_id}", headers={"X-Verify-Code": code})


def move(platform: RunningPlatform, application_id: str, status: str, note: str = "") -> requests.Response:
    body = {"status": status, "note": note}
    return platform.post(f"/api/v1/applications/{application_id}/transitions", json=body, headers=platform.staff)


def test_submitting_an_application_answers_201_with_the_applicant_masked(
    platform: RunningPlatform, calendar: WorkCalendar
) -> None:
    answer = submit(platform, application())
    assert answer.status_code == 201
    body = answer.json()
    assert body["application_id"].startswith(f"ZW{today():%Y%m%d}-")
    assert body["service_name"] == {"zh": "普通护照签发", "en": "Ordinary passport issuance"}
    assert (body["status"], body["stage"], body["delivery"], body["channel"]) == (
        "received",
        "reception",
        "mail",
        "rest",
    )
    assert body["expected_completion"] == calendar.add_working_days(today(), 7).isoformat()
    assert body["created_at"].endswith("Z")
    assert [(entry["status"], entry["stage"]) for entry in body["history"]] == [("received", "reception")]
    assert body["applicant"] == {"name": "欧***", "id_number": mask_id_number(ID_NUMBER), "phone": "139****4321"}
    assert "conversation_id" not in body


def test_a_lower_case_x_is_accepted_and_kept_upper_case(platform: RunningPlatform) -> None:
    answer = submit(platform, application(applicant={"id_number": ID_NUMBER_X.lower()}))
    assert answer.status_code == 201
    application_id = answer.json()["application_id"]
    staff_view = platform.get(f"/api/v1/applications/{application_id}", headers=platform.staff).json()
    assert staff_view["applicant"]["id_number"] == ID_NUMBER_X
    assert check(platform, application_id, "002x").status_code == 200


def test_an_item_due_the_same_day_is_due_today(platform: RunningPlatform) -> None:
    body = submit(platform, application("driving-licence-renewal", delivery="electronic")).json()
    assert body["expected_completion"] == today().isoformat()


WRONG_CHECKSUM = ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"service_id": "no-such-item"}, "unknown_service"),
        ({"region_code": "999999"}, "unknown_region"),
        ({"region_code": "Chengdu"}, "unknown_region"),
        ({"service_id": "marriage-registration"}, "not_online"),
        ({"service_id": GUANGAN_ITEM, "region_code": "511602"}, "not_online"),
        ({"delivery": "electronic"}, "delivery_not_offered"),
        ({"delivery": "pigeon"}, "invalid_delivery"),
        ({"applicant": {"id_number": WRONG_CHECKSUM}}, "invalid_id_number"),
        ({"applicant": {"id_number": id_number("51010720990612345")}}, "invalid_id_number"),
        ({"applicant": {"id_number": ID_NUMBER[:-2]}}, "invalid_id_number"),
        ({"applicant": {"id_number": 510107198506123450}}, "invalid_id_number"),
        ({"applicant": {"phone": "12987654321"}}, "invalid_phone"),
        ({"applicant": {"phone": None}}, "invalid_phone"),
        ({"applicant": {"name": ""}}, "invalid_name"),
        ({"applicant": {"name": "欧阳3"}}, "invalid_name"),
        ({"applicant": {"name": "欧" * 51}}, "invalid_name"),
        ({"applicant": {"name": "<script>"}}, "invalid_name"),
        ({"conversation_id": "c" * 201}, "invalid_conversation_id"),
        ({"channel": "c" * 33}, "invalid_channel"),
        ({"lang": "fr"}, "invalid_lang"),
        ({"conversation_id": "a\x00b"}, "invalid_conversation_id"),
        ({"conversation_id": 42}, "invalid_conversation_id"),
        ({"applicant": None}, "missing_applicant"),
        ({"service_id": None}, "missing_service_id"),
    ],
)
def test_bad_applications_are_refused_without_repeating_personal_data(
    platform: RunningPlatform, changes: dict[str, Any], code: str
) -> None:
    answer = submit(platform, application(**changes))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == code
    for secret in (ID_NUMBER, WRONG_CHECKSUM, PHONE, "12987654321", NAME):
        assert secret not in error["message"]


@pytest.mark.parametrize(("raw", "code"), [(b"not json", "invalid_json"), (b"[1, 2]", "invalid_body")])
def test_a_body_that_is_not_a_json_object_is_a_400(platform: RunningPlatform, raw: bytes, code: str) -> None:
    answer = platform.post("/api/v1/applications", data=raw, headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)


def test_the_same_idempotency_key_gives_the_same_application(platform: RunningPlatform) -> None:
    body = application("invoice-application", delivery="electronic")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: submit(platform, body, **{"Idempotency-Key": "key-1"}), range(4)))
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 201]
    assert len({answer.json()["application_id"] for answer in answers}) == 1
    listed = platform.get("/api/v1/applications", params={"service_id": "invoice-application"}, headers=platform.staff)
    assert listed.json()["total"] == 1
    other = submit(platform, {**body, "delivery": "mail"}, **{"Idempotency-Key": "key-1"})
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")


def test_the_right_code_shows_the_status_without_personal_data(platform: RunningPlatform) -> None:
    application_id = submit(platform, application()).json()["application_id"]
    answer = check(platform, application_id, ID_NUMBER[-4:])
    assert answer.status_code == 200
    body = answer.json()
    assert body["application_id"] == application_id and body["status"] == "received"
    assert "applicant" not in body and "conversation_id" not in body
    for secret in (ID_NUMBER, PHONE, NAME, mask_id_number(ID_NUMBER)):
        assert secret not in answer.text


def test_a_wrong_code_is_answered_alike_for_real_and_unknown_numbers(platform: RunningPlatform) -> None:
    application_id = submit(platform, application()).json()["application_id"]
    real = check(platform, application_id, "0000")
    unknown = check(platform, "ZW20261126-ZZZZZZ", "0000")
    malformed = check(platform, "not-an-application", "0000")
    assert real.status_code == unknown.status_code == malformed.status_code == 403
    assert real.json() == unknown.json() == malformed.json()
    assert real.json()["error"]["code"] == "verification_failed"


@pytest.mark.parametrize("typed", ["%00", quote("ZW\x00' OR 1=1 --", safe=""), "Z" * 300, "%E2%80%AE"])
def test_strange_application_numbers_are_just_wrong(platform: RunningPlatform, typed: str) -> None:
    answer = check(platform, typed, "0000")
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "verification_failed")
    staff_answer = platform.get(f"/api/v1/applications/{typed}", headers=platform.staff)
    assert staff_answer.status_code == 404


@pytest.mark.parametrize("known", [True, False])
def test_five_wrong_codes_lock_the_checks_even_for_the_right_code(platform: RunningPlatform, known: bool) -> None:
    application_id = submit(platform, application()).json()["application_id"] if known else UNKNOWN_ID
    assert [check(platform, application_id, "9999").status_code for _ in range(5)] == [403] * 5
    locked = check(platform, application_id, ID_NUMBER[-4:])
    assert (locked.status_code, locked.json()["error"]["code"]) == (429, "locked")
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    if known:
        staff_view = platform.get(f"/api/v1/applications/{application_id}", headers=platform.staff)
        assert staff_view.status_code == 200


def test_staff_need_no_code_and_see_everything(platform: RunningPlatform) -> None:
    application_id = submit(platform, application()).json()["application_id"]
    body = platform.get(f"/api/v1/applications/{application_id}", headers=platform.staff).json()
    assert body["applicant"] == {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE}
    assert body["conversation_id"] == "conversation-1"
    wrong = platform.get(f"/api/v1/applications/{application_id}", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "invalid_token")
    missing = platform.get(f"/api/v1/applications/{UNKNOWN_ID}", headers=platform.staff)
    assert missing.status_code == 404


def test_a_check_without_a_code_is_a_401(platform: RunningPlatform) -> None:
    application_id = submit(platform, application()).json()["application_id"]
    answer = platform.get(f"/api/v1/applications/{application_id}")
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "verification_required")


def test_staff_move_an_application_through_the_three_stages(platform: RunningPlatform) -> None:
    application_id = submit(platform, application()).json()["application_id"]
    for status in ("in_review", "approved", "ready_for_collection", "completed"):
        answer = move(platform, application_id, status, note=f"now {status}")
        assert answer.status_code == 200 and answer.json()["status"] == status
    body = check(platform, application_id, ID_NUMBER[-4:]).json()
    assert [(entry["status"], entry["stage"], entry["note"]) for entry in body["history"]] == [
        ("received", "reception", ""),
        ("in_review", "approval", "now in_review"),
        ("approved", "approval", "now approved"),
        ("ready_for_collection", "completion", "now ready_for_collection"),
        ("completed", "completion", "now completed"),
    ]
    assert body["stage"] == "completion"


def test_an_illegal_transition_is_a_409_naming_both_statuses(platform: RunningPlatform) -> None:
    application_id = submit(platform, application()).json()["application_id"]
    answer = move(platform, application_id, "completed")
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "illegal_transition")
    assert "received" in answer.json()["error"]["message"] and "completed" in answer.json()["error"]["message"]
    assert move(platform, application_id, "lost").status_code == 400
    assert move(platform, application_id, "in_review", note="n" * 501).status_code == 400
    assert move(platform, UNKNOWN_ID, "in_review").status_code == 404


def test_transitions_are_for_staff_only(platform: RunningPlatform) -> None:
    application_id = submit(platform, application()).json()["application_id"]
    path = f"/api/v1/applications/{application_id}/transitions"
    assert platform.post(path, json={"status": "in_review"}).status_code == 401
    assert platform.post(path, json={"status": "in_review"}, headers={"Authorization": "Bearer x"}).status_code == 403
    assert platform.get("/api/v1/applications").status_code == 401


def test_staff_list_applications_newest_first(platform: RunningPlatform) -> None:
    ids = [submit(platform, application("food-business-licence")).json()["application_id"] for _ in range(3)]
    move(platform, ids[0], "in_review")
    params = {"service_id": "food-business-licence"}
    listed = platform.get("/api/v1/applications", params=params, headers=platform.staff).json()
    assert listed["total"] == 3
    assert [found["application_id"] for found in listed["results"]] == ids[::-1]
    assert listed["results"][0]["applicant"]["id_number"] == ID_NUMBER
    in_review = platform.get("/api/v1/applications", params={**params, "status": "in_review"}, headers=platform.staff)
    assert [found["application_id"] for found in in_review.json()["results"]] == [ids[0]]
    page = platform.get("/api/v1/applications", params={**params, "limit": 1, "offset": 1}, headers=platform.staff)
    assert [found["application_id"] for found in page.json()["results"]] == [ids[1]]
    for bad in ({"status": "lost"}, {"service_id": "a\x00"}, {"offset": "-1"}, {"limit": "500"}):
        assert platform.get("/api/v1/applications", params=bad, headers=platform.staff).status_code == 400


# Appointments


def visit(service_id: str = "marriage-registration", **changes: Any) -> dict[str, Any]:
    body = {
        "service_id": service_id,
        "region_code": "510107",
        "date": "",
        "time": SLOT_TIMES[0],
        "applicant": {"name": NAME, "phone": PHONE},
        "conversation_id": "conversation-2",
    }
    return {**body, **changes}


def slots(platform: RunningPlatform, service_id: str, region: str = "510107", days: int = 5) -> dict[str, Any]:
    params = {"service_id": service_id, "region": region, "days": str(days)}
    answer = platform.get("/api/v1/appointments/slots", params=params)
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def test_slots_are_offered_on_the_next_working_days_only(platform: RunningPlatform, calendar: WorkCalendar) -> None:
    found = slots(platform, "foreigner-residence-permit", days=10)
    expected = calendar.working_days_from(today(), 10)
    assert [day["date"] for day in found["days"]] == [day.isoformat() for day in expected]
    assert all(calendar.is_working_day(date.fromisoformat(day["date"])) for day in found["days"])
    assert found["days"][0]["slots"] == [{"time": time, "available": SEATS_PER_SLOT} for time in SLOT_TIMES]
    assert len(slots(platform, "foreigner-residence-permit")["days"]) == 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"service_id": "passport", "region": "510107"}, "not_by_appointment"),
        ({"service_id": "nothing", "region": "510107"}, "unknown_service"),
        ({"service_id": "marriage-registration"}, "missing_region"),
        ({"service_id": "marriage-registration", "region": "510107", "days": "11"}, "invalid_days"),
        ({"service_id": GUANGAN_ITEM, "region": "510107"}, "not_offered_in_region"),
    ],
)
def test_bad_slot_questions_are_a_400(platform: RunningPlatform, params: dict[str, str], code: str) -> None:
    answer = platform.get("/api/v1/appointments/slots", params=params)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)


def test_booking_a_visit_takes_a_seat(platform: RunningPlatform, calendar: WorkCalendar) -> None:
    day = calendar.working_days_from(today(), 2)[1]
    answer = platform.post("/api/v1/appointments", json=visit(date=day.isoformat(), time=SLOT_TIMES[1]))
    assert answer.status_code == 201
    body = answer.json()
    assert body["appointment_id"].startswith(f"YY{today():%Y%m%d}-")
    assert (body["date"], body["time"], body["status"]) == (day.isoformat(), SLOT_TIMES[1], "booked")
    assert body["office"]["department"] == "成都市武侯区民政局婚姻登记处"
    assert body["applicant"] == {"name": "欧***", "phone": "139****4321"}
    taken = next(d for d in slots(platform, "marriage-registration")["days"] if d["date"] == day.isoformat())
    assert taken["slots"][1] == {"time": SLOT_TIMES[1], "available": SEATS_PER_SLOT - 1}


def test_a_local_item_is_booked_at_its_own_office(platform: RunningPlatform, calendar: WorkCalendar) -> None:
    day = calendar.working_days_from(today(), 1)[0].isoformat()
    answer = platform.post("/api/v1/appointments", json=visit(GUANGAN_ITEM, region_code="511602", date=day))
    assert answer.status_code == 201
    assert answer.json()["office"]["region_code"] == "511602"


def _first_day_off(calendar: WorkCalendar) -> date:
    return next(d for d in (today() + timedelta(days=n) for n in range(1, 31)) if not calendar.is_working_day(d))


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (lambda calendar: {"date": today().isoformat()}, "date_too_soon"),
        (lambda calendar: {"date": (today() - timedelta(days=3)).isoformat()}, "date_too_soon"),
        (lambda calendar: {"date": _first_day_off(calendar).isoformat()}, "not_a_working_day"),
        (lambda calendar: {"date": (today() + timedelta(days=31)).isoformat()}, "date_too_far"),
        (lambda calendar: {"date": "next monday"}, "invalid_date"),
        (lambda calendar: {"time": "08:00-09:00"}, "invalid_time"),
        (lambda calendar: {"applicant": {"name": NAME, "phone": "110"}}, "invalid_phone"),
        (lambda calendar: {"applicant": {"name": "A1", "phone": PHONE}}, "invalid_name"),
        (lambda calendar: {"service_id": "passport"}, "not_by_appointment"),
    ],
)
def test_bad_bookings_are_a_400(
    platform: RunningPlatform, calendar: WorkCalendar, changes: Callable[[WorkCalendar], dict[str, Any]], code: str
) -> None:
    body = visit(**{"date": calendar.working_days_from(today(), 1)[0].isoformat(), **changes(calendar)})
    answer = platform.post("/api/v1/appointments", json=body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)
    assert PHONE not in answer.text


def test_a_slot_never_takes_more_than_its_seats(platform: RunningPlatform, calendar: WorkCalendar) -> None:
    day = calendar.working_days_from(today(), 3)[2].isoformat()
    body = visit("divorce-registration", date=day, time=SLOT_TIMES[4])
    start = threading.Barrier(10)

    def book(_: int) -> requests.Response:
        start.wait()
        return platform.post("/api/v1/appointments", json=body)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(book, range(10)))
    assert sorted(answer.status_code for answer in answers) == [201] * SEATS_PER_SLOT + [409] * (10 - SEATS_PER_SLOT)
    assert {answer.json()["error"]["code"] for answer in answers if answer.status_code == 409} == {"slot_full"}
    full = next(d for d in slots(platform, "divorce-registration")["days"] if d["date"] == day)
    assert full["slots"][4]["available"] == 0


def test_a_repeated_booking_under_one_key_takes_one_seat(platform: RunningPlatform, calendar: WorkCalendar) -> None:
    day = calendar.working_days_from(today(), 4)[3].isoformat()
    body = visit(date=day, time=SLOT_TIMES[5])
    first = platform.post("/api/v1/appointments", json=body, headers={"Idempotency-Key": "visit-1"})
    again = platform.post("/api/v1/appointments", json=body, headers={"Idempotency-Key": "visit-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["appointment_id"] == again.json()["appointment_id"]
    taken = next(d for d in slots(platform, "marriage-registration")["days"] if d["date"] == day)
    assert taken["slots"][5]["available"] == SEATS_PER_SLOT - 1


def test_the_log_holds_no_personal_data(platform: RunningPlatform) -> None:
    log = platform.log()
    assert "Starting worker" in log
    for secret in (ID_NUMBER, ID_NUMBER_X, ID_NUMBER_X.lower(), PHONE, NAME):
        assert secret not in log
