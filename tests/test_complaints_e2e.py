"""Problem reports end to end over REST: the real platform, action server and Rasa server, in
both languages (CONTRACT.md §2–3, issue 5). Filing in one message or in pieces, with a
photo or anonymously, corrections, an emergency mid-form, follow-up checks, the notice of a
staff update, satisfaction that closes or reopens the report.

The last test reads every file the stack wrote for the phone numbers used here: none may appear.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tools.stack import Stack
from tools.train import ensure_model

PHONE_ZH = "13912345678"
PHONE_EN = "13612349876"
PHONE_RATING = "13755554321"
PHONES = (PHONE_ZH, PHONE_EN, PHONE_RATING)
STORIES = {
    "zh": "小区门口的路灯坏了一个月，在成都武侯区玉林路",
    "en": "the streetlight on Yulin Road in Wuhou, Chengdu has been out for a month",
}
COMPLAINT_ID = re.compile(r"^GD\d{8}-[2-9A-HJ-NP-Z]{6}$")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(Path(tmp_path_factory.mktemp("complaints")), ensure_model()) as running:
        yield running


def customs(answers: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [a["custom"] for a in answers if (a.get("custom") or {}).get("type") == kind]


def texts(answers: list[dict[str, Any]]) -> str:
    return "\n".join(a.get("text") or "" for a in answers)


def staff(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {(stack.var_dir / 'staff-token').read_text().strip()}"}


def platform_url(stack: Stack) -> str:
    return stack.processes["platform"].url


def staff_view(stack: Stack, complaint_id: str) -> dict[str, Any]:
    answer = requests.get(f"{platform_url(stack)}/api/v1/complaints/{complaint_id}", headers=staff(stack), timeout=10)
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def update(stack: Stack, complaint_id: str, status: str, note: str) -> None:
    requests.post(
        f"{platform_url(stack)}/api/v1/complaints/{complaint_id}/updates",
        json={"status": status, "note": note},
        headers=staff(stack),
        timeout=10,
    ).raise_for_status()


def tracker_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=10)
    answer.raise_for_status()
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def bot_messages_after(stack: Stack, sender: str, kind: str, count: int = 1) -> list[dict[str, Any]]:
    """Waits (up to 10 s) until the conversation holds `count` bot messages with custom `kind`."""
    found: list[dict[str, Any]] = []
    for _ in range(50):
        found = [
            event
            for event in tracker_events(stack, sender)
            if event.get("event") == "bot" and ((event.get("data") or {}).get("custom") or {}).get("type") == kind
        ]
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{sender}: {len(found)} {kind} messages, wanted {count}")


def say_all(stack: Stack, sender: str, messages: list[str]) -> list[list[dict[str, Any]]]:
    return [stack.say(sender, message) for message in messages]


def file_report(stack: Stack, sender: str, lang: str, phone: str) -> str:
    """A report filed through the conversation; its number."""
    story = STORIES[lang]
    replies = say_all(stack, sender, [story, "没拍照片" if lang == "zh" else "no photo", phone])
    replies.append(stack.say(sender, "对的，提交" if lang == "zh" else "yes that's all correct"))
    receipt = customs(replies[-1], "complaint_receipt")
    assert receipt, texts(replies[-1])
    return str(receipt[0]["complaint_id"])


def test_the_whole_story_in_one_message_asks_only_what_is_missing(stack: Stack) -> None:
    first = stack.say("report-one-zh", "我家楼下烧烤店每天半夜很吵，在武侯区玉林路")
    # What, where and when were told: the next question is the photo.
    assert "照片" in texts(first), texts(first)
    assert "在哪里" not in texts(first) and "什么时候" not in texts(first)
    contact = stack.say("report-one-zh", "没拍照片")
    assert "手机号" in texts(contact) and "匿名" in texts(contact)
    summary = stack.say("report-one-zh", PHONE_ZH)
    shown = texts(summary)
    assert "噪声扰民" in shown and "成都市武侯区玉林路" in shown and "每天 半夜" in shown
    assert "139****5678" in shown and PHONE_ZH not in shown
    receipt_answers = stack.say("report-one-zh", "对的，提交")
    receipt = customs(receipt_answers, "complaint_receipt")[0]
    assert COMPLAINT_ID.match(receipt["complaint_id"])
    assert receipt["category"] == "noise" and receipt["status"] == "dispatched"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", receipt["response_due"])
    assert set(receipt) == {"type", "complaint_id", "category", "request_type", "status", "response_due"}
    assert receipt["complaint_id"] in texts(receipt_answers) and receipt["response_due"] in texts(receipt_answers)
    filed = staff_view(stack, receipt["complaint_id"])
    assert filed["description"].startswith("我家楼下烧烤店每天半夜很吵")
    assert filed["location"]["region_code"] == "510107" and filed["location"]["address"] == "玉林路"
    assert filed["contact"]["phone"] == PHONE_ZH and filed["anonymous"] is False
    assert filed["conversation_id"] == "report-one-zh" and filed["channel"] == "rest" and filed["lang"] == "zh"
    assert filed["office"]["region_code"] == "510107", "routed to the district's office"


def test_the_whole_story_in_english(stack: Stack) -> None:
    first = stack.say("report-one-en", "A bar on Yulin Road in Wuhou, Chengdu plays loud music every night until 3am")
    assert "photo" in texts(first).lower()
    say_all(stack, "report-one-en", ["no photo"])
    summary = stack.say("report-one-en", PHONE_EN)
    assert "Noise nuisance" in texts(summary) and "136****9876" in texts(summary)
    answers = stack.say("report-one-en", "yes that's all correct")
    receipt = customs(answers, "complaint_receipt")[0]
    assert "Filed!" in texts(answers) and receipt["response_due"] in texts(answers)
    filed = staff_view(stack, receipt["complaint_id"])
    assert filed["category"] == "noise" and filed["lang"] == "en"
    assert filed["location"]["region_code"] == "510107" and filed["location"]["address"] == "Yulin Road"


def test_in_pieces_with_a_photo_anonymously_and_a_corrected_place(stack: Stack) -> None:
    sender = "report-pieces-zh"
    asked = stack.say(sender, "我想跟政府反映点事")
    assert "什么问题" in texts(asked)
    where = stack.say(sender, "小区门口那盏路灯坏了好几天了，晚上黑乎乎的")
    assert "在哪里" in texts(where)
    photo = stack.say(sender, "成都市武侯区")
    assert "照片" in texts(photo)
    contact = stack.say(sender, "https://example.com/photos/streetlight.jpg")
    assert "匿名" in texts(contact)
    summary = stack.say(sender, "匿名")
    assert "道路及市政设施损坏" in texts(summary) and "匿名" in texts(summary) and "照片：1张" in texts(summary)
    again = stack.say(sender, "地点不对")
    assert "在哪里" in texts(again)
    corrected = stack.say(sender, "锦江区春熙路")
    assert "成都市锦江区春熙路" in texts(corrected)
    answers = stack.say(sender, "对的，提交")
    receipt = customs(answers, "complaint_receipt")[0]
    code = re.search(r"查询码：(\d{4})", texts(answers))
    assert code, "an anonymous reporter gets a follow-up code"
    filed = staff_view(stack, receipt["complaint_id"])
    assert filed["category"] == "road-damage"
    assert filed["location"]["region_code"] == "510104" and filed["location"]["address"] == "春熙路"
    assert filed["photo_urls"] == ["https://example.com/photos/streetlight.jpg"]
    assert filed["anonymous"] is True and filed["contact"] is None
    # The follow-up code opens the report.
    check = say_all(stack, sender, ["我反映的问题现在什么进度", receipt["complaint_id"], code.group(1)])[-1]
    status = customs(check, "complaint_status")[0]
    assert status["complaint_id"] == receipt["complaint_id"] and status["status"] == "dispatched"


def test_in_pieces_in_english_with_the_category_chosen_from_the_list(stack: Stack) -> None:
    sender = "report-pieces-en"
    asked = stack.say(sender, "I'd like to lodge a complaint please")
    assert "What is the problem" in texts(asked)
    kinds = stack.say(sender, "for a while now there is something nobody deals with")
    assert "Which kind of problem" in texts(kinds)
    assert len(kinds[-1].get("buttons") or []) == 19
    where = stack.say(sender, "17")  # 17. Residential property management
    assert "Where is it?" in texts(where)
    photo = stack.say(sender, "Haidian District, Beijing")
    assert "photo" in texts(photo), "'for a while now' said when"
    say_all(stack, sender, ["no photo"])
    summary = stack.say(sender, "I'd rather stay anonymous")
    assert "Residential property management" in texts(summary) and "anonymous" in texts(summary)
    answers = stack.say(sender, "yes that's all correct")
    receipt = customs(answers, "complaint_receipt")[0]
    assert "follow-up code" in texts(answers)
    filed = staff_view(stack, receipt["complaint_id"])
    assert filed["category"] == "property-management" and filed["location"]["region_code"] == "110108"
    assert filed["occurred_at"] is None


def test_a_problem_read_as_a_search_can_be_reported_with_one_tap(stack: Stack) -> None:
    sender = "report-offer-zh"
    searched = stack.say(sender, "成都锦江区春熙路有个井盖丢了，晚上很危险")
    offer = [a for a in searched if "反映这个问题" in (a.get("text") or "")]
    if not offer:
        pytest.fail(f"no offer to report under the search answer: {texts(searched)}")
    assert offer[-1]["buttons"] == [{"title": "反映这个问题", "payload": "/report_problem"}]
    photo = stack.say(sender, "/report_problem")
    assert "照片" in texts(photo), "what, where and when came from the message before the tap"
    say_all(stack, sender, ["没拍照片", "匿名"])
    receipt = customs(stack.say(sender, "对的，提交"), "complaint_receipt")[0]
    filed = staff_view(stack, receipt["complaint_id"])
    assert filed["category"] == "road-damage" and filed["description"].startswith("成都锦江区春熙路有个井盖丢了")
    assert filed["location"]["region_code"] == "510104" and filed["location"]["address"] == "春熙路"


def test_wrong_answers_are_explained_and_asked_again(stack: Stack) -> None:
    sender = "report-wrong-en"
    say_all(stack, sender, ["the pavement outside the school on Jiefang Road in Wuhou, Chengdu is broken"])
    wrong_photo = stack.say(sender, "the picture is on my other phone")
    assert "image link" in texts(wrong_photo)
    say_all(stack, sender, ["no photo"])
    wrong_phone = stack.say(sender, "12345")
    assert "11 digits" in texts(wrong_phone)
    summary = stack.say(sender, PHONE_EN)
    assert "Please check the report" in texts(summary)


def test_an_emergency_mid_report_gets_the_number_and_files_nothing(stack: Stack) -> None:
    sender = "report-emergency-zh"
    stack.say(sender, "我要投诉一下")
    answers = stack.say(sender, "隔壁楼着火了，火很大")
    assert customs(answers, "emergency") == [{"type": "emergency", "number": "119"}]
    assert "119" in texts(answers)
    after = stack.say(sender, "你好")
    assert "政务助手" in texts(after), "the form is closed: a greeting is a greeting"
    listed = requests.get(f"{platform_url(stack)}/api/v1/complaints", headers=staff(stack), timeout=10).json()
    assert all(report["conversation_id"] != sender for report in listed["results"])


def test_cancel_files_nothing(stack: Stack) -> None:
    sender = "report-cancel-en"
    stack.say(sender, "I want to report a pothole on Jiefang Road in Wuhou, Chengdu")
    answers = stack.say(sender, "never mind, cancel")
    assert "nothing was filed" in texts(answers)


def test_status_check_then_dissatisfied_reopens_the_report(stack: Stack) -> None:
    sender = "report-reopen-zh"
    complaint_id = file_report(stack, sender, "zh", PHONE_RATING)
    update(stack, complaint_id, "responded", "已安排维修，路灯已修复")
    bot_messages_after(stack, sender, "complaint_update")  # the notice asks for a rating too
    stack.say(sender, "先不评价，取消")
    asked = stack.say(sender, "帮我查一下我反映的问题怎么样了")
    assert "GD开头" in texts(asked)
    say_all(stack, sender, [complaint_id])
    checked = stack.say(sender, PHONE_RATING[-4:])
    status = customs(checked, "complaint_status")[0]
    assert status["status"] == "responded"
    assert [u["status"] for u in status["updates"]] == ["open", "dispatched", "responded"]
    assert status["updates"][-1]["note"] == "已安排维修，路灯已修复"
    assert "满意吗" in texts(checked), "an answered report is offered for rating"
    comment = stack.say(sender, "不满意")
    assert "哪里还没有解决" in texts(comment)
    reopened = stack.say(sender, "路灯还是不亮")
    assert "重新办理" in texts(reopened)
    view = staff_view(stack, complaint_id)
    assert view["status"] == "in_progress" and view["round"] == 2
    assert view["satisfaction"]["rating"] == "dissatisfied" and view["satisfaction"]["comment"] == "路灯还是不亮"
    assert view["response_due"] in texts(reopened)


def test_the_notice_of_an_answer_asks_for_a_rating_and_satisfied_closes_it(stack: Stack) -> None:
    sender = "report-rate-en"
    complaint_id = file_report(stack, sender, "en", PHONE_EN)
    update(stack, complaint_id, "in_progress", "a crew is on its way")
    update(stack, complaint_id, "responded", "the streetlight has been replaced")
    notices = bot_messages_after(stack, sender, "complaint_update", count=2)
    assert notices[-1]["data"]["custom"]["status"] == "responded"
    assert "the streetlight has been replaced" in notices[-1]["text"]
    asked = [e for e in tracker_events(stack, sender) if e.get("event") == "bot"][-1]
    assert "Are you satisfied" in asked["text"]
    code_asked = stack.say(sender, "basically satisfied")
    assert "last four digits" in texts(code_asked)
    closed = stack.say(sender, PHONE_EN[-4:])
    assert "now closed" in texts(closed)
    view = staff_view(stack, complaint_id)
    assert view["status"] == "closed" and view["satisfaction"]["rating"] == "basically_satisfied"


def test_a_wrong_code_reveals_nothing(stack: Stack) -> None:
    sender = "report-wrong-code-en"
    complaint_id = file_report(stack, sender, "en", PHONE_EN)
    answers = say_all(stack, sender, ["status of my report please", complaint_id, "0000"])[-1]
    assert customs(answers, "complaint_status") == []
    assert "don't match" in texts(answers)
    unknown = say_all(stack, sender, ["status of my report please", "GD20200101-2222AB", "0000"])[-1]
    assert texts(unknown) == texts(answers), "an unknown number reads like a wrong code"


def test_no_phone_number_in_the_tracker_store_or_any_log(stack: Stack) -> None:
    """Runs last in this module, after every flow above has used these phone numbers."""
    written = {
        path.name: path.read_bytes().decode("utf-8", errors="replace")
        for path in stack.var_dir.iterdir()
        if path.suffix in (".db", ".log", ".db-wal") and path.name != "platform.db"
    }
    assert {"tracker.db", "rasa.log", "platform.log", "actions.log"} <= set(written)
    tracker_db = written["tracker.db"] + written.get("tracker.db-wal", "")  # SQLite in WAL mode
    assert "report-one-zh" in tracker_db, "the conversations are there"
    forms = {form for phone in PHONES for form in (phone, json.dumps(phone)[1:-1], phone[:3] + " " + phone[3:])}
    for name, content in written.items():
        for phone in forms:
            assert phone not in content, f"{phone!r} found in {name}"
