"""Deciding what the citizen meant from the platform's ranked search results.

Pure. Scores are the platform's BM25 sums; the thresholds were set on the development
set tests/data/search_dev.yml (a real need scores 12 to 60; questions like '要带什么材料'
or 'how much does it cost' with no item in them score under 9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MIN_SCORE = 10.0
"""Below this the best hit is a guess: ask instead of showing a card."""
NAMES_AN_ITEM = 15.0
"""A follow-up question scoring this high names an item of its own ('办护照要带什么材料')."""
CLOSE_RATIO = 0.6
"""Runners-up within this share of the best score are offered alongside the card (on the
development sets the right item, when second or third, scored 0.54-0.98 of the first)."""
NATIONAL_FIRST_RATIO = 0.8
"""While the region is unknown, a national item this close to a local one takes the card."""
SHOWN = 3


@dataclass(frozen=True)
class Decision:
    card: dict[str, Any] | None = None
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    """Runners-up close to the card, or (without a card) the candidates to choose from."""


def decide(results: list[dict[str, Any]], region_known: bool = True) -> Decision:
    """A card when one item stands out, with close runners-up; candidates when none does.

    While the citizen's region is unknown, a local item (one district's own catalogue)
    yields the card to a national item that scores close to it: the national item
    resolves to the citizen's own office once the region is known, the local one only
    ever to its district's. The local item stays among the alternatives.
    """
    if not results:
        return Decision()
    best = results[0]
    if best["score"] < MIN_SCORE:
        return Decision(alternatives=results[:SHOWN])
    if not region_known and best["service"].get("source") == "local":
        national = next(
            (
                found
                for found in results[1:]
                if found["service"].get("source") != "local" and found["score"] >= NATIONAL_FIRST_RATIO * best["score"]
            ),
            None,
        )
        if national is not None:
            results = [national, *(found for found in results if found is not national)]
            best = national
    close = [found for found in results[1:SHOWN] if found["score"] >= CLOSE_RATIO * best["score"]]
    return Decision(card=best["service"], alternatives=[best, *close] if close else [])


def names_an_item(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The item a message names outright, if any."""
    return results[0]["service"] if results and results[0]["score"] >= NAMES_AN_ITEM else None


_ORDINALS = {
    "一": 1, "1": 1, "first": 1, "one": 1, "1st": 1,
    "二": 2, "两": 2, "2": 2, "second": 2, "two": 2, "2nd": 2,
    "三": 3, "3": 3, "third": 3, "three": 3, "3rd": 3,
    "四": 4, "4": 4, "fourth": 4, "four": 4, "4th": 4,
    "五": 5, "5": 5, "fifth": 5, "five": 5, "5th": 5,
}  # fmt: skip
_LAST = re.compile(r"最后|last", re.IGNORECASE)
_ORDINAL = re.compile(
    r"第\s*([一二两三四五1-5])|^\s*([一二两三四五1-5])\s*(?:号|个)?\s*[.。!！]?\s*$|选\s*([一二两三四五1-5])"
    r"|\b(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th)\b"
    r"|\b(?:number|no\.?|option|#)\s*(one|two|three|four|five|[1-5])\b|^\s*(one|two|three|four|five)\s*[.!]?\s*$",
    re.IGNORECASE,
)


def ordinal(text: str, count: int) -> int | None:
    """The 0-based position a text picks among `count` listed options ('第二个', 'the last one')."""
    if _LAST.search(text):
        return count - 1 if count else None
    match = _ORDINAL.search(text)
    if not match:
        return None
    word = next(group for group in match.groups() if group).lower()
    position = _ORDINALS[word] - 1
    return position if position < count else None
