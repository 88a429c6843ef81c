"""Reading what a citizen says while reporting a problem (complaint_form, actions/complaints.py).

Pure: text in, values out. Whether a message tells a problem or only the wish to report
one, the street or place within a district, when it happened, photo links, a choice of
category or request type, anonymity, a report number, and a satisfaction rating. What
the problem is about (category, request type) is backend/complaints/classify.py's job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone

from actions.replies import normalise, read_position

BEIJING = timezone(timedelta(hours=8))
MAX_PHOTOS = 5
MAX_TIME_CHARS = 60

_BOILERPLATE_ZH = re.compile(
    r"我|要|想|想要|需要|请|帮|一下|一个|个|问题|情况|事情|事|投诉|举报|反映|反馈|求助|建议|咨询|诉求|热线|12345"
    r"|提|有|向|你们|政府|怎么|如何|可以|吗|呢|的|了|下|[，。！？,.!?\s]"
)
_BOILERPLATE_EN = frozenset(
    re.findall(
        r"\S+",
        "i id i'd want wanna would like to make file lodge submit raise a an the complaint complaints report "
        "problem problems issue issues about please help me can could you how do with there is something "
        "12345 hotline hi hello",
    )
)
_CJK = re.compile(r"[\u3400-\u9fff]")

_PLACE_SUFFIX_ZH = re.compile(
    r"(?:大道|大街|街道|路口|路|街|巷|胡同|弄|小区|花园|公寓|大厦|广场|公园|市场|学校|医院|村|社区|号院|号楼|站|桥)"
    r"(?![灯面况线费由过])"
)
_NAME_CHAR_ZH = re.compile(r"[\u3400-\u9fff0-9A-Za-z]")
_NOT_IN_A_NAME = frozenset(
    "的那这个了在是有我们你他她它家楼门口里盏条边旁对面附近和与及跟到从往去来很都也就还被把给上下"
)
_MAX_NAME = 8
_PLACE_EN = re.compile(
    r"\b(?:on|at|in|near|outside|opposite)\s+((?:the\s+)?(?:[A-Z0-9][\w'\-]*\s+){0,4}"
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Alley|Boulevard|Square|Park|Market|Estate|Compound|Community|Station|Bridge|Hospital|School|Mall))\b"
)

_TIME_ZH = re.compile(
    r"今天|昨天|前天|昨晚|今晚|今早|今天早上|早上|上午|中午|下午|傍晚|晚上|夜里|夜间|半夜|深夜|凌晨|每天|天天|每晚|每周|经常|"
    r"总是|一直|最近|近期|刚才|刚刚|上周|本周|这周|上个月|这个月|周[一二三四五六日末]|星期[一二三四五六日天]|"
    r"\d{1,2}[点时]|\d{1,2}月\d{1,2}[日号]|[\d一二两三四五六七八九十几半好]+个?(?:天|月|周|星期|年|小时)|好久|很久"
)
_TIME_EN = re.compile(
    r"\b(today|yesterday|tonight|last (?:night|week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"this (?:morning|afternoon|evening|week|month)|every (?:day|night|morning|evening|week|weekend)|"
    r"(?:at|every|all) night|nightly|daily|weekends?|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|"
    r"saturdays?|sundays?|since|for (?:\d+|a|two|three|several|many|weeks|months|days) ?\w*|recently|"
    r"just now|always|\d{1,2} ?(?:am|pm)|\d{1,2}:\d{2}|o'clock|midnight)\b",
    re.IGNORECASE,
)
_UNKNOWN = re.compile(
    r"^(不清楚|不知道|不记得|记不清|忘了|跳过|不确定|说不清|没注意|无|not sure|unsure|don'?t know|no idea|"
    r"skip|can'?t remember|unknown|n/?a)\W*$",
    re.IGNORECASE,
)
_DAYS_AGO = (
    (re.compile(r"前天|day before yesterday", re.IGNORECASE), 2),
    (re.compile(r"昨天|昨晚|昨日|yesterday|last night", re.IGNORECASE), 1),
    (
        re.compile(
            r"今天|今早|今晚|今日|刚才|刚刚|today|this morning|this afternoon|this evening|tonight|just now"
            r"",
            re.IGNORECASE,
        ),
        0,
    ),
)
_RECURRING = re.compile(r"每|天天|经常|总是|一直|every|always|nightly|daily|weekends|since", re.IGNORECASE)
_HOUR_ZH = re.compile(r"(凌晨|早上|上午|中午|下午|傍晚|晚上|昨晚|今晚|夜里|半夜|晚)?(\d{1,2})[点时](半)?")
_HOUR_EN = re.compile(r"\b(\d{1,2})(?::(\d{2}))? ?(am|pm)\b|\b(\d{1,2}):(\d{2})\b", re.IGNORECASE)
_AFTERNOON = ("下午", "傍晚", "晚上", "昨晚", "今晚", "夜里", "晚")

_URL = re.compile(r"https?://[^\s<>\"',，。；、）)]+", re.IGNORECASE)
_NO = re.compile(
    r"^(没有|没|无|不用|不需要|不发|不发了|跳过|算了|不了|no|nope|none|skip|not needed|no thanks)\W*$", re.I
)
_NO_PHOTO = re.compile(
    r"没有?(?:拍|照片|图|相片)|不发(?:照片|图)|no (?:photos?|pictures?|images?)|didn'?t take|"
    r"(?:don'?t|do not) have (?:one|any|a (?:photo|picture))",
    re.IGNORECASE,
)
_ANONYMOUS = re.compile(
    r"匿名|不留|不想留|不方便留|不用留|不用了|不需要|保密|anonymous|anonymously|no contact"
    r"|don'?t want to (?:give|leave)|rather not|no thanks|without (?:a |my )?(?:phone|number|contact)",
    re.IGNORECASE,
)
_COMPLAINT_ID = re.compile(r"(?<![A-Za-z0-9])(GD)\s*-?\s*(\d{8})\s*-?\s*([2-9A-HJ-NP-Za-hj-np-z]{6})\b", re.IGNORECASE)
_FOUR_DIGITS = re.compile(r"^\d{4}$")

_DISSATISFIED = (
    r"不满意|不太满意|很不满|不认可|没解决|没有解决|不行|差评|没(?:有)?(?:修|处理|解决|改|管|人管)"
    r"|dissatisfied|unsatisfied|unhappy|not good|bad|poor|still (?:not|broken|there)"
    r"|not (?:really |very |at all )?(?:satisfied|happy|ok|okay|resolved|solved|fixed)"
)
_BASICALLY = r"基本满意|还行|还可以|一般|凑合|basically|mostly|partly|sort of|kind of|more or less|somewhat|it'?s ok"
_SATISFIED = r"满意|很好|非常好|挺好|好评|解决了|已解决|satisfied|happy|great|good|resolved|solved|fixed"
RATING_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Looked for in this order: "不满意" before "满意", "not satisfied" before "satisfied".
    ("dissatisfied", re.compile(_DISSATISFIED, re.IGNORECASE)),
    ("basically_satisfied", re.compile(_BASICALLY, re.IGNORECASE)),
    ("satisfied", re.compile(_SATISFIED, re.IGNORECASE)),
)
RATINGS = tuple(rating for rating, _ in reversed(RATING_WORDS))
"""In the order offered: satisfied, basically satisfied, dissatisfied."""


def content(text: str) -> str:
    """The message without the words of wishing to report ('我想跟政府反映点事' → '跟点')."""
    text = normalise(text).lower()
    if _CJK.search(text):
        return _BOILERPLATE_ZH.sub("", text)
    return " ".join(word for word in re.findall(r"[a-z0-9']+", text) if word not in _BOILERPLATE_EN)


def tells_a_problem(text: str) -> bool:
    """Whether a message is long enough to describe a problem once the words of wishing to
    report are gone ('我要投诉' / 'I want to make a complaint' are not; '路灯坏了' is
    recognised by its cues instead, see actions/complaints.py)."""
    rest = content(text)
    return len(rest) >= 4 if _CJK.search(rest) else len(rest.split()) >= 3


def read_place(text: str) -> str | None:
    """The street, estate or landmark named ('玉林路', 'Yulin Road'), to go with the district:
    a word ending like a place (路, 小区, Road…) with a name just before it ('路灯' is no
    road, and '我们小区' names none)."""
    text = normalise(text)
    for suffix in _PLACE_SUFFIX_ZH.finditer(text):
        start = suffix.start()
        while start > 0 and suffix.start() - start < _MAX_NAME and _in_a_name(text[start - 1]):
            start -= 1
        if start < suffix.start():
            end = suffix.end()
            while longer := _PLACE_SUFFIX_ZH.match(text, end):  # 中关村 + 大街, 阳光花园 + 小区
                end = longer.end()
            return text[start:end]
    english = _PLACE_EN.search(text)
    if english:
        return english.group(1).removeprefix("the ").strip()[:100]
    return None


def _in_a_name(char: str) -> bool:
    return bool(_NAME_CHAR_ZH.match(char)) and char not in _NOT_IN_A_NAME


def mentions_time(text: str) -> str | None:
    """The words saying when it happens ('每天半夜', 'last night'), if the message has any."""
    text = normalise(text)
    found = [match.group(0) for match in _TIME_ZH.finditer(text)] or [m.group(0) for m in _TIME_EN.finditer(text)]
    return " ".join(dict.fromkeys(found)) if found else None


def says_unknown(text: str) -> bool:
    return bool(_UNKNOWN.match(normalise(text)))


def read_occurred_at(text: str, now: datetime) -> str | None:
    """A concrete moment for 'yesterday at 10pm' / '今天早上8点' (ISO 8601, Beijing time), or
    None for recurring or vague times ('每天夜里', 'for weeks'), which stay as words."""
    text = normalise(text)
    if _RECURRING.search(text):
        return None
    today = now.astimezone(BEIJING).date()
    days = next((ago for pattern, ago in _DAYS_AGO if pattern.search(text)), None)
    day = today - timedelta(days=days) if days is not None else None
    explicit = re.search(r"(\d{1,2})月(\d{1,2})[日号]", text)
    if explicit:
        day = _this_year(today, int(explicit.group(1)), int(explicit.group(2)))
    if day is None:
        return None
    moment = datetime.combine(day, _hour(text) or time(0, 0), BEIJING)
    if moment > now.astimezone(BEIJING):
        moment = datetime.combine(day, time(0, 0), BEIJING)
    return moment.isoformat()


def _this_year(today: date, month: int, day: int) -> date | None:
    try:
        found = date(today.year, month, day)
        return found if found <= today else date(today.year - 1, month, day)
    except ValueError:
        return None


def _hour(text: str) -> time | None:
    zh = _HOUR_ZH.search(text)
    if zh:
        hour = int(zh.group(2))
        if zh.group(1) in _AFTERNOON and hour < 12:
            hour += 12
        if zh.group(1) == "半夜" and hour == 12:
            hour = 0
        return time(hour % 24, 30 if zh.group(3) else 0)
    en = _HOUR_EN.search(text)
    if en:
        if en.group(3):
            hour = int(en.group(1)) % 12 + (12 if en.group(3).lower() == "pm" else 0)
            return time(hour, int(en.group(2) or 0))
        hour, minute = int(en.group(4)), int(en.group(5))
        return time(hour, minute) if hour < 24 and minute < 60 else None
    if re.search(r"last night|昨晚|tonight|今晚", text, re.IGNORECASE):
        return time(22, 0)
    return None


def read_photo_urls(text: str, metadata: Mapping[str, object] | None = None) -> list[str]:
    """Image links in the message, and any a channel attached (widget upload, WeChat picture)."""
    urls = [url.rstrip(".,;!?") for url in _URL.findall(normalise(text))]
    attached = (metadata or {}).get("photo_urls") or (metadata or {}).get("image")
    if isinstance(attached, str):
        attached = [attached]
    if isinstance(attached, Sequence):
        urls += [url for url in attached if isinstance(url, str) and _URL.fullmatch(url)]
    return list(dict.fromkeys(urls))[:MAX_PHOTOS]


def declines_photo(text: str) -> bool:
    """'没有' / 'no photo' when asked for a photo."""
    return bool(_NO.match(normalise(text))) or says_no_photo(text)


def says_no_photo(text: str) -> bool:
    """'没拍照片' / 'I didn't take a picture': no photo, whatever was asked."""
    return bool(_NO_PHOTO.search(normalise(text)))


