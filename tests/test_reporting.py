"""Reading a citizen's answers while they report a problem (actions/reporting.py), and
telling a report from a service search where the classifier hesitates (bot/nlu/reports.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from actions import reporting
from bot.nlu.reports import reconsidered

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=timezone.utc)  # 15:00 in Beijing


@pytest.mark.parametrize(
    ("text", "tells"),
    [
        ("我要投诉", False),
        ("我想跟政府反映点事", False),
        ("I want to make a complaint", False),
        ("I'd like to report a problem please", False),
        ("楼上每天半夜跺脚", True),
        ("the lift in our block has been broken for a week", True),
    ],
)
def test_a_story_is_told_apart_from_the_wish_to_report(text: str, tells: bool) -> None:
    assert reporting.tells_a_problem(text) is tells


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("我家楼下烧烤店很吵，在 玉林路", "玉林路"),
        ("中关村大街上的井盖丢了", "中关村大街"),
        ("阳光花园小区的电梯坏了", "阳光花园小区"),
        ("解放路上有个坑", "解放路"),
        ("小区门口那盏路灯坏了", None),  # 路灯 is no road, 小区 alone names none
        ("我们小区物业乱收费", None),
        ("the pavement outside the school on Jiefang Road is broken", "Jiefang Road"),
        ("rubbish everywhere near the People's Park", "People's Park"),
        ("rubbish everywhere, nobody cleans it", None),
    ],
)
def test_the_place_within_the_district(text: str, place: str | None) -> None:
    assert reporting.read_place(text) == place


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("昨晚11点", "2026-11-25T23:00:00+08:00"),
        ("今天早上8点半", "2026-11-26T08:30:00+08:00"),
        ("11月20日下午3点", "2026-11-20T15:00:00+08:00"),
        ("yesterday at 10pm", "2026-11-25T22:00:00+08:00"),
        ("last night", "2026-11-25T22:00:00+08:00"),
        ("12月20日", "2025-12-20T00:00:00+08:00"),  # a day to come this year: last year's
        ("今天晚上9点", "2026-11-26T00:00:00+08:00"),  # later than now: the day only
        ("每天夜里", None),  # recurring: kept as words
        ("every night since Monday", None),
        ("不清楚", None),
    ],
)
def test_when_it_happened(text: str, moment: str | None) -> None:
    assert reporting.read_occurred_at(text, NOW) == moment


def test_time_words_and_not_knowing() -> None:
    assert reporting.mentions_time("楼下烧烤店每天半夜很吵") == "每天 半夜"
    assert reporting.mentions_time("路灯坏了一个月") == "一个月"
    assert reporting.mentions_time("the bins haven't been emptied for two weeks") == "for two weeks"
    assert reporting.mentions_time("路灯坏了") is None
    assert reporting.says_unknown("不清楚") and reporting.says_unknown("Not sure.")
    assert not reporting.says_unknown("昨天")


def test_photo_links_and_attachments() -> None:
    text = "看这个 https://example.com/a.jpg，还有http://x.cn/b.png。"
    assert reporting.read_photo_urls(text) == ["https://example.com/a.jpg", "http://x.cn/b.png"]
    attached = reporting.read_photo_urls("", {"photo_urls": ["https://cdn.example/1.png", "javascript:alert(1)"]})
    assert attached == ["https://cdn.example/1.png"]
    many = " ".join(f"https://example.com/{n}.jpg" for n in range(8))
    assert len(reporting.read_photo_urls(many)) == reporting.MAX_PHOTOS
    assert (
        reporting.declines_photo("没拍照片")
        and reporting.declines_photo("no photo")
        and reporting.declines_photo("没有")
    )
    assert not reporting.declines_photo("照片在另一个手机上")


def test_anonymity_confirmation_and_fields() -> None:
    assert reporting.wants_anonymity("匿名") and reporting.wants_anonymity("I'd rather stay anonymous")
    assert not reporting.wants_anonymity("13912345678")
    for yes in ("确认", "对的，提交", "没问题", "confirm", "yes that's all correct", "looks right, file it"):
        assert reporting.confirms(yes), yes
    for no in ("不对", "地点不对", "not correct", "the place is wrong"):
        assert not reporting.confirms(no), no
    assert reporting.read_report_field("地点不对") == "complaint_region"
    assert reporting.read_report_field("change the photos") == "complaint_photos"
    assert reporting.read_report_field("类型选错了") == "complaint_request_type"
    assert reporting.read_report_field("联系电话写错了") == "complaint_contact"


def test_choices_numbers_and_ratings() -> None:
    options = {"noise": ["噪声扰民", "Noise nuisance"], "road-damage": ["道路及市政设施损坏", "Damaged roads"]}
    assert reporting.read_choice("2", options) == "road-damage"
    assert reporting.read_choice("噪声扰民", options) == "noise"
    assert reporting.read_choice("noise nuisance", options) == "noise"
    assert reporting.read_choice("3", options) is None
    assert reporting.read_complaint_id("查一下gd20261126 7kq3mx") == "GD20261126-7KQ3MX"
    assert reporting.read_complaint_id("ZW20261126-7KQ3MX") is None
    assert reporting.read_complaint_code(" 5678 ") == "5678" and reporting.read_complaint_code("56789") is None
    ratings = {
        "满意": "satisfied",
        "基本满意": "basically_satisfied",
        "不满意": "dissatisfied",
        "还是没修好": "dissatisfied",
        "not satisfied": "dissatisfied",
        "basically satisfied": "basically_satisfied",
        "Satisfied": "satisfied",
        "2": "basically_satisfied",
        "好的": None,
    }
    for text, rating in ratings.items():
        assert reporting.read_rating(text) == rating, text


@pytest.mark.parametrize(
    ("intent", "confidence", "ranking", "text", "decided"),
    [
        # A clear problem with a report word, read as a search: a report.
        ("find_service", 0.6, {"report_problem": 0.4}, "I want to report a pothole on Jiefang Road", "report_problem"),
        # A clear problem with a report close behind and no "how do I": a report.
        ("find_service", 0.74, {"report_problem": 0.25}, "小区门口的路灯坏了一个月", "report_problem"),
        # The same odds for a question about getting something done: the search stays.
        ("find_service", 0.8, {"report_problem": 0.2}, "孩子上小学怎么报名", None),
        # No chance of a report: the search stays, whatever the cues.
        ("find_service", 0.95, {"report_problem": 0.01}, "路灯坏了", None),
        # Out of scope, unsure, and a clear problem: a report.
        ("out_of_scope", 0.47, {"find_service": 0.22}, "外卖吃出了虫子", "report_problem"),
        # Out of scope and sure of it: stays.
        ("out_of_scope", 0.9, {"report_problem": 0.02}, "book a train ticket to shanghai", None),
        # A report with no category cue and no report word, a search close behind: a search.
        ("report_problem", 0.35, {"find_service": 0.3}, "我要开一家面馆需要什么证", "find_service"),
        # A report word keeps it a report.
        ("report_problem", 0.4, {"find_service": 0.3}, "我要投诉", None),
        # Other intents are never touched.
        ("greet", 0.5, {"report_problem": 0.4}, "你好 路灯坏了", None),
    ],
)
def test_reports_and_searches_where_the_classifier_hesitates(
    intent: str, confidence: float, ranking: dict[str, float], text: str, decided: str | None
) -> None:
    assert reconsidered(intent, confidence, {intent: confidence, **ranking}, text) == decided
