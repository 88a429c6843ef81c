"""Applicant details: the 18-character resident ID number (GB 11643) and mobile numbers.

Pure. An ID number is 6 digits of the registering division, the birth date (YYYYMMDD), a
3-digit sequence and a check character computed by ISO 7064 MOD 11-2 (0-9 or X).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
OLDEST_AGE = 130


@dataclass(frozen=True)
class IdCheck:
    number: str
    """Normalised: upper-case X, no spaces."""
    problem: str | None
    """None when valid; otherwise 'length', 'characters', 'birth_date' or 'checksum'."""

    @property
    def valid(self) -> bool:
        return self.problem is None


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True)) % 11]


def check_id_number(raw: str, today: date | None = None) -> IdCheck:
    number = re.sub(r"\s+", "", raw).upper()
    if len(number) != 18:
        return IdCheck(number, "length")
    if not _SHAPE.match(number):
        return IdCheck(number, "characters")
    born = birth_date(number)
    today = today or date.today()
    if born is None or born > today or today.year - born.year > OLDEST_AGE:
        return IdCheck(number, "birth_date")
    if check_character(number[:17]) != number[17]:
        return IdCheck(number, "checksum")
    return IdCheck(number, None)


def birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def normalize_mobile(raw: str) -> str | None:
    """A mainland mobile number (11 digits from 13x to 19x), +86 and separators removed; else None."""
    digits = re.sub(r"[\s\-()]", "", raw)
    digits = re.sub(r"^(\+?86)", "", digits)
    return digits if _MOBILE.match(digits) else None


def mask_id_number(number: str) -> str:
    """What may be shown back: 5101**********123X."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if len(number) > 8 else "*" * len(number)


def mask_mobile(number: str) -> str:
    return number[:3] + "****" + number[-4:] if len(number) == 11 else "*" * len(number)


def mask_name(name: str) -> str:
    """张三 -> 张*, Anna Schmidt -> A***********: the first character only."""
    return name[:1] + "*" * max(1, len(name) - 1)