_CONFIRM = re.compile(
    r"^(?:好的?|是的?|对的?|没错|没问题|可以|行|确认|确定|无误)?[，,\s]*(?:确认|确定|提交|就这样|无误|没问题|对的|没错)"
    r"|^(?:yes|yep|yeah|ok|okay|sure)?[, ]*(?:that'?s |it'?s |all |looks )*"
    r"(?:correct|right|fine|good|confirm(?:ed)?|submit|file it|send it)",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"不|没|错|wrong|not|n't|change", re.IGNORECASE)


def confirms(text: str) -> bool:
    """'对的，提交' / 'yes that's all correct': go ahead (and no 'wrong' or 'not' in it)."""
    text = normalise(text)
    return bool(_CONFIRM.search(text)) and not _NEGATION.search(text.replace("没问题", "").replace("没错", ""))


def wants_anonymity(text: str) -> bool:
    """'匿名' / 'I'd rather stay anonymous': no contact number."""
    return bool(_ANONYMOUS.search(normalise(text)))


def read_choice(text: str, options: Mapping[str, Sequence[str]]) -> str | None:
    """An option by its number in the list, or by one of its names (either language)."""
    text = normalise(text)
    codes = list(options)
    position = read_position(text, len(codes))
    if position is not None:
        return codes[position]
    lowered = text.lower().strip(" .。!！")
    exact = [code for code, names in options.items() if any(lowered == name.lower() for name in names)]
    if exact:
        return exact[0]
    inside = [code for code, names in options.items() if any(name.lower() in lowered for name in names if name)]
    return inside[0] if len(inside) == 1 else None


