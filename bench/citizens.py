"""Scripted citizens for the load and soak benchmarks: what people say to our assistant.

Each conversation is a generator: it yields a message, is sent the assistant's answers
(the REST channel's list of messages) and yields the next, so that a later message can
use what an earlier answer said (the application or report number, for a status check).
It ends when the script does. Scripts follow the end-to-end tests (tests/test_e2e.py,
test_reception_e2e.py, test_complaints_e2e.py), in Chinese and English:

- greetings and service searches with a region, then follow-ups (materials, fee, time);
- the application form for a food business licence: eligibility, materials, the
  applicant's name, ID number and mobile, delivery, confirmation, then a status check
  with the application number and the last four characters of the ID number;
- problem reports with a mobile number, confirmation, then a follow-up check.

Personal details are fake but valid: ID numbers with a real birth date and the ISO 7064
check character, mobile numbers 1[3-9]xxxxxxxxx, names from lists. `People` hands every
conversation its own and remembers them all, so that a run can look for them afterwards
(bench/pii_scan.py).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from backend.procedure.identity import check_character

Answers = list[dict[str, Any]]
Conversation = Generator[str, Answers, None]

SURNAMES = "赵钱孙李周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕施"
GIVEN = ["一鸣", "多多", "悦然", "晓峰", "子涵", "思远", "梓萱", "浩宇", "雨桐", "嘉怡", "俊熙", "若曦"]
FIRST = ["Anna", "Lukas", "Maria", "Jonas", "Sofia", "Emil", "Clara", "Felix", "Ingrid", "Mateo"]
LAST = ["Schmidt", "Okafor", "Lindqvist", "Moreau", "Nakamura", "Petrova", "Haddad", "Kowalski"]
COUNTIES = ("110105", "440304", "510107", "310104", "330106", "420106")
APPLICATION_NUMBER = re.compile(r"ZW\d{8}-[0-9A-Z]{6}")
REPORT_NUMBER = re.compile(r"GD\d{8}-[0-9A-Z]{6}")


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str

    @property
    def values(self) -> tuple[str, str, str]:
        return (self.name, self.id_number, self.phone)


class People:
    """Fake applicants and reporters, each new one different from all before (seeded)."""

    def __init__(self, seed: int = 7) -> None:
        self._random = random.Random(seed)
        self.issued: list[Person] = []
        self._taken: set[str] = set()

    def new(self, lang: str) -> Person:
        pick = self._random
        while True:
            if lang == "zh":
                name = pick.choice(SURNAMES) + pick.choice(GIVEN)
            else:
                name = f"{pick.choice(FIRST)} {pick.choice(LAST)}"
            born = date(1950, 1, 1) + timedelta(days=pick.randrange(365 * 55))
            first17 = f"{pick.choice(COUNTIES)}{born:%Y%m%d}{pick.randrange(1000):03d}"
            id_number = first17 + check_character(first17)
            phone = f"1{pick.choice('3456789')}{pick.randrange(10**9):09d}"
            if id_number not in self._taken and phone not in self._taken:
                break
        self._taken |= {id_number, phone}
        person = Person(name, id_number, phone)
        self.issued.append(person)
        return person

    def needles(self) -> list[str]:
        """Every personal value handed out: what must not be found in stores or logs."""
        return sorted({value for person in self.issued for value in person.values})


def texts(answers: Answers) -> str:
    return "\n".join(answer.get("text") or "" for answer in answers)


def is_empty(answers: Any) -> bool:
    """No answer a citizen could read: none at all, or none with text, payload or image."""
    if not isinstance(answers, list):
        return True
    return not any(
        isinstance(answer, dict) and (answer.get("text") or answer.get("custom") or answer.get("image"))
        for answer in answers
    )


def _found(pattern: re.Pattern[str], answers: Answers, default: str) -> str:
    match = pattern.search(texts(answers))
    return match.group() if match else default


SEARCHES = {
    "zh": [
        ["你好", "我想在成都武侯区开个面馆", "要带什么材料", "收费吗", "多久能办好", "谢谢"],
        ["身份证丢了怎么补办", "成都武侯区", "多久能办好", "收费吗", "谢谢"],
        ["您好", "结婚登记需要什么", "成都青羊区", "要带什么材料", "好的再见"],
        ["营业执照怎么办理", "成都高新区", "要带什么材料", "多久能办好", "谢谢"],
        ["社保卡怎么办", "我在广州天河区", "收费吗", "谢谢"],
    ],
    "en": [
        ["hello", "how do I renew my passport", "actually I live in Haidian", "is there a fee", "thanks"],
        ["hi", "how do I get a social security card", "Chengdu Wuhou district", "what documents do I need", "bye"],
        ["how do I apply for a business license", "Chaoyang, Beijing", "how long does it take", "thanks"],
        ["good morning", "I want to get married, what do I need", "Pudong, Shanghai", "is there a fee", "thank you"],
    ],
}
STORIES = {
    "zh": [
        "小区门口的路灯坏了一个月，在成都武侯区玉林路",
        "我家楼下烧烤店每天半夜很吵，在成都锦江区春熙路",
        "成都青羊区人民公园旁边的人行道塌了个坑，很危险",
        "北京朝阳区建国路上有个井盖丢了，晚上看不见",
    ],
    "en": [
        "the streetlight on Yulin Road in Wuhou, Chengdu has been out for a month",
        "A bar on Chunxi Road in Jinjiang, Chengdu plays loud music every night until 3am",
        "there is a big pothole on Jiefang Road in Wuhou, Chengdu and cars keep hitting it",
    ],
}
APPLICATION = {
    "zh": {
        "card": "在成都武侯区开小吃店要办食品经营许可吗",
        "apply": "我要在线申请",
        "yes": "是",
        "materials": "齐了",
        "delivery": "窗口领取",
        "confirm": "确认",
        "status": "帮我看看申请审到哪一步了",
    },
    "en": {
        "card": "I need a food business licence in Wuhou, Chengdu",
        "apply": "apply for it now please",
        "yes": "yes",
        "materials": "yes",
        "delivery": "collect at the window",
        "confirm": "all correct, send it",
        "status": "check my application",
    },
}
REPORT = {
    "zh": {"photo": "没拍照片", "confirm": "对的，提交", "status": "我反映的问题现在什么进度"},
    "en": {"photo": "no photo", "confirm": "yes that's all correct", "status": "status of my report please"},
}


def scripted(messages: list[str]) -> Conversation:
    """`messages`, whatever the answers. (A list's own iterator cannot be sent answers.)"""
    for message in messages:
        _answers = yield message


def search(lang: str, number: int) -> Conversation:
    return scripted(SEARCHES[lang][number % len(SEARCHES[lang])])


def application(lang: str, person: Person, eligibility_questions: int) -> Conversation:
    """The application form from the card to the receipt, then a status check."""
    say = APPLICATION[lang]
    yield say["card"]
    yield say["apply"]
    for _ in range(eligibility_questions):
        yield say["yes"]
    yield say["materials"]
    yield person.name
    yield person.id_number
    yield person.phone
    yield say["delivery"]
    receipt = yield say["confirm"]
    yield say["status"]
    yield _found(APPLICATION_NUMBER, receipt, "ZW20200101-ABCDEF")
    yield person.id_number[-4:]


def report(lang: str, person: Person, number: int, follow_up: bool = True) -> Conversation:
    """A problem told in one message, no photo, a mobile number, filed, then (`follow_up`)
    a check with the report number and the last four digits of the phone."""
    say = REPORT[lang]
    yield STORIES[lang][number % len(STORIES[lang])]
    yield say["photo"]
    yield person.phone
    receipt = yield say["confirm"]
    if not follow_up:
        return
    yield say["status"]
    yield _found(REPORT_NUMBER, receipt, "GD20200101-2222AB")
    yield person.phone[-4:]


class Citizens:
    """Conversations for our assistant, in a fixed rotation of kinds and languages.

    `eligibility_questions`: how many the food business licence asks (the platform's
    service view says), so that the script answers each.
    """

    KINDS = ("search", "application", "report", "search", "application", "report", "search")

    def __init__(self, eligibility_questions: int, people: People | None = None) -> None:
        self.eligibility_questions = eligibility_questions
        self.people = people or People()

    def conversation(self, number: int) -> Conversation:
        """The `number`th conversation of the rotation; every second one in English."""
        lang = "zh" if number % 2 == 0 else "en"
        kind = self.KINDS[number % len(self.KINDS)]
        if kind == "search":
            return search(lang, number // 2)
        if kind == "application":
            return application(lang, self.people.new(lang), self.eligibility_questions)
        return report(lang, self.people.new(lang), number // 2)

    def long_conversation(self, number: int, length: int) -> Conversation:
        """At least `length` messages: an application (with its status check) and a report,
        each with personal details of its own, then searches."""
        lang = "zh" if number % 2 == 0 else "en"
        parts: list[Callable[[], Conversation]] = [
            lambda: application(lang, self.people.new(lang), self.eligibility_questions),
            lambda: report(lang, self.people.new(lang), number, follow_up=False),
        ]
        return _joined(parts, length, lambda extra: search(lang, number + extra + 1))


def _joined(parts: list[Callable[[], Conversation]], length: int, more: Callable[[int], Conversation]) -> Conversation:
    sent = 0
    for part in parts:
        sent += yield from _counted(part())
    extra = 0
    while sent < length:
        sent += yield from _counted(more(extra))
        extra += 1


def _counted(conversation: Conversation) -> Generator[str, Answers, int]:
    """Passes `conversation` through; returns how many messages it yielded."""
    count = 0
    try:
        message = next(conversation)
        while True:
            count += 1
            answers = yield message
            message = conversation.send(answers)
    except StopIteration:
        return count
