"""Reading the citizen's short replies during reception and status checks.

Pure: text in, values out. Whether a reply is yes or no, which delivery method or field it
names, an application number, a verification code, a date or a time slot among those
offered. The rules for ID numbers and phones themselves live in backend/procedure/identity.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta

_YES = re.compile(
    r"^(是|是的|对|对的|嗯|好|好的|行|可以|确认|确定|没问题|符合|有|都有|齐了|都齐了|继续|继续吧"
    r"|yes|yeah|yep|y|ok|okay|sure|correct|confirm|go on|continue)\W*$",
    re.IGNORECASE,
)
_NO = re.compile(r"^(不|不是|否|没有|没|不对|不符合|还没|no|nope|n|not yet)\W*$", re.IGNORECASE)

DELIVERY_WORDS = {
    "electronic": re.compile(r"电子|网上下载|electronic|e-cert|digital|download|online copy", re.IGNORECASE),
    "mail": re.compile(r"邮寄|快递|寄|送到|mail|post|courier|deliver", re.IGNORECASE),
    "window": re.compile(r"窗口|自取|自己取|领取|现场|去拿|window|pick|collect|counter|in person", re.IGNORECASE),
}
FIELD_WORDS = {
    "id_number": re.compile(r"身份证|证件号|证号|ID", re.IGNORECASE),
    "phone": re.compile(r"手机|电话|号码|phone|mobile|number", re.IGNORECASE),
    "applicant_name": re.compile(r"姓名|名字|名称|name", re.IGNORECASE),
    "delivery": re.compile(r"领取|邮寄|快递|寄送|自取|电子|delivery|mail|post|pick|collect|electronic", re.IGNORECASE),
    "appointment_date": re.compile(r"日期|哪天|那天|时间|date|day", re.IGNORECASE),
    "appointment_time": re.compile(r"时段|几点|点钟|time|slot|hour", re.IGNORECASE),
}
_APPLICATION_ID = re.compile(r"\b([A-Za-z]{2})\s*-?\s*(\d{8})\s*-?\s*([A-Za-z0-9]{6})\b")
_CODE = re.compile(r"^[0-9Xx]{4}$")
_NAME_CJK = re.compile(r"^[\u3400-\u9fff·•]{2,12}$")
_NAME_LATIN = re.compile(r"^[A-Za-z][A-Za-z .'\-]{0,48}[A-Za-z.]$")
_DIGIT_RUN = re.compile(r"\d[\d\s\-]{5,}\d")
_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_ENGLISH_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def normalise(text: str) -> str:
    """Full-width letters and digits as ASCII, surrounding space gone."""
    return unicodedata.normalize("NFKC", text or "").strip()


def is_yes(text: str, intent: str | None = None) -> bool:
    return intent == "affirm" or bool(_YES.match(normalise(text)))


_READY = re.compile(
    r"齐|备好|准备好|都有|带上了|everything|all of them|all the documents|ready|got them", re.IGNORECASE
)
_NEGATED = re.compile(r"没|不|缺|还差|missing|\bnot\b|n't|\bno\b|lack", re.IGNORECASE)


def says_ready(text: str) -> bool:
    """'材料都备好了' / 'I've got everything': the documents are ready (and no 'not' in sight)."""
    text = normalise(text)
    return bool(_READY.search(text)) and not _NEGATED.search(text)


def is_no(text: str, intent: str | None = None) -> bool:
    return intent == "deny" or bool(_NO.match(normalise(text)))


def read_delivery(text: str, offered: Sequence[str]) -> str | None:
    """The delivery method named among those offered, by word or by its number in the list."""
    text = normalise(text)
    named = [method for method, words in DELIVERY_WORDS.items() if method in offered and words.search(text)]
    if len(named) == 1:
        return named[0]
    position = read_position(text, len(offered))
    return offered[position] if position is not None else None


def read_field(text: str) -> str | None:
    """Which detail the citizen wants to change ('手机号写错了' → phone)."""
    text = normalise(text)
    for field, words in FIELD_WORDS.items():
        if words.search(text):
            return field
    return None


def read_application_id(text: str) -> str | None:
    """ZW20261126-7KQ3MX in any case, with or without the hyphens."""
    found = _APPLICATION_ID.search(normalise(text))
    if not found:
        return None
    return f"{found.group(1)}{found.group(2)}-{found.group(3)}".upper()


def read_verification_code(text: str) -> str | None:
    code = re.sub(r"\s+", "", normalise(text))
    return code.upper() if _CODE.match(code) else None


def looks_like_name(text: str) -> bool:
    """A person's name as written on an ID card: 2–12 Chinese characters, or a Latin name."""
    text = normalise(text)
    return bool(_NAME_CJK.match(text) or _NAME_LATIN.match(text))


_REQUEST_WORDS = re.compile(
    r"[吗呢么什怎哪几?？]|多少|要不要|能不能|可不可以|^(how|what|where|when|why|which|who|can|could|is|are|do|does|will|should)\b",
    re.IGNORECASE,
)


def sounds_like_a_request(text: str) -> bool:
    """A question rather than an answer: '多少钱', '在哪办', 'how much'. Names hold no such words."""
    return bool(_REQUEST_WORDS.search(normalise(text)))


