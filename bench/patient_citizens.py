"""Citizens who see an application or a problem report through, whatever goes wrong.

Used by the fault benchmark (bench/faults.py) and its test (tests/test_faults.py). A
scripted conversation breaks at the first answer it did not expect; these citizens
instead read each answer, as a person would, and say what it asks for: the answer to the
question asked, "continue" after a submission that failed, the same message again after
a polite "please try again" (or after an answer that asked nothing). So a conversation
interrupted by a fault picks up wherever the assistant says it is.

What an answer says is read by the response it came from: every response text of
domain.yml, its {placeholders} matching anything (`Responses`). Polite answers are the
texts the assistant gives when something it needs is unavailable (`POLITE`): the REST
channel's own when nothing answered at all, and the domain's responses for an
unavailable platform, a failed submission, a report kept for later, an error of ours.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backend.procedure.identity import check_character
from bot.channels.rest import NO_ANSWER

ROOT = Path(__file__).resolve().parent.parent
Answers = list[dict[str, Any]]

# The responses that mean "something is unavailable, not your fault, try again or wait".
POLITE_RESPONSES = frozenset(
    {
        "utter_platform_unavailable",
        "utter_submission_failed",
        "utter_something_went_wrong",
        "utter_complaint_queued",
    }
)
STALLS_BEFORE_STARTING_OVER = 3
# What only the platform can give: its answer shows the platform is there.
PLATFORM_CUSTOMS = frozenset({"service_card", "application_receipt", "complaint_receipt"})

NAMES = {
    "zh": ["赵一鸣", "钱多多", "孙悦然", "李晓峰", "周子涵", "吴思远", "郑梓萱", "冯浩宇", "陈雨桐", "褚嘉怡"],
    "en": ["Anna Schmidt", "Lukas Moreau", "Maria Okafor", "Jonas Petrova", "Sofia Haddad", "Emil Nakamura"],
}
# Reports whose one message says what, where and when (so the form asks only the rest).
STORIES = {
    "zh": [
        "我们小区的电梯坏了三天没人修，在成都武侯区玉林路",
        "成都武侯区科华北路的垃圾桶好几天没人清运了",
        "成都锦江区春熙路的公共厕所脏得没法进，好几天没人打扫",
        "小区门口的路灯坏了一个月，在成都武侯区玉林路",
        "我家楼下烧烤店每天半夜很吵，在武侯区玉林路",
    ],
    "en": [
        "the traffic light at Jiefang Road in Wuhou, Chengdu has been broken since Monday",
        "a factory near Tongzilin in Wuhou, Chengdu lets out black smoke every night",
        "the buses on route 28 in Jinjiang, Chengdu skip stops every morning",
        "the streetlight on Yulin Road in Wuhou, Chengdu has been out for a month",
        "A bar on Yulin Road in Wuhou, Chengdu plays loud music every night until 3am",
    ],
}
SAYINGS = {
    "zh": {
        "need": "在成都武侯区开小吃店要办食品经营许可吗",
        "apply": "我要在线申请",
        "yes": "是",
        "materials": "齐了",
        "delivery": "窗口领取",
        "confirm": "确认",
        "resume": "继续办理",
        "report": "我要反映问题",
        "no_photo": "没拍照片",
        "anonymous": "匿名",
        "when": "不清楚",
        "where": "成都武侯区玉林路",
        "request_type": "投诉",
        "category": "1",
        "confirm_report": "对的，提交",
    },
    "en": {
        "need": "I need a food business licence in Wuhou, Chengdu",
        "apply": "apply for it now please",
        "yes": "yes",
        "materials": "yes",
        "delivery": "collect at the window",
        "confirm": "confirm",
        "resume": "continue",
        "report": "I want to report a problem",
        "no_photo": "no photo",
        "anonymous": "anonymous",
        "when": "not sure",
        "where": "Yulin Road, Wuhou District, Chengdu",
        "request_type": "complaint",
        "category": "1",
        "confirm_report": "yes that's all correct",
    },
}


class Responses:
    """Which responses of the domain a turn's answers came from."""

    def __init__(self, domain_path: Path = ROOT / "domain.yml") -> None:
        domain = yaml.safe_load(domain_path.read_text(encoding="utf-8"))
        patterns: list[tuple[str, re.Pattern[str], int]] = []
        for name, variations in domain["responses"].items():
            for variation in variations:
                text = (variation.get("text") or "").strip()
                if not text:
                    continue
                parts = re.split(r"\{[^}]*\}", text)
                regex = ".*?".join(re.escape(part) for part in parts)
                patterns.append((name, re.compile(regex, re.DOTALL), sum(map(len, parts))))
        # The most literal text first: "{name}" alone would match everything.
        self._patterns = sorted(patterns, key=lambda found: -found[2])

    def of(self, text: str) -> str | None:
        text = text.strip()
        return next((name for name, pattern, _ in self._patterns if pattern.fullmatch(text)), None)

    def names(self, answers: Answers) -> list[str]:
        found = (self.of(answer.get("text") or "") for answer in answers)
        return [name for name in found if name]


def customs(answers: Answers) -> dict[str, dict[str, Any]]:
    """The custom payloads of a turn by type (the last of each type)."""
    return {
        custom["type"]: custom
        for answer in answers
        if isinstance(custom := answer.get("custom"), dict) and isinstance(custom.get("type"), str)
    }


def is_polite(answers: Answers, responses: Responses) -> bool:
    """True when the turn says something is unavailable (and nothing else went wrong)."""
    texts = [(answer.get("text") or "").strip() for answer in answers]
    return any(text == NO_ANSWER for text in texts) or bool(POLITE_RESPONSES & set(responses.names(answers)))


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str


