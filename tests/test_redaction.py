"""bot.privacy: which numbers in a text are personal and replaced, and which must stay.

What stays matters as much as what goes: the redacted text is what the tracker store
keeps, and Rasa reads slots and messages back from it at the next turn, so an
application number or a service id that lost its digits would break the conversation.
"""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from backend.catalogue.sources import read_items
from backend.procedure.identity import check_id_number
from bot.privacy import is_sealed, normalise_width, redact_text, redact_value

ID = "110101199003074514"
ID_X = "11010519491231002X"
ID_13 = "130102199003074514"  # starts like a mobile number


def test_the_example_numbers_are_valid() -> None:
    for number in (ID, ID_X, ID_13):
        assert check_id_number(number).valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # resident ID numbers
        (ID, "[ID number]"),
        (ID_X, "[ID number]"),
        (ID_X.lower(), "[ID number]"),
        (ID_13, "[ID number]"),
        ("110101199003079999", "[ID number]"),  # a wrong check digit is still someone's number
        ("110101900307451", "[ID number]"),  # 15 digits, before 1999
        ("110101 19900307 4514", "[ID number]"),
        ("110101-19900307-4514", "[ID number]"),
        ("110101 1990 0307 4514", "[ID number]"),
        (f"我的身份证{ID}谢谢", "我的身份证[ID number]谢谢"),
        (f"身份证号：{ID_X}。", "身份证号：[ID number]。"),
        (f"my ID is {ID}.", "my ID is [ID number]."),
        ("１１０１０１１９９００３０７４５１４", "[ID number]"),
        ("１１０１０５１９４９１２３１００２Ｘ", "[ID number]"),
        (f"({ID})", "([ID number])"),
        # mobile numbers
        ("13800138000", "[phone]"),
        ("138 0013 8000", "[phone]"),
        ("138-0013-8000", "[phone]"),
        ("138 - 0013 - 8000", "[phone]"),
        ("19912345678", "[phone]"),
        ("+86 138 0013 8000", "[phone]"),
        ("+8613800138000", "[phone]"),
        ("+86-138-0013-8000", "[phone]"),
        ("86 13800138000", "[phone]"),
        ("8613800138000", "[phone]"),
        ("0086 138 0013 8000", "[phone]"),
        ("(+86) 138 0013 8000", "[phone]"),
        ("１３８００１３８０００", "[phone]"),
        ("１３８ ００１３ ８０００", "[phone]"),
        ("１３８－００１３－８０００", "[phone]"),
        ("（＋８６）１３８００１３８０００", "[phone]"),
        ("138\u30000013\u30008000", "[phone]"),
        ("138—0013—8000", "[phone]"),
        ("手机号13912345678，谢谢", "手机号[phone]，谢谢"),
        ("电话：138-0013-8000。", "电话：[phone]。"),
        ("call me on 138 0013 8000 please", "call me on [phone] please"),
        ("13800138000@qq.com", "[phone]@qq.com"),
        # other long digit runs
        ("02886665555", "[number]"),
        ("6222021234567890123", "[number]"),
        ("订单123456789012号", "订单[number]号"),
        ("12345678901", "[number]"),  # 11 digits, not a mobile prefix
        ("138001380001", "[number]"),  # a mobile number and one more digit
        # several in one text, in either order
        (f"身份证{ID}，手机13800138000", "身份证[ID number]，手机[phone]"),
        (f"13800138000 / {ID_X}", "[phone] / [ID number]"),
        # inside a link, phone and ID numbers still go
        (f"http://example.cn/form?mobile=13800138000&id={ID}", "http://example.cn/form?mobile=[phone]&id=[ID number]"),
    ],
)
def test_personal_numbers_are_replaced(text: str, expected: str) -> None:
    assert redact_text(text) == expected