REPORT_FIELD_WORDS = {
    "complaint_request_type": re.compile(r"类型|性质|request type|kind of request|\btype\b", re.IGNORECASE),
    "complaint_category": re.compile(r"类别|分类|类目|category", re.IGNORECASE),
    "complaint_region": re.compile(
        r"地点|位置|地址|地方|区县|哪个区|where|place|location|address|district", re.IGNORECASE
    ),
    "complaint_time": re.compile(r"时间|什么时候|日期|when|time|date", re.IGNORECASE),
    "complaint_photos": re.compile(r"照片|图片|相片|photo|picture|image", re.IGNORECASE),
    "complaint_contact": re.compile(r"电话|手机|联系|匿名|phone|mobile|contact|anonymous", re.IGNORECASE),
    "complaint_description": re.compile(
        r"描述|内容|情况|经过|description|details|what happened|wording", re.IGNORECASE
    ),
}


def read_report_field(text: str) -> str | None:
    """Which part of the report the citizen wants to change ('地点写错了' → complaint_region)."""
    text = normalise(text)
    return next((field for field, words in REPORT_FIELD_WORDS.items() if words.search(text)), None)


def read_complaint_id(text: str) -> str | None:
    """GD20261126-7KQ3MX in any case, with or without the hyphen."""
    found = _COMPLAINT_ID.search(normalise(text))
    if not found:
        return None
    return f"GD{found.group(2)}-{found.group(3)}".upper()


def read_complaint_code(text: str) -> str | None:
    """Four digits: the last four of the reporter's phone, or an anonymous report's code."""
    code = re.sub(r"\s+", "", normalise(text))
    return code if _FOUR_DIGITS.match(code) else None


def read_rating(text: str) -> str | None:
    """satisfied, basically_satisfied or dissatisfied, by word or by its number (1–3)."""
    text = normalise(text)
    position = read_position(text, len(RATINGS))
    if position is not None:
        return RATINGS[position]
    for rating, words in RATING_WORDS:
        if words.search(text):
            return rating
    return None