def person(lang: str, number: int) -> Person:
    """A fake applicant, different for each `number`: a valid ID number and mobile."""
    rng = random.Random(number)
    first17 = f"510107{1960 + number % 40}{1 + number % 12:02d}{1 + number % 28:02d}{number % 1000:03d}"
    names = NAMES[lang]
    return Person(names[number % len(names)], first17 + check_character(first17), f"139{rng.randrange(10**8):08d}")


@dataclass
class Citizen:
    """One conversation: `flow` "application" (a food business licence, applied for online)
    or "report" (a problem told in one message, with a phone or anonymously).

    `reply(answers)` gives the next message, or None once the receipt (or, for a report
    kept while the platform was down, its temporary reference) has been received.
    """

    sender: str
    lang: str
    flow: str
    number: int
    anonymous: bool = False
    done: bool = False
    receipt: dict[str, Any] | None = None
    queued: dict[str, Any] | None = None
    confirmations: int = 0
    stalls: int = 0
    stalls_in_a_row: int = 0
    restarts: int = 0
    said: list[str] = field(default_factory=list)

    @property
    def person(self) -> Person:
        return person(self.lang, self.number)

    @property
    def story(self) -> str:
        stories = STORIES[self.lang]
        return stories[self.number % len(stories)]

    @property
    def receipt_number(self) -> str | None:
        """The application or report number of the receipt received, if any."""
        if self.receipt is None:
            return None
        return str(self.receipt.get("application_id") or self.receipt.get("complaint_id"))

    def first(self) -> str:
        return self._say(self.story if self.flow == "report" else SAYINGS[self.lang]["need"])

    def reply(self, answers: Answers, responses: Responses) -> str | None:
        """The next message after `answers`; None when done. A turn that asked nothing
        this citizen can answer gets the last message again (`stalls` counts them); after
        three in a row, as if the assistant had forgotten the conversation, the citizen
        starts it over (`restarts`)."""
        found = customs(answers)
        if self.flow == "application" and "application_receipt" in found:
            self.receipt, self.done = found["application_receipt"], True
            return None
        if self.flow == "report" and "complaint_receipt" in found:
            self.receipt, self.done = found["complaint_receipt"], True
            return None
        if self.flow == "report" and "complaint_queued" in found:
            self.queued, self.done = found["complaint_queued"], True
            return None
        names = responses.names(answers)
        step = self._application(names, found) if self.flow == "application" else self._report(names, found)
        if step is None:
            if is_polite(answers, responses):
                return self._say(self.said[-1])
            self.stalls += 1
            self.stalls_in_a_row += 1
            if self.stalls_in_a_row < STALLS_BEFORE_STARTING_OVER:
                return self._say(self.said[-1])
            self.stalls_in_a_row = 0
            self.restarts += 1
            return self.first()
        self.stalls_in_a_row = 0
        return self._say(step)

    def _application(self, names: list[str], found: dict[str, dict[str, Any]]) -> str | None:
        say, who = SAYINGS[self.lang], self.person
        for name in reversed(names):  # the last thing said is the question asked
            if name in ("utter_application_summary", "utter_answer_confirm"):
                self.confirmations += 1
                return say["confirm"]
            if name == "utter_submission_failed":
                return say["resume"]
            step = {
                "utter_ask_delivery": say["delivery"],
                "utter_invalid_delivery": say["delivery"],
                "utter_ask_phone": who.phone,
                "utter_invalid_phone": who.phone,
                "utter_ask_id_number": who.id_number,
                "utter_ask_applicant_name": who.name,
                "utter_invalid_name": who.name,
                "utter_materials_checklist": say["materials"],
                "utter_answer_materials": say["materials"],
                "utter_ask_materials_continue": say["yes"],
                "utter_eligibility_question": say["yes"],
                "utter_answer_yes_or_no": say["yes"],
                "utter_ask_application_region": say["where"],
                "utter_ask_application_service": say["need"],
            }.get(name) or (who.id_number if name.startswith("utter_invalid_id_number") else None)
            if step:
                return step
        if "service_card" in found:
            return say["apply"]
        return None

    def _report(self, names: list[str], found: dict[str, dict[str, Any]]) -> str | None:
        say = SAYINGS[self.lang]
        contact = say["anonymous"] if self.anonymous else self.person.phone
        for name in reversed(names):
            if name in ("utter_complaint_summary", "utter_complaint_answer_confirm"):
                self.confirmations += 1
                return say["confirm_report"]
            step = {
                "utter_ask_complaint_photos": say["no_photo"],
                "utter_complaint_photo_link": say["no_photo"],
                "utter_ask_complaint_contact": contact,
                "utter_complaint_phone_or_anonymous": contact,
                "utter_ask_complaint_time": say["when"],
                "utter_complaint_time_short": say["when"],
                "utter_ask_complaint_region": say["where"],
                "utter_complaint_need_district": say["where"],
                "utter_ask_complaint_request_type": say["request_type"],
                "utter_complaint_choose_request_type": say["request_type"],
                "utter_ask_complaint_category": say["category"],
                "utter_complaint_choose_category": say["category"],
                "utter_ask_complaint_description": self.story,
                "utter_complaint_describe_more": self.story,
                "utter_offer_report": say["report"],
            }.get(name)
            if step:
                return step
        if "service_card" in found:
            return say["report"]
        return None

    def _say(self, message: str) -> str:
        self.said.append(message)
        return message


def citizens(prefix: str, count: int) -> list[Citizen]:
    """`count` citizens, alternating applications and reports, Chinese and English."""
    made = []
    for number in range(count):
        flow = "application" if number % 2 == 0 else "report"
        lang = "zh" if number % 4 < 2 else "en"
        made.append(Citizen(f"{prefix}-{number:02d}-{flow[:3]}-{lang}", lang, flow, number, anonymous=number % 8 == 3))
    return made