MUST_REMAIN = [
    "",
    "我想办护照",
    # application numbers, verification codes, masked values shown back
    "ZW20261126-7KQ3MX",
    "申请编号ZW20261126-7KQ3MX",
    "zw20261126-7kq3mx",
    "ZW-20261126-7KQ3MX",
    "7KQ3",
    "4514",
    "451X",
    "验证码 7KQ3",
    "1101**********4514",
    "138****8000",
    "王*明",
    # dates and times
    "2026-11-26",
    "2026年11月26日 14:30",
    "2026/11/26",
    "20261126",
    "2026-11-26 09:00-10:00",
    # region codes, prices, durations, public numbers
    "510107",
    "区划代码510107",
    "¥1,280.00",
    "收费 120 元",
    "12800元",
    "1234567890",  # 10 digits
    "20 个工作日",
    "028-86665555",
    "0826-2345678",
    "12345",
    "95598",
    "400-123-4567",
    # codes that contain long digit runs joined to letters or to other groups
    "guangan-511A0138000000-511602000000-000-115113010833722043-1-00",
    "512012002012-511602000000-000-115113010087786859-1-00",
    "11511301008778183N",
    "91510100MA61234567",
    '/choose_candidate{"service_id": "guangan-511A0138000000-511602000000-000-115113010833722043-1-00"}',
    # links: their digit runs name pages, regions and departments
    "http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail?areaCode=511602000000"
    "&itemCode=511A0138000000-511602000000-000-115113010833722043-1-00&taskType=1&deptCode=115113010087783353",
    # what the store writes in place of personal data
    "[ID number] [phone] [number] [redacted]",
]


@pytest.mark.parametrize("text", MUST_REMAIN)
def test_what_must_remain(text: str) -> None:
    assert redact_text(text) == text


def test_every_service_id_item_code_and_link_of_the_catalogue_remains() -> None:
    # Service ids travel through slots (service_id, candidates) and button payloads.
    for item in read_items():
        assert redact_text(item.id) == item.id
        content = json.loads(json.dumps(item.content, default=str))
        assert redact_value(content) == content, item.id


def test_sealed_tokens_remain_and_count_as_sealed() -> None:
    fernet = Fernet(Fernet.generate_key())
    for plain in ("王小明", ID, "13800138000", "x" * 40):
        for _ in range(50):
            sealed = "sealed:" + fernet.encrypt(plain.encode()).decode("ascii")
            assert redact_text(sealed) == sealed
            assert is_sealed(sealed)


@pytest.mark.parametrize(
    ("value", "sealed"),
    [
        ("sealed:abc", True),
        ("sealed:gAAAAABmZ-2026_abc==", True),
        ("sealed:13800138000", False),  # typed by someone, not ciphertext
        ("sealed:王小明", False),
        ("sealed:John Smith", False),
        ("sealed:", False),
        ("王小明", False),
        (None, False),
        (42, False),
    ],
)
def test_is_sealed(value: object, sealed: bool) -> None:
    assert is_sealed(value) is sealed


def test_redaction_is_idempotent() -> None:
    texts = [f"身份证{ID}，手机138 0013 8000，订单123456789012", *MUST_REMAIN]
    for text in texts:
        once = redact_text(text)
        assert redact_text(once) == once


def test_the_rest_of_the_text_is_kept_exactly_full_width_included() -> None:
    text = "ＡＢＣ，电话：１３８００１３８０００，２０２６年"
    assert redact_text(text) == "ＡＢＣ，电话：[phone]，２０２６年"


def test_normalise_width_is_one_character_for_one() -> None:
    text = "（＋８６）１３８\u3000００１３—８０００ＸＹ"
    assert normalise_width(text) == "(+86)138 0013-8000XY"
    assert len(normalise_width(text)) == len(text)


def test_redact_value_recurses_and_leaves_the_original_alone() -> None:
    original = {
        "text": f"ID {ID}",
        "buttons": [{"title": "13800138000", "payload": "/inform"}],
        "pair": ("13800138000", 3),
        "13800138000": "key too",
        "count": 3,
        "confidence": 0.123456789012345,
        "flag": True,
        "none": None,
        "phone_as_number": 13800138000,
    }
    snapshot = json.dumps(original, sort_keys=True)
    assert redact_value(original) == {
        "text": "ID [ID number]",
        "buttons": [{"title": "[phone]", "payload": "/inform"}],
        "pair": ("[phone]", 3),
        "[phone]": "key too",
        "count": 3,
        "confidence": 0.123456789012345,
        "flag": True,
        "none": None,
        "phone_as_number": "[phone]",
    }
    assert json.dumps(original, sort_keys=True) == snapshot
