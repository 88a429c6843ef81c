"""Is the citizen describing an emergency happening now, and if so which number to call.

Runs on every message the assistant reads (bot/nlu/emergency.py), so it is plain phrase
matching over folded text (no segmenter, no search index), with its cues read once from
data/complaints/keywords.yml. It is conservative. A message about a past or habitual
problem, a hazard, a drill or a claim is not an emergency, unless it also says the thing
is happening now. Phrases that only look like a cue, such as "fire exit" or "消防通道",
are read first, whole, and ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from backend.settings import DATA_DIR

KEYWORDS_FILE = DATA_DIR / "complaints" / "keywords.yml"
NUMBERS = ("110", "119", "120", "122")
ALL_OF = "+"
"""Joins the parts of a cue that must all appear, in order, in one sentence ("有人 + 掉下来")."""

_CJK = re.compile("[\u3400-\u9fff]")
_SPACE_BETWEEN_CJK = re.compile("(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
_FOLDED_AWAY = re.compile(r"['’`]")
_SEPARATORS = re.compile(r"[\s\-‐‑–—_/]+")
_LATIN = re.compile("[a-z0-9]")
_SENTENCE_END = re.compile("[。.!?;]")


def normalise(text: str) -> str:
    """Width and case folded, apostrophes dropped, hyphens read as spaces: 'There’s a FIRE-' -> "theres a fire"."""
    text = _FOLDED_AWAY.sub("", unicodedata.normalize("NFKC", text).lower())
    return _SPACE_BETWEEN_CJK.sub("", _SEPARATORS.sub(" ", text).strip())


@dataclass(frozen=True)
class EmergencyCues:
    """The `emergencies` section of keywords.yml, normalised."""

    cues: Mapping[tuple[str, ...], str]
    """Phrase (its parts) -> the number it calls for."""
    not_emergency: frozenset[tuple[str, ...]]
    """Phrases that contain or resemble a cue and are not one."""
    contexts: tuple[tuple[str, ...], ...]
    """Past, habitual, hypothetical, a hazard or a claim: the message is not an emergency..."""
    now: tuple[tuple[str, ...], ...]
    """...unless one of these says it is happening now."""
    priority: tuple[str, ...]
    """Which number wins when a message calls for several."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> EmergencyCues:
        cues: dict[tuple[str, ...], str] = {}
        for number, by_lang in data["cues"].items():
            if str(number) not in NUMBERS:
                raise ValueError(f"keywords.yml: {number!r} is not an emergency number {NUMBERS}")
            for phrase in _phrases(by_lang, f"emergencies.cues.{number}"):
                cues[phrase] = str(number)
        negative = data.get("not_emergency", {})
        not_emergency = frozenset(_phrases(negative.get("phrases", {}), "not_emergency.phrases"))
        if clash := not_emergency & cues.keys():
            raise ValueError(f"keywords.yml: both an emergency cue and not one: {sorted(clash)}")
        priority = tuple(str(number) for number in data.get("priority", NUMBERS))
        if sorted(priority) != sorted(NUMBERS):
            raise ValueError(f"keywords.yml: emergencies.priority must order exactly {NUMBERS}")
        return cls(
            cues=cues,
            not_emergency=not_emergency,
            contexts=tuple(_phrases(negative.get("contexts", {}), "not_emergency.contexts")),
            now=tuple(_phrases(negative.get("now", {}), "not_emergency.now")),
            priority=priority,
        )

    def numbers_in(self, text: str) -> set[str]:
        """Numbers called for by the cues in normalised `text`: the phrases that are not
        emergencies are read first, then the cues, each longest phrase first."""
        taken = bytearray(len(text))
        numbers: set[str] = set()
        starts = set(text)
        for index in (self._not_emergency_index, self._cue_index):
            found = sorted(
                (-sum(len(part) for part in phrase), spans, phrase)
                for start in starts
                for phrase in index.get(start, ())
                if all(part in text for part in phrase)
                for spans in _places(text, phrase)
            )
            for _, spans, phrase in found:
                if not any(any(taken[start:end]) for start, end in spans):
                    for start, end in spans:
                        taken[start:end] = b"\x01" * (end - start)
                    if phrase in self.cues:
                        numbers.add(self.cues[phrase])
        return numbers

    @cached_property
    def _cue_index(self) -> dict[str, list[tuple[str, ...]]]:
        return _by_first_character(self.cues)

    @cached_property
    def _not_emergency_index(self) -> dict[str, list[tuple[str, ...]]]:
        return _by_first_character(self.not_emergency)


@cache
def load_emergency_cues(path: Path = KEYWORDS_FILE) -> EmergencyCues:
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return EmergencyCues.from_data(data["emergencies"])


def emergency_number(text: str, cues: EmergencyCues | None = None) -> str | None:
    """'110', '119', '120' or '122' when `text` describes an emergency happening now, else None."""
    cues = cues or load_emergency_cues()
    text = normalise(text)
    numbers = cues.numbers_in(text)
    if not numbers:
        return None
    if _mentions(text, cues.contexts) and not _mentions(text, cues.now):
        return None
    return next(number for number in cues.priority if number in numbers)


def _by_first_character(phrases: Iterable[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    """Phrases by their first character: a message is only checked for the phrases it can hold."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        index.setdefault(phrase[0][0], []).append(phrase)
    return index


def _mentions(text: str, phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(all(part in text for part in phrase) and next(_places(text, phrase), None) for phrase in phrases)


def _places(text: str, phrase: tuple[str, ...]) -> Iterator[tuple[tuple[int, int], ...]]:
    """Where each part of `phrase` is, the parts in order and in one sentence."""
    first, *rest = phrase
    for start in _occurrences(text, first):
        spans = [(start, start + len(first))]
        for part in rest:
            end = spans[-1][1]
            following = next(_occurrences(text, part, end), None)
            if following is None or _SENTENCE_END.search(text, end, following):
                break
            spans.append((following, following + len(part)))
        else:
            yield tuple(spans)


def _occurrences(text: str, phrase: str, after: int = 0) -> Iterator[int]:
    """Where `phrase` starts in `text`; a phrase without Chinese only as whole words."""
    whole_words = not _CJK.search(phrase)
    start = text.find(phrase, after)
    while start >= 0:
        end = start + len(phrase)
        if not whole_words or (
            (start == 0 or not _LATIN.match(text[start - 1])) and (end == len(text) or not _LATIN.match(text[end]))
        ):
            yield start
        start = text.find(phrase, start + 1)


def _phrases(by_lang: Mapping[str, Any], where: str) -> list[tuple[str, ...]]:
    phrases = []
    for lang in ("zh", "en"):
        for phrase in by_lang.get(lang) or []:
            if not isinstance(phrase, str):
                raise ValueError(f"keywords.yml: {where}.{lang} has {phrase!r}; quote it to make it a phrase")
            parts = tuple(normalise(part) for part in phrase.split(ALL_OF))
            if not all(parts):
                raise ValueError(f"keywords.yml: {where}.{lang}: {phrase!r} has an empty part")
            phrases.append(parts)
    return phrases
