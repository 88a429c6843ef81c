"""Finding personal numbers in free text so that they are not kept: resident ID numbers,
mainland mobile numbers and other long digit runs become neutral placeholders.

Pure: strings in, strings out. `redact_text` is what the tracker store wrapper
(bot/stores/redacting.py) applies to everything it writes; names cannot be recognised by
a pattern and are handled there from the conversation's context instead.

What is replaced, after full-width digits, letters and dashes are read as ASCII:

- `[ID number]`: 18-character resident ID numbers (17 digits and a digit or X) and the
  15-digit ones of before 1999, also written in groups (110101 19900307 4514);
- `[phone]`: mobile numbers 1[3-9]x xxxx xxxx, whole or in 3-4-4 groups with spaces or
  hyphens, with or without +86 / 86 / 0086;
- `[number]`: any other run of 11 or more digits.

A match must stand alone: not glued to a Latin letter or digit, and not joined by `-` or
`_` to more of them, which makes it one part of a longer code. So application numbers
(ZW20261126-7KQ3MX), service item codes (512012002012-511602000000-000-…), dates, region
codes, prices, landlines in groups (028-86665555) and 4-character verification codes stay
as they are. Inside a URL long digit runs name pages, regions and departments, so only
phone numbers and ID numbers with a real birth date are replaced there.
"""

from __future__ import annotations

import re
from typing import Any

ID_PLACEHOLDER = "[ID number]"
PHONE_PLACEHOLDER = "[phone]"
NUMBER_PLACEHOLDER = "[number]"
SEALED_PREFIX = "sealed:"

# One character for one, so that offsets found in the normalised text are offsets in
# the original and the rest of the text is returned exactly as it was.
_ONE_FOR_ONE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}  # full-width ASCII
_ONE_FOR_ONE.update({0x3000: ord(" "), 0x00A0: ord(" ")})
_ONE_FOR_ONE.update({code: ord("-") for code in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE63)})

_SEP = r"(?:[ \t]*-?[ \t]*)"  # between groups: nothing, spaces, or one hyphen with spaces around
_ID18 = rf"[0-9]{{6}}{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}{_SEP}[0-9]{{3}}[0-9Xx]"
_ID15 = rf"[0-9]{{6}}{_SEP}[0-9]{{6}}{_SEP}[0-9]{{3}}"
_PHONE = rf"(?:\(?(?:\+|00)?86\)?{_SEP})?1[3-9][0-9]{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}"
# Alternatives in order of preference; a failed boundary makes the engine try the next.
_FINDER = re.compile(
    rf"(?<![0-9A-Za-z])(?:(?P<id>{_ID18}|{_ID15})|(?P<phone>{_PHONE})|(?P<number>[0-9]{{11,}}))(?![0-9A-Za-z])"
)
_PLACEHOLDERS = {"id": ID_PLACEHOLDER, "phone": PHONE_PLACEHOLDER, "number": NUMBER_PLACEHOLDER}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,15}://[!-~]+")
_SEALED_BODY = re.compile(r"[A-Za-z0-9_\-=+/.:]+")


def normalise_width(text: str) -> str:
    """Full-width ASCII, ideographic and no-break spaces, and dashes as their ASCII selves,
    one character for one."""
    return text.translate(_ONE_FOR_ONE)


def redact_text(text: str) -> str:
    """`text` with ID numbers, mobile numbers and other long digit runs replaced."""
    if not any(char.isdigit() for char in text):
        return text
    plain = normalise_width(text)
    urls = [match.span() for match in _URL.finditer(plain)]
    pieces: list[str] = []
    done = 0
    position = 0
    while match := _FINDER.search(plain, position):
        start, end = match.span()
        kind = match.lastgroup or "number"
        in_url = _inside(urls, start, end)
        if (
            _joined_to_code(plain, start, end)
            or (in_url and kind == "number")
            or (in_url and kind == "id" and not _has_birth_date(match.group()))
        ):
            # Only the next position: a shorter match starting inside cannot be
            # standalone on its left, but the search must still go on after it.
            position = start + 1
            continue
        pieces.append(text[done:start])
        pieces.append(_PLACEHOLDERS[kind])
        done = position = end
    pieces.append(text[done:])
    return "".join(pieces)


def redact_value(value: Any) -> Any:
    """`value` with `redact_text` applied to every string in it, dict keys included, and
    to integers long enough to be a phone or ID number. Always a new container: the
    original is never modified."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_value(key): redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_value(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        # A phone number that reached a slot as a number is still a phone number.
        digits = str(value)
        redacted = redact_text(digits)
        return value if redacted == digits else redacted
    return value


def is_sealed(value: Any) -> bool:
    """Whether `value` is ciphertext from the action server ("sealed:<Fernet token>").

    Only the prefix is the action server's promise; the rest is checked to look like a
    token (ASCII, no spaces, nothing `redact_text` would replace), so that a citizen who
    types "sealed:" in front of their phone number does not get it kept.
    """
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        return False
    body = value[len(SEALED_PREFIX) :]
    return bool(_SEALED_BODY.fullmatch(body)) and redact_text(body) == body


def _joined_to_code(text: str, start: int, end: int) -> bool:
    """Whether the match is joined by `-` or `_` to more letters or digits. (Glued to them
    directly, it is no match: see the boundaries of `_FINDER`.)"""
    before = text[max(start - 2, 0) : start]
    after = text[end : end + 2]
    return (len(before) == 2 and before[1] in "-_" and before[0].isascii() and before[0].isalnum()) or (
        len(after) == 2 and after[0] in "-_" and after[1].isascii() and after[1].isalnum()
    )


def _has_birth_date(number: str) -> bool:
    digits = re.sub(r"[^0-9Xx]", "", number)
    if len(digits) == 18:
        year, month, day = digits[6:10], digits[10:12], digits[12:14]
    else:  # 15 digits, before 1999: the year in two
        year, month, day = "19" + digits[6:8], digits[8:10], digits[10:12]
    return year[:2] in ("18", "19", "20") and "01" <= month <= "12" and "01" <= day <= "31"


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(span_start <= start and end <= span_end for span_start, span_end in spans)
