"""Reception, appointments, status checks and notices, end to end over REST: the real
platform, action server and Rasa server, in both languages (CONTRACT.md §2–3).

The last test reads every file the stack wrote (tracker store, logs) for the personal
details used here: none may appear.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from backend.catalogue import sources
from backend.procedure.appointments import office_today
from backend.procedure.workdays import WorkCalendar
from tools.stack import Stack
from tools.train import ensure_model

# Valid ID numbers (checksums computed with backend.procedure.identity.check_character).
ID_ZH = "11010519491231002X"
ID_EN = "440304198511023184"
ID_BAD_CHECKSUM = "110105194912310021"
ID_BAD_DATE = "110105194913310028"
PHONE_ZH = "13912345678"
PHONE_ZH_FIXED = "13698765432"
PHONE_EN = "13611112222"
PHONE_BOOKING = "13788889999"
NAMES = ("赵一鸣", "Anna Schmidt", "孙悦", "钱多多")
PERSONAL = (ID_ZH, ID_ZH.lower(), ID_EN, PHONE_ZH, PHONE_ZH_FIXED, PHONE_EN, PHONE_BOOKING, *NAMES)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(Path(tmp_path_factory.mktemp("reception")), ensure_model()) as running:
        yield running


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.from_data(sources.read_holidays())


def today_at_the_offices() -> date:
    return office_today(datetime.now(timezone.utc))


def customs(answers: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [a["custom"] for a in answers if (a.get("custom") or {}).get("type") == kind]


def texts(answers: list[dict[str, Any]]) -> str:
    return "\n".join(a.get("text") or "" for a in answers)


def staff(stack: Stack) -> dict[str, str]:
    token = (stack.var_dir / "staff-token").read_text().strip()
    return {"Authorization": f"Bearer {token}"}


def platform_url(stack: Stack) -> str:
    return stack.processes["platform"].url


def service_view(stack: Stack, service_id: str, region: str) -> dict[str, Any]:
    answer = requests.get(f"{platform_url(stack)}/api/v1/services/{service_id}", params={"region": region}, timeout=10)
    body: dict[str, Any] = answer.json()
    return body


def answer_eligibility(stack: Stack, sender: str, service: dict[str, Any], yes: str) -> list[dict[str, Any]]:
    """Says yes to each eligibility question; the answers to the last one."""
    answers: list[dict[str, Any]] = []
    for _ in service.get("eligibility_questions") or []:
        answers = stack.say(sender, yes)
    return answers


STEPS = {
    "zh": [
        ("card", "在成都武侯区开小吃店要办食品经营许可吗"),
        ("apply", "我要在线申请"),
        ("eligibility", "是"),
        ("materials", "齐了"),
        ("name", NAMES[3]),  # 钱 is a surname, not a question about money
        ("id_number", ID_ZH),
        ("phone", PHONE_ZH),
        ("delivery", "窗口领取"),
    ],
    "en": [
        ("card", "I need a food business licence in Wuhou, Chengdu"),
        ("apply", "apply for it now please"),
        ("eligibility", "yes"),
        ("materials", "yes"),
        ("name", NAMES[1]),
        ("id_number", ID_EN),
        ("phone", PHONE_EN),
        ("delivery", "collect at the window"),
    ],
}


def walk(stack: Stack, sender: str, lang: str, through: str) -> list[dict[str, Any]]:
    """Answers the application form correctly up to and including the step `through`."""
    questions = len(service_view(stack, "food-business-licence", "510107").get("eligibility_questions") or [])
    answers: list[dict[str, Any]] = []
    for step, message in STEPS[lang]:
        for _ in range(questions if step == "eligibility" else 1):
            answers = stack.say(sender, message)
        if step == through:
            return answers
    raise ValueError(through)


def apply_until_summary_zh(stack: Stack, sender: str) -> list[dict[str, Any]]:
    answers = stack.say(sender, "在成都武侯区开小吃店要办食品经营许可吗")
    assert customs(answers, "service_card")[0]["service"]["id"] == "food-business-licence"
    answers = stack.say(sender, "行，那就帮我把申请递上去")
    service = service_view(stack, "food-business-licence", "510107")
    if service.get("eligibility_questions"):
        assert service["eligibility_questions"][0] in texts(answers)
        answers = answer_eligibility(stack, sender, service, "是的")
    assert "食品经营许可申请书" in texts(answers), "the materials checklist follows"
    assert "申请人的姓名" in texts(stack.say(sender, "材料都齐了"))
    assert "身份证号码" in texts(stack.say(sender, NAMES[0]))
    assert "手机号码" in texts(stack.say(sender, ID_ZH.lower()))
    answers = stack.say(sender, PHONE_ZH)
    assert "电子证照" in texts(answers), "the delivery methods the item offers are listed"
    return stack.say(sender, "电子证照就行")


def test_full_application_in_chinese_with_a_correction_at_the_summary(stack: Stack, calendar: WorkCalendar) -> None:
    summary = texts(apply_until_summary_zh(stack, "apply-zh"))
    assert "1101**********002X" in summary and "139****5678" in summary and "赵**" in summary
    assert ID_ZH not in summary and PHONE_ZH not in summary
    assert "手机号码" in texts(stack.say("apply-zh", "手机号填错了，我改一下"))
    summary = texts(stack.say("apply-zh", PHONE_ZH_FIXED))
    assert "136****5432" in summary and "请核对申请信息" in summary
    answers = stack.say("apply-zh", "核对无误，提交吧")
    receipt = customs(answers, "application_receipt")[0]
    assert receipt["service_id"] == "food-business-licence" and receipt["status"] == "received"
    promised = service_view(stack, "food-business-licence", "510107")["time_limit_days"]
    assert receipt["expected_completion"] == calendar.add_working_days(today_at_the_offices(), promised).isoformat()
    assert receipt["application_id"] in texts(answers) and receipt["expected_completion"] in texts(answers)
    stored = requests.get(
        f"{platform_url(stack)}/api/v1/applications/{receipt['application_id']}", headers=staff(stack), timeout=10
    ).json()
    assert stored["applicant"] == {"name": NAMES[0], "id_number": ID_ZH, "phone": PHONE_ZH_FIXED}
    assert stored["delivery"] == "electronic" and stored["conversation_id"] == "apply-zh"
    slots = tracker_slots(stack, "apply-zh")
    assert all(slots.get(slot) is None for slot in ("applicant_name", "id_number", "phone", "application_service"))
    assert slots["last_application_id"] == receipt["application_id"]


def test_full_application_in_english(stack: Stack) -> None:
    sender = "apply-en"
    stack.say(sender, "I need a food business licence for a snack bar in Wuhou, Chengdu")
    answers = stack.say(sender, "great, please file the application for me now")
    service = service_view(stack, "food-business-licence", "510107")
    answers = answer_eligibility(stack, sender, service, "yes") or answers
    assert "Food business licence application form" in texts(answers)
    assert "full name" in texts(stack.say(sender, "yes I have all of them"))
    assert "ID number" in texts(stack.say(sender, NAMES[1]))
    assert "mobile number" in texts(stack.say(sender, ID_EN))
    assert "How would you like to receive" in texts(stack.say(sender, PHONE_EN))
    summary = texts(stack.say(sender, "I'll pick it up at the window"))
    assert "Please check your application" in summary and "4403**********3184" in summary
    answers = stack.say(sender, "all correct, send it")
    receipt = customs(answers, "application_receipt")[0]
    assert "Your application is submitted" in texts(answers) and receipt["application_id"].startswith("ZW")


@pytest.mark.parametrize(
    ("bad_id", "explanation"),
    [(ID_BAD_CHECKSUM, "校验位"), (ID_BAD_DATE, "出生日期"), ("1101051949", "18位")],
)
def test_invalid_id_number_is_explained_and_asked_again(stack: Stack, bad_id: str, explanation: str) -> None:
    sender = f"bad-id-{bad_id}"
    assert "身份证号码" in texts(walk(stack, sender, "zh", through="name"))
    assert explanation in texts(stack.say(sender, bad_id))
    assert "手机号码" in texts(stack.say(sender, ID_ZH)), "a valid number then moves on"


def test_invalid_phone_is_explained_in_english_and_asked_again(stack: Stack) -> None:
    walk(stack, "bad-phone-en", "en", through="id_number")
    assert "11 digits" in texts(stack.say("bad-phone-en", "12345"))
    assert "How would you like to receive" in texts(stack.say("bad-phone-en", PHONE_EN))


def test_cancel_then_resume_where_it_stopped(stack: Stack) -> None:
    sender = "cancel-resume"
    walk(stack, sender, "zh", through="name")
    assert "继续办理" in texts(stack.say(sender, "先不办了，我再想想"))
    assert "120元" in texts(stack.say(sender, "护照要多少钱")), "another question is answered normally"
    answers = stack.say(sender, "把刚才没填完的接着填")
    assert "身份证号码" in texts(answers), "the form resumes at the ID number, the first thing not yet given"


def test_missing_materials_are_explained_then_the_citizen_may_go_on(stack: Stack) -> None:
    walk(stack, "materials", "zh", through="eligibility")
    answers = stack.say("materials", "缺第1项")
    assert "食品经营许可申请书：" in texts(answers) and "窗口" in texts(answers), "how to get the form"
    assert "现在继续提交申请吗" in texts(answers)
    assert "申请人的姓名" in texts(stack.say("materials", "继续吧"))


def test_materials_not_ready_ends_the_application_politely(stack: Stack) -> None:
    sender = "materials-not-ready"
    walk(stack, sender, "en", through="eligibility")
    assert "how to get what is missing" in texts(stack.say(sender, "no")).lower()
    assert "Come back when you have them" in texts(stack.say(sender, "no"))
    assert tracker_slots(stack, sender)["application_service"] is None


def test_not_eligible_ends_the_application_with_the_conditions(stack: Stack) -> None:
    sender = "not-eligible"
    stack.say(sender, "在成都武侯区开小吃店要办食品经营许可吗")
    stack.say(sender, "我要在线申请")
    answers = stack.say(sender, "否")
    assert "可能不符合办理条件" in texts(answers)
    assert not customs(answers, "application_receipt")


def test_repeated_failures_offer_to_stop(stack: Stack) -> None:
    walk(stack, "failures", "zh", through="name")
    for attempt in range(3):
        answers = stack.say("failures", f"12345{attempt}")
    assert "取消" in texts(answers)
    assert "继续办理" in texts(stack.say("failures", "取消"))


def test_appointment_for_an_item_done_only_at_the_window(stack: Stack, calendar: WorkCalendar) -> None:
    sender = "booking"
    answers = stack.say(sender, "我们打算在成都武侯区领结婚证")
    assert customs(answers, "service_card")[0]["service"]["id"] == "marriage-registration"
    answers = stack.say(sender, "那帮我约个去窗口的时间")
    assert "请选择预约日期" in texts(answers)
    days = [button["payload"] for answer in answers for button in answer.get("buttons") or []]
    assert days and all(calendar.is_working_day(date.fromisoformat(day)) for day in days)
    assert all(date.fromisoformat(day) > today_at_the_offices() for day in days)
    answers = stack.say(sender, "第二个")
    assert "可预约的时段" in texts(answers)
    times = [button["payload"] for answer in answers for button in answer.get("buttons") or []]
    stack.say(sender, times[0])
    stack.say(sender, NAMES[2])
    summary = texts(stack.say(sender, PHONE_BOOKING))
    assert "请核对预约信息" in summary and "137****9999" in summary
    answers = stack.say(sender, "对的没问题")
    receipt = customs(answers, "appointment_receipt")[0]
    assert receipt["date"] == days[1] and receipt["time"] == times[0] and receipt["status"] == "booked"
    assert receipt["service_id"] == "marriage-registration"


def submit_for_status(stack: Stack, sender: str) -> str:
    summary = texts(apply_until_summary_zh(stack, sender))
    assert "请核对申请信息" in summary
    receipt = customs(stack.say(sender, "确认"), "application_receipt")[0]
    application_id: str = receipt["application_id"]
    return application_id


def test_status_check_with_the_right_code_explains_stage_and_next_step(stack: Stack) -> None:
    application_id = submit_for_status(stack, "status-right")
    answers = stack.say("status-right", "帮我看看申请审到哪一步了")
    assert "办件编号" in texts(answers)
    assert "身份证号的后四位" in texts(stack.say("status-right", application_id))
    answers = stack.say("status-right", "002x")
    status = customs(answers, "application_status")[0]
    assert status["application_id"] == application_id and status["status"] == "received"
    assert status["stage"] == "reception" and status["history"][0]["status"] == "received"
    assert "综合受理" in texts(answers) and "下一步" in texts(answers)


def test_status_check_refuses_wrong_codes_then_locks_out(stack: Stack) -> None:
    application_id = submit_for_status(stack, "status-wrong")
    for _ in range(5):
        answers = stack.say("status-wrong", f"check my application {application_id}")
        answers = stack.say("status-wrong", "1234")
        assert not customs(answers, "application_status")
        assert "don't match" in texts(answers)
    stack.say("status-wrong", f"check my application {application_id}")
    answers = stack.say("status-wrong", "002X")
    assert not customs(answers, "application_status"), "even the right code is refused while locked"
    assert "locked" in texts(answers)


def test_unknown_application_number_is_refused_like_a_wrong_code(stack: Stack) -> None:
    stack.say("status-unknown", "check my application ZW20200101-ABCDEF")
    assert "don't match" in texts(stack.say("status-unknown", "1234"))


def tracker_slots(stack: Stack, sender: str) -> dict[str, Any]:
    answer = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=10)
    answer.raise_for_status()
    slots: dict[str, Any] = answer.json()["slots"]
    return slots


def tracker_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=10)
    answer.raise_for_status()
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def test_citizen_is_notified_in_their_conversation_when_staff_move_the_application(stack: Stack) -> None:
    application_id = submit_for_status(stack, "notify-zh")
    moved = requests.post(
        f"{platform_url(stack)}/api/v1/applications/{application_id}/transitions",
        json={"status": "supplement_required", "note": "请补充营业场所平面图"},
        headers=staff(stack),
        timeout=10,
    )
    assert moved.status_code == 200
    notice: dict[str, Any] | None = None
    for _ in range(50):
        bot_events = [e for e in tracker_events(stack, "notify-zh") if e.get("event") == "bot"]
        found = [
            e for e in bot_events if ((e.get("data") or {}).get("custom") or {}).get("type") == "application_update"
        ]
        if found:
            notice = found[-1]
            break
        time.sleep(0.2)
    assert notice is not None, "the notice reached the conversation"
    assert notice["data"]["custom"]["status"] == "supplement_required"
    assert "需补正材料" in notice["text"] and "请补充营业场所平面图" in notice["text"], "in the citizen's language"


def test_notice_is_in_english_for_an_english_conversation(stack: Stack) -> None:
    sender = "notify-en"
    walk(stack, sender, "en", through="delivery")
    application_id = customs(stack.say(sender, "confirm"), "application_receipt")[0]["application_id"]
    for status in ("in_review", "approved"):
        requests.post(
            f"{platform_url(stack)}/api/v1/applications/{application_id}/transitions",
            json={"status": status},
            headers=staff(stack),
            timeout=10,
        ).raise_for_status()
    notices: list[dict[str, Any]] = []
    for _ in range(50):
        notices = [
            event
            for event in tracker_events(stack, sender)
            if event.get("event") == "bot"
            and ((event.get("data") or {}).get("custom") or {}).get("type") == "application_update"
        ]
        if len(notices) == 2:
            break
        time.sleep(0.2)
    assert [notice["data"]["custom"]["status"] for notice in notices] == ["in_review", "approved"], "in order"
    assert "News on your application" in notices[0]["text"] and "under review" in notices[0]["text"]


def test_chinese_status_check_with_a_wrong_code_reveals_nothing(stack: Stack) -> None:
    stack.say("status-wrong-zh", "帮我查下办件进度 ZW20261126-AAAAAA")
    answers = stack.say("status-wrong-zh", "0000")
    assert "不匹配" in texts(answers) and not customs(answers, "application_status")


def test_an_emergency_mid_form_gets_the_number_at_once_and_the_form_waits(stack: Stack) -> None:
    sender = "emergency-zh"
    walk(stack, sender, "zh", through="name")
    answers = stack.say(sender, "不好了楼下着火了烟很大")
    assert customs(answers, "emergency") == [{"type": "emergency", "number": "119"}]
    assert "119" in texts(answers) and "身份证号码" not in texts(answers)
    assert "身份证号码" in texts(stack.say(sender, "继续办理")), "the application waits where it was"


def test_an_emergency_in_english_out_of_the_blue(stack: Stack) -> None:
    answers = stack.say("emergency-en", "my neighbour collapsed and he is not breathing")
    assert customs(answers, "emergency") == [{"type": "emergency", "number": "120"}]
    assert "call 120" in texts(answers)


@pytest.mark.parametrize(
    ("sender", "greeting", "expected"), [("report-zh", "你好", "办理中"), ("report-en", "hello", "being handled")]
)
def test_reporter_is_told_of_a_staff_update_in_their_language(
    stack: Stack, sender: str, greeting: str, expected: str
) -> None:
    stack.say(sender, greeting)
    filed = requests.post(
        f"{platform_url(stack)}/api/v1/complaints",
        json={
            "category": "noise",
            "request_type": "complaint",
            "description": "楼下烧烤店半夜很吵",
            "location": {"region_code": "510107"},
            "contact": {"phone": PHONE_BOOKING},
            "channel": "rest",
            "conversation_id": sender,
            "lang": "zh",
        },
        timeout=10,
    )
    assert filed.status_code == 201
    complaint_id = filed.json()["complaint_id"]
    requests.post(
        f"{platform_url(stack)}/api/v1/complaints/{complaint_id}/updates",
        json={"status": "in_progress", "note": "已联系城管上门核查"},
        headers=staff(stack),
        timeout=10,
    ).raise_for_status()
    notice: dict[str, Any] | None = None
    for _ in range(50):
        found = [
            event
            for event in tracker_events(stack, sender)
            if event.get("event") == "bot"
            and ((event.get("data") or {}).get("custom") or {}).get("type") == "complaint_update"
            and event["data"]["custom"]["status"] == "in_progress"
        ]
        if found:
            notice = found[-1]
            break
        time.sleep(0.2)
    assert notice is not None, "the notice reached the conversation"
    assert notice["data"]["custom"]["complaint_id"] == complaint_id
    assert expected in notice["text"] and "已联系城管上门核查" in notice["text"]


def test_rasa_api_is_closed_without_the_token(stack: Stack) -> None:
    answer = requests.get(f"{stack.rasa_url}/conversations/apply-zh/tracker", timeout=10)
    assert answer.status_code in (401, 403)


def test_no_personal_details_in_the_tracker_store_or_any_log(stack: Stack) -> None:
    """Runs last in this module, after every flow above has used these details."""
    written = {
        path.name: path.read_bytes().decode("utf-8", errors="replace")
        for path in stack.var_dir.iterdir()
        if path.suffix in (".db", ".db-wal", ".log") and path.name != "platform.db"
    }
    assert {"tracker.db", "rasa.log", "platform.log", "actions.log"} <= set(written)
    tracker_db = written["tracker.db"] + written.get("tracker.db-wal", "")  # SQLite in WAL mode
    assert "apply-zh" in tracker_db, "the conversations are there"
    # The stores write JSON with non-ASCII escaped: look for names both ways.
    written_forms = {form for detail in PERSONAL for form in (detail, json.dumps(detail)[1:-1])}
    for name, content in written.items():
        for detail in written_forms:
            assert detail not in content, f"{detail!r} found in {name}"
