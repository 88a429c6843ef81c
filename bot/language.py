"""Which language to answer in: the citizen's latest message decides, `metadata.lang`
overrides. Pure; used by the slot mapping of `lang` (action_detect_language), which the
Rasa server runs itself (bot/speedups.py) and the action server can run too
(actions/language.py).
"""

from __future__ import annotations

import re
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
EXTERNAL_PREFIX = "EXTERNAL: "

_CJK = re.compile(r"[\u3400-\u9fff]")
_REFERENCE = re.compile(r"[A-Za-z]{2}\s*-?\d{8}\s*-?[A-Za-z0-9]{6}")
"""Application and report numbers (ZW20261126-7KQ3MX, GD…) are neither language."""
_LINK = re.compile(r"(?:https?|ftp)://\S+|www\.\S+", re.IGNORECASE)
"""Nor are links (a photo sent with a report)."""
_LATIN_WORD = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]{2,}")
_ASKS_FOR = {
    "zh": re.compile(r"中文|汉语|普通话|chinese|mandarin", re.IGNORECASE),
    "en": re.compile(r"英文|英语|english", re.IGNORECASE),
}


def choose_language(text: str, forced: Any = None, intent: str | None = None, current: str | None = None) -> str:
    """zh or en for a message.

    A message mixing scripts counts Chinese characters against Latin words ('我要办
    passport' is Chinese, 'how do I get a 居住证' is English); a message with neither
    (emoji, digits) keeps the current language. Asking for a language switches to it.
    """
    if forced in LANGUAGES:
        return str(forced)
    if text.startswith("/") or text.startswith(EXTERNAL_PREFIX):
        # A button's payload or an event from the platform says nothing about the citizen's language.
        return current if current in LANGUAGES else DEFAULT_LANGUAGE
    if intent == "switch_language":
        asked = [lang for lang, pattern in _ASKS_FOR.items() if pattern.search(text)]
        if len(asked) == 1:
            return asked[0]
    text = _REFERENCE.sub(" ", _LINK.sub(" ", text))
    chinese = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if chinese == 0 and latin == 0:
        return current if current in LANGUAGES else DEFAULT_LANGUAGE
    return "zh" if chinese >= latin else "en"