_PROGRESS_WORDS = re.compile(
    r"进度|状态|进展|到哪|哪一步|审批|审核|结果|批了|批下来|办好|办完|查询|查一下|查下|查查"
    r"|status|progress|update|approved|track|where is|check|news|result|how far|stage",
    re.IGNORECASE,
)


def asks_about_progress(text: str) -> bool:
    """Words of a status check ('进度', 'status', 'approved yet'), not of finding a service."""
    return bool(_PROGRESS_WORDS.search(normalise(text)))


def has_long_number(text: str) -> bool:
    """Whether the reply carries a number of 7 or more digits (an attempt at an ID or a phone)."""
    return bool(_DIGIT_RUN.search(normalise(text)))


def read_position(text: str, count: int) -> int | None:
    """0-based position named as '2', '第二个', 'the second', 'no. 2' among `count` choices."""
    text = normalise(text).lower()
    number: int | None = None
    if re.fullmatch(r"(第)?\s*\d{1,2}\s*(个|项|种|号)?|(no\.?|number|#)\s*\d{1,2}", text):
        number = int(re.search(r"\d{1,2}", text).group())  # type: ignore[union-attr]
    else:
        found = re.search(r"第([一二两三四五六七八九十])(个|项|种|天|日)?", text)
        if found:
            number = _ORDINALS[found.group(1)]
        else:
            word = re.search(r"\b(first|second|third|fourth|fifth|sixth)\b", text)
            number = _ENGLISH_ORDINALS[word.group(1)] if word else None
    if number is None or not 1 <= number <= count:
        return None
    return number - 1


def read_numbers(text: str, count: int) -> list[int]:
    """Material numbers named in '缺第2项和第4项' / 'missing 2 and 4' (1-based, within range)."""
    numbers = {int(n) for n in re.findall(r"\d{1,2}", normalise(text))}
    numbers |= {_ORDINALS[c] for c in re.findall(r"第([一二三四五六七八九十])", text)}
    return sorted(n for n in numbers if 1 <= n <= count)


def read_date(text: str, offered: Sequence[date], today: date) -> date | None:
    """The date meant by '2026-11-27', '11月27日', '27号', '明天', '周五', 'Friday', 'tomorrow', '第二个'."""
    text = normalise(text).lower()
    wanted: date | None = None
    iso = re.search(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", text)
    month_day = re.search(r"(\d{1,2})\s*[月/.-]\s*(\d{1,2})", text)
    day_only = re.fullmatch(r"(\d{1,2})\s*(号|日)", text)
    try:
        if iso:
            wanted = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        elif month_day:
            month, day = int(month_day.group(1)), int(month_day.group(2))
            wanted = date(today.year + (1 if month < today.month else 0), month, day)
        elif day_only:
            day = int(day_only.group(1))
            wanted = next((d for d in offered if d.day == day), None)
    except ValueError:
        return None
    if wanted is None:
        relative = {"明天": 1, "后天": 2, "大后天": 3, "tomorrow": 1, "day after tomorrow": 2}
        for words, days in sorted(relative.items(), key=lambda item: -len(item[0])):
            if words in text:
                wanted = today + timedelta(days=days)
                break
    if wanted is None:
        weekday = re.search(r"(周|星期|礼拜)([一二三四五六日天])", text)
        index = _WEEKDAYS_ZH[weekday.group(2)] if weekday else None
        if index is None:
            index = next((i for i, name in enumerate(_WEEKDAYS_EN) if name in text or name[:3] == text), None)
        if index is not None:
            wanted = next((d for d in offered if d.weekday() == index), None)
            if wanted is None:
                wanted = today + timedelta(days=(index - today.weekday()) % 7 or 7)
    if wanted is None:
        position = read_position(text, len(offered))
        wanted = offered[position] if position is not None else None
    return wanted


def read_time(text: str, offered: Sequence[str]) -> str | None:
    """The slot ('09:00-10:00') meant by '9点', '上午九点', '下午3点', '3pm', '15:00' or its number."""
    text = normalise(text).lower()
    if text in offered:
        return text
    if re.fullmatch(r"\d{1,2}", text) and 1 <= int(text) <= len(offered):
        return offered[int(text) - 1]
    hour: int | None = None
    found = re.search(r"(\d{1,2})\s*(?::|点|：|am|pm|时|o'clock)", text) or re.fullmatch(r"(\d{1,2})", text)
    if found:
        hour = int(found.group(1))
    else:
        chinese = re.search(r"([一二两三四五六七八九十]{1,2})\s*点", text)
        if chinese:
            digits = chinese.group(1)
            hour = 10 + (_ORDINALS[digits[1]] if len(digits) == 2 else 0) if digits[0] == "十" else _ORDINALS[digits[0]]
    if hour is not None:
        if (re.search(r"下午|晚|pm", text) and hour < 12) or (hour < 7 and not re.search(r"上午|早|am", text)):
            hour += 12
        match = next((slot for slot in offered if int(slot[:2]) == hour), None)
        if match:
            return match
    position = read_position(text, len(offered))
    return offered[position] if position is not None else None
