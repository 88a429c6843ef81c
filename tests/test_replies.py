"""Reading short replies during reception (actions/replies.py) and sealing personal slots."""

from __future__ import annotations

from datetime import date

import pytest

from actions import replies, sealed

OFFERED_DAYS = [date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 1)]  # Fri, Mon, Tue
TODAY = date(2026, 11, 26)  # a Thursday
TIMES = ["09:00-10:00", "10:00-11:00", "11:00-12:00", "14:00-15:00", "15:00-16:00", "16:00-17:00"]


@pytest.mark.parametrize("text", ["是", "是的", "对", "确认", "都齐了", "yes", "Yep", "OK!", "confirm"])
def test_yes(text: str) -> None:
    assert replies.is_yes(text) and not replies.is_no(text)


@pytest.mark.parametrize("text", ["不", "不是", "没有", "还没", "no", "Nope", "not yet"])
def test_no(text: str) -> None:
    assert replies.is_no(text) and not replies.is_yes(text)


def test_intent_decides_when_words_do_not() -> None:
    assert replies.is_yes("我觉得可以提交了", "affirm") and replies.is_no("我可能不太满足", "deny")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("邮寄到家", "mail"),
        ("mail it to me", "mail"),
        ("窗口自取", "window"),
        ("电子证照就行", "electronic"),
        ("2", "mail"),
    ],
)
def test_delivery_among_those_offered(text: str, expected: str) -> None:
    assert replies.read_delivery(text, ["window", "mail", "electronic"]) == expected


def test_delivery_not_offered_is_not_read() -> None:
    assert replies.read_delivery("电子证照", ["window", "mail"]) is None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("手机号写错了", "phone"),
        ("身份证号输错了", "id_number"),
        ("改一下姓名", "applicant_name"),
        ("change my name", "applicant_name"),
        ("换成邮寄", "delivery"),
    ],
)
def test_field_to_correct(text: str, field: str) -> None:
    assert replies.read_field(text) == field


@pytest.mark.parametrize(
    "text",
    ["ZW20261126-7KQ3MX", "zw20261126-7kq3mx", "查 ZW20261126 7KQ3MX 的进度", "ＺＷ２０２６１１２６－７ＫＱ３ＭＸ"],
)
def test_application_number_in_any_writing(text: str) -> None:
    assert replies.read_application_id(text) == "ZW20261126-7KQ3MX"


def test_no_application_number() -> None:
    assert replies.read_application_id("ZW2026-1") is None


@pytest.mark.parametrize(("text", "code"), [("002x", "002X"), (" 3184 ", "3184"), ("１２３４", "1234")])
def test_verification_code(text: str, code: str) -> None:
    assert replies.read_verification_code(text) == code


@pytest.mark.parametrize("text", ["12345", "abcd", "我的是1234"])
def test_not_a_verification_code(text: str) -> None:
    assert replies.read_verification_code(text) is None


@pytest.mark.parametrize("text", ["王芳", "欧阳娜娜", "阿卜杜·热合曼", "Li Na", "Anna Schmidt", "Mary-Jane O'Neil"])
def test_names(text: str) -> None:
    assert replies.looks_like_name(text)


@pytest.mark.parametrize("text", ["13912345678", "我叫王芳今年三十二岁住在成都市武侯区", "a", "王", "@@##"])
def test_not_names(text: str) -> None:
    assert not replies.looks_like_name(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30", date(2026, 11, 30)),
        ("11月27日", date(2026, 11, 27)),
        ("12/1", date(2026, 12, 1)),
        ("30号", date(2026, 11, 30)),
        ("明天", date(2026, 11, 27)),
        ("下周一", date(2026, 11, 30)),
        ("周二", date(2026, 12, 1)),
        ("Friday", date(2026, 11, 27)),
        ("tomorrow", date(2026, 11, 27)),
        ("第二个", date(2026, 11, 30)),
        ("I'll take the first date", date(2026, 11, 27)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    assert replies.read_date(text, OFFERED_DAYS, TODAY) == expected


def test_a_weekend_day_is_read_but_not_among_those_offered() -> None:
    assert replies.read_date("周六", OFFERED_DAYS, TODAY) == date(2026, 11, 28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-10:00", "09:00-10:00"),
        ("上午十点", "10:00-11:00"),
        ("下午3点", "15:00-16:00"),
        ("两点", "14:00-15:00"),
        ("2pm", "14:00-15:00"),
        ("9am", "09:00-10:00"),
        ("11:00", "11:00-12:00"),
        ("1", "09:00-10:00"),
        ("the fourth one", "14:00-15:00"),
    ],
)
def test_times(text: str, expected: str) -> None:
    assert replies.read_time(text, TIMES) == expected


def test_a_time_not_offered() -> None:
    assert replies.read_time("晚上8点", TIMES) is None


def test_materials_numbers() -> None:
    assert replies.read_numbers("缺第2项和第4项", 5) == [2, 4]
    assert replies.read_numbers("missing 1, 3 and 9", 5) == [1, 3]


def test_sealed_values_round_trip_and_hide_the_value(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZW_VAR_DIR", str(tmp_path))
    sealed._fernet.cache_clear()
    token = sealed.seal("11010519491231002X")
    assert token.startswith("sealed:") and "11010519491231002X" not in token
    assert sealed.unseal(token) == "11010519491231002X"
    assert sealed.unseal("11010519491231002X") is None and sealed.unseal(None) is None
    assert sealed.unseal("sealed:not-a-token") is None
    sealed._fernet.cache_clear()


@pytest.mark.parametrize("text", ["要多少钱", "在哪办", "需要几天", "how much is it", "what documents", "能不能快点"])
def test_requests_are_not_answers(text: str) -> None:
    assert replies.sounds_like_a_request(text)


@pytest.mark.parametrize("text", ["钱多多", "钱伟", "王芳", "Anna Schmidt", "Tom Li"])
def test_names_are_not_requests(text: str) -> None:
    assert not replies.sounds_like_a_request(text)


@pytest.mark.parametrize(
    "text", ["材料都备好了", "清单上的东西我都备好了", "I've got everything on the list", "all ready"]
)
def test_documents_ready(text: str) -> None:
    assert replies.says_ready(text)


@pytest.mark.parametrize("text", ["还没准备好", "不齐", "not ready yet", "I don't have everything"])
def test_documents_not_ready(text: str) -> None:
    assert not replies.says_ready(text)


@pytest.mark.parametrize(
    "text", ["查一下我的办件进度", "审批通过了没", "check my application", "has it been approved", "status please"]
)
def test_progress_words(text: str) -> None:
    assert replies.asks_about_progress(text)


@pytest.mark.parametrize("text", ["daolu yunshu xukezheng application", "护照申请", "passport application form"])
def test_naming_an_item_is_not_asking_about_progress(text: str) -> None:
    assert not replies.asks_about_progress(text)
