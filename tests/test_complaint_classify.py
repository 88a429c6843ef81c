"""Classifying a citizen's problem report: its category, its request type, and whether it
is an emergency to send at once to 110/119/120/122 (backend/complaints, data/complaints)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.complaints.categories import read_complaint_codes
from backend.complaints.classify import Lexicon, classify, load_lexicon
from backend.complaints.emergency import EmergencyCues, emergency_number, load_emergency_cues
from backend.settings import ROOT

DEV_SET = Path(__file__).parent / "data" / "complaints_dev.yml"
CATEGORY_CODES = list(read_complaint_codes().categories)
REQUEST_CODES = list(read_complaint_codes().request_types)


def dev_set() -> dict[str, list[dict[str, Any]]]:
    return dict(yaml.safe_load(DEV_SET.read_text(encoding="utf-8")))


# --- the data --------------------------------------------------------------------------


def test_keywords_cover_exactly_the_contract_categories_and_request_types() -> None:
    lexicon = load_lexicon()
    assert list(lexicon.categories) == CATEGORY_CODES
    assert {cue.label for cue in lexicon.category_cues} == set(CATEGORY_CODES) - {"other"}
    assert set(lexicon.request_types) == set(REQUEST_CODES)
    assert lexicon.default_request_type == "complaint"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_category_has_at_least_25_cues_in_each_language(lang: str) -> None:
    counts = Counter(cue.label for cue in load_lexicon().category_cues if (cue.latin == (lang == "en")))
    thin = {code: counts[code] for code in CATEGORY_CODES if code != "other" and counts[code] < 25}
    assert not thin


def test_a_cue_that_yaml_reads_as_a_boolean_is_refused() -> None:
    with pytest.raises(ValueError, match="quote it"):
        Lexicon.from_data({"categories": {"water-supply": {"en": {"strong": [False]}}}})


def test_an_unknown_emergency_number_is_refused() -> None:
    with pytest.raises(ValueError, match="not an emergency number"):
        EmergencyCues.from_data({"cues": {"999": {"en": ["fire"]}}})


# --- categories ------------------------------------------------------------------------

EXAMPLES = {
    "noise": ("对面楼每天晚上跳广场舞，音响开到最大", "Loud music from the bar keeps me awake every night"),
    "road-damage": ("我家门口的路灯坏了一个多月", "There's a big pothole on my street"),
    "sanitation": ("街角的垃圾桶满了好几天没人清运", "Our rubbish hasn't been collected for a week"),
    "illegal-construction": ("邻居在楼顶私搭乱建了一间房", "The neighbour has put up an illegal extension"),
    "water-supply": ("早上起来就停水了，也没有通知", "We have had no water since yesterday"),
    "power-supply": ("这周已经停电三次了", "Another power cut in our area tonight"),
    "gas-heating": ("暖气不热，家里只有十五度", "The heating is not working and the flat is freezing"),
    "traffic-parking": ("小区门口有车占用消防通道", "Cars are illegally parked on the pavement"),
    "public-transport": ("23路公交车到站不停", "The bus didn't stop at my stop"),
    "pollution": ("附近工厂晚上偷偷排污，河水发臭", "A factory is pumping out black smoke"),
    "food-safety": ("超市在卖过期食品", "The shop sold me expired food"),
    "consumer-rights": ("房东不退押金", "The gym refused to refund my membership"),
    "wage-arrears": ("老板跑路了，拖欠我们三个月工资", "My boss disappeared without paying our wages"),
    "social-insurance": ("公司给我社保断缴了半年", "My pension has not been paid for two months"),
    "education": ("学校乱收费，每个学生收两百元资料费", "The school keeps charging extra fees"),
    "healthcare": ("医院挂号排了三个小时", "The doctor at the hospital was rude and misdiagnosed me"),
    "property-management": ("电梯坏了一个星期，物业不管", "The lift is broken and the management won't fix it"),
    "government-service": ("办事窗口态度差，还互相推诿", "The official at the counter was rude and passed the buck"),
}


def test_every_category_but_other_has_an_example_in_each_language() -> None:
    assert set(EXAMPLES) == set(CATEGORY_CODES) - {"other"}


@pytest.mark.parametrize(
    ("category", "text"),
    [(category, text) for category, pair in EXAMPLES.items() for text in pair],
)
def test_a_report_is_filed_under_its_category(category: str, text: str) -> None:
    assert classify(text).category == category


@pytest.mark.parametrize("text", ["今年国庆放几天假", "The weather in Beijing", ""])
def test_a_report_without_cues_is_other(text: str) -> None:
    result = classify(text)
    assert (result.category, result.request_type) == ("other", "complaint")


def test_a_lone_weak_cue_decides_nothing() -> None:
    assert classify("晚上好").category == "other"


def test_the_classification_names_the_cues_behind_it() -> None:
    result = classify("楼下广场舞太吵了，请问怎么办")
    assert "noise:广场舞" in result.matched
    assert "consultation:请问" in result.matched
    assert result.scores["noise"] > result.scores.get("property-management", 0)
    assert result.matched.index("noise:广场舞") < result.matched.index("consultation:请问")


def test_a_fire_lane_is_traffic_not_fire_and_a_rip_off_is_not_a_pothole() -> None:
    fire_lane = classify("消防通道被占了")
    assert fire_lane.category == "traffic-parking"
    assert fire_lane.matched == ["traffic-parking:消防通道被占"]
    assert classify("这家店坑人").category == "consumer-rights"


def test_english_cues_meet_plurals_past_tenses_and_contractions() -> None:
    assert classify("The streetlights were out").category == "road-damage"
    assert "public-transport:bus didnt stop" in classify("The bus did not stop").matched
    assert classify("Bins not emptied for days").category == "sanitation"


def test_a_cue_of_two_parts_needs_both_in_one_sentence() -> None:
    lexicon = Lexicon.from_data({"categories": {"sanitation": {"zh": {"strong": ["垃圾 + 没人收"]}}}})
    assert classify("垃圾三天都没人收", lexicon).category == "sanitation"
    assert classify("垃圾桶很新。快递没人收", lexicon).category == "other"


def test_a_test_can_bring_its_own_lexicon() -> None:
    lexicon = Lexicon.from_data(
        {
            "weights": {"strong": 3, "weak": 1},
            "categories": {"noise": {"en": {"strong": ["drums"]}}, "education": {"en": {"weak": ["school"]}}},
            "request_types": {"cues": {"suggestion": {"en": {"strong": ["why not"]}}}},
        }
    )
    result = classify("Why not stop the drums near the school?", lexicon)
    assert (result.category, result.request_type) == ("noise", "suggestion")
    assert result.scores == {"noise": 3.0, "education": 1.0, "suggestion": 3.0}


def test_ties_go_to_the_strongest_cue_then_the_earliest_mention() -> None:
    lexicon = Lexicon.from_data(
        {
            "weights": {"strong": 3, "usual": 2, "weak": 1},
            "categories": {
                "noise": {"zh": {"usual": ["音乐"], "weak": ["晚上"]}},
                "pollution": {"zh": {"strong": ["油烟"]}},
                "food-safety": {"zh": {"strong": ["饭馆"]}},
            },
        }
    )
    assert classify("晚上饭馆的音乐", lexicon).category == "food-safety"
    assert classify("油烟和饭馆", lexicon).category == "pollution"


# --- request types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_type", "text"),
    [
        ("consultation", "请问停水了找哪个部门？"),
        ("consultation", "Who is responsible for fixing potholes?"),
        ("suggestion", "建议在公园里多装几个路灯"),
        ("suggestion", "I suggest adding more buses on route 9"),
        ("report", "我要举报一家餐馆使用地沟油"),
        ("report", "I want to report a factory discharging waste water at night"),
        ("complaint", "我要投诉楼下烧烤店的油烟"),
        ("complaint", "The streetlight outside my house is broken"),
        ("help", "老人独居停水了，能不能帮忙送点水"),
        ("help", "Please help, the landlord has cut off our water"),
    ],
)
def test_the_request_type_follows_what_the_citizen_asks_for(request_type: str, text: str) -> None:
    assert classify(text).request_type == request_type


def test_a_report_and_a_complaint_in_one_message_is_a_report() -> None:
    assert classify("我要投诉并举报这家工厂偷排污水").request_type == "report"


# --- emergencies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text"),
    [
        ("119", "厨房着火了"),
        ("119", "家里燃气泄漏了"),
        ("119", "My kitchen is on fire"),
        ("119", "I can smell gas in the stairwell"),
        ("110", "有人持刀抢劫"),
        ("110", "Someone is breaking into my car right now"),
        ("120", "我爸晕倒了，叫不醒"),
        ("120", "My mother is unconscious and not breathing"),
        ("122", "路口出车祸了，有人受伤"),
        ("122", "A child was just hit by a car"),
    ],
)
def test_an_emergency_gets_its_number(number: str, text: str) -> None:
    assert emergency_number(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "消防通道被堵了一个月",
        "上周楼下着火了，到现在没人处理",
        "消防检查走过场",
        "派出所态度很差",
        "燃气灶打不着火",
        "如果家里着火了怎么逃生？",
        "There is a fire exit blocked at my building",
        "Last week there was a fire in our block",
        "The fire safety inspection was a joke",
        "The police station staff were rude",
        "My boss fired me",
    ],
)
def test_what_only_looks_like_an_emergency_is_not_one(text: str) -> None:
    assert emergency_number(text) is None


def test_a_past_context_yields_to_one_happening_now() -> None:
    assert emergency_number("上次着火没人管，现在楼下又着火了，正在冒烟") == "119"
    assert emergency_number("There was a fire last week and now the flat next door is on fire right now") == "119"


def test_several_emergencies_go_to_the_coordinating_service_first() -> None:
    assert emergency_number("着火了，有人晕倒了") == "119"
    assert emergency_number("出车祸了，司机昏迷了") == "122"
    assert emergency_number("有人持刀砍人，流血不止") == "110"


def test_full_width_and_capitals_are_folded() -> None:
    assert emergency_number("ＦＩＲＥ！ The house is ON FIRE") == "119"


def test_the_emergency_check_imports_nothing_heavy() -> None:
    code = (
        "import sys, backend.complaints.emergency as e; e.emergency_number('着火了');"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('jieba', 'pypinyin', 'rasa', 'sqlalchemy')"
        " or m.startswith('backend.search')]; print(heavy); sys.exit(bool(heavy))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_emergency_cues_are_read_from_the_keywords() -> None:
    cues = load_emergency_cues()
    assert set(cues.cues.values()) == {"110", "119", "120", "122"}
    assert ("fire exit",) in cues.not_emergency


# --- the development set ---------------------------------------------------------------


def test_the_development_set_is_large_enough() -> None:
    data = dev_set()
    reports = Counter(report["lang"] for report in data["reports"])
    emergencies = Counter(case["lang"] for case in data["emergencies"])
    assert reports["zh"] >= 80 and reports["en"] >= 40
    assert emergencies["zh"] >= 15 and emergencies["en"] >= 10
    assert len(data["not_emergencies"]) >= 10
    codes = {report["category"] for report in data["reports"]} | {report["request_type"] for report in data["reports"]}
    assert codes <= set(CATEGORY_CODES) | set(REQUEST_CODES)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_development_reports_are_classified_with_at_least_90_percent_accuracy(lang: str) -> None:
    reports = [report for report in dev_set()["reports"] if report["lang"] == lang]
    results = [(report, classify(report["text"])) for report in reports]
    wrong_category = [(r["text"], r["category"], c.category) for r, c in results if c.category != r["category"]]
    wrong_request = [
        (r["text"], r["request_type"], c.request_type) for r, c in results if c.request_type != r["request_type"]
    ]
    assert 1 - len(wrong_category) / len(reports) >= 0.9, wrong_category
    assert 1 - len(wrong_request) / len(reports) >= 0.9, wrong_request


def test_every_development_emergency_is_found_with_its_number() -> None:
    missed = [(case["text"], case["number"], emergency_number(case["text"])) for case in dev_set()["emergencies"]]
    assert [miss for miss in missed if miss[1] != miss[2]] == []


def test_no_development_report_or_look_alike_is_taken_for_an_emergency() -> None:
    data = dev_set()
    texts = [report["text"] for report in data["reports"]] + [case["text"] for case in data["not_emergencies"]]
    assert [(text, emergency_number(text)) for text in texts if emergency_number(text)] == []
