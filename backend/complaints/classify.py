"""What a citizen's problem report is about (one of the contract's 19 categories) and what
kind of request it is (consultation, help, suggestion, complaint or report).

Cue words with weights, in data/complaints/keywords.yml, are matched longest first, and the
text a cue covers counts once. "消防通道被占" is a blocked fire lane and not also a fire.
The category with the highest total weight wins, and the result names the cues behind
it. Chinese cues are matched as substrings. English cues are matched as whole words,
light-stemmed (backend.search.text), so "potholes" meets "pothole" and "didn't stop"
meets "did not stop".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from backend.catalogue.sources import read_yaml
from backend.complaints.categories import read_complaint_codes
from backend.search.text import normalize, stem
from backend.settings import DATA_DIR

KEYWORDS_FILE = DATA_DIR / "complaints" / "keywords.yml"
FALLBACK_CATEGORY = "other"
DEFAULT_REQUEST_TYPE = "complaint"
MIN_SCORE = 2.0
"""Below this (one weak context word, say) nothing is decided: the category is "other" and
the request type the default."""
ALL_OF = " + "
"""Joins the parts of a cue that must all appear, in order, in one sentence."""

_CJK = "\u3400-\u9fff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_HAS_LATIN = re.compile("[a-z0-9]")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
_SENTENCE_END = "。.!?;"
_WORDS = re.compile(rf"[a-z0-9]+|[{re.escape(_SENTENCE_END)}]")
_SENTENCE_BREAK = "|"
_NEGATIONS = frozenset(
    {
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "hasnt",
        "havent",
        "hadnt",
        "wont",
        "cant",
        "cannot",
        "couldnt",
        "shouldnt",
        "wouldnt",
        "aint",
    }
)
_FILLERS = frozenset({"a", "an", "the", "very", "really", "is", "are", "was", "were", "am", "be", "been", "being"})
_AUXILIARIES = frozenset(
    {
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "can",
        "could",
        "will",
        "would",
        "should",
        "must",
    }
)
"""Dropped before "not", so that "did not stop" reads as "didn't stop"."""
_UNDOUBLED = ("bb", "dd", "gg", "mm", "nn", "pp", "rr", "tt")


@dataclass(frozen=True)
class Cue:
    label: str
    """The category or request-type code the cue points to."""
    text: str
    """As written in keywords.yml, to explain a result."""
    weight: float
    parts: tuple[str, ...]
    """Normalised; more than one when all must appear in order ("rubbish + not collected")."""
    latin: bool
    """Matched on the English words of a text rather than on its characters (Chinese, "?")."""

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        if self.latin:
            words = [rf"(?<![^ ])({re.escape(part)})(?![^ ])" for part in self.parts]
            return re.compile(f"[^{re.escape(_SENTENCE_BREAK)}]*?".join(words))
        return re.compile(f"[^{re.escape(_SENTENCE_END)}]*?".join(f"({re.escape(part)})" for part in self.parts))

    def spans(self, text: str) -> Iterator[tuple[tuple[int, int], ...]]:
        """Each place the cue is found in `text`: the span of every part."""
        if len(self.parts) == 1:
            needle = f" {self.parts[0]} " if self.latin else self.parts[0]
            offset = 1 if self.latin else 0
            start = text.find(needle)
            while start >= 0:
                yield ((start + offset, start + offset + len(self.parts[0])),)
                start = text.find(needle, start + 1)
        elif all(part in text for part in self.parts):
            for found in self._pattern.finditer(text):
                yield tuple(found.span(group) for group in range(1, len(self.parts) + 1))


@dataclass(frozen=True)
class Lexicon:
    """Every cue, by what it points to; built from keywords.yml or from a test's own mapping."""

    categories: tuple[str, ...]
    """Category codes in contract order, which also breaks ties."""
    category_cues: tuple[Cue, ...]
    request_types: tuple[str, ...]
    """Request-type codes, the first winning a tie."""
    request_cues: tuple[Cue, ...]
    default_request_type: str = DEFAULT_REQUEST_TYPE
    fallback_category: str = FALLBACK_CATEGORY
    min_score: float = MIN_SCORE

    @classmethod
    def from_data(cls, data: Mapping[str, Any], categories: Sequence[str] | None = None) -> Lexicon:
        """`data` is shaped like keywords.yml; `categories` (contract order) defaults to its own."""
        weights = data.get("weights", {"strong": 3, "usual": 2, "weak": 1})
        by_category = data.get("categories", {})
        codes = tuple(categories or by_category)
        if unknown := set(by_category) - set(codes):
            raise ValueError(f"keywords.yml: categories not in the contract: {sorted(unknown)}")
        requests = data.get("request_types", {})
        request_cues = requests.get("cues", {})
        priority = tuple(requests.get("priority", request_cues))
        if unknown := set(request_cues) - set(priority):
            raise ValueError(f"keywords.yml: request types missing from request_types.priority: {sorted(unknown)}")
        return cls(
            categories=codes,
            category_cues=_distinct(_read_cues(by_category, weights)),
            request_types=priority,
            request_cues=_distinct(_read_cues(request_cues, weights)),
            default_request_type=requests.get("default", DEFAULT_REQUEST_TYPE),
            min_score=float(data.get("min_score", MIN_SCORE)),
        )

    def candidates(self, chars: str, words: str) -> list[Cue]:
        """Cues that may occur in a text: those whose first character or word it has."""
        keys = set(chars) | {"w:" + word for word in words.split()}
        return [cue for key in keys for cue in self._index.get(key, ())]

    @cached_property
    def _index(self) -> dict[str, list[Cue]]:
        index: dict[str, list[Cue]] = {}
        for cue in (*self.category_cues, *self.request_cues):
            index.setdefault(_first_key(cue), []).append(cue)
        return index


@dataclass(frozen=True)
class Classification:
    category: str
    """A contract category code; "other" when no category's cues reach the minimum score."""
    request_type: str
    """A contract request-type code; "complaint" unless cues say otherwise."""
    scores: dict[str, float]
    """Total cue weight of every category and request type that any cue pointed to."""
    matched: list[str]
    """The cues found, as "code:cue as written", in the order they appear."""


def classify(text: str, lexicon: Lexicon | None = None) -> Classification:
    """The category and request type of a citizen's report, with the cues behind them."""
    lexicon = lexicon or load_lexicon()
    chars, words = _prepare(text)
    candidates = lexicon.candidates(chars, words)
    category_codes = set(lexicon.categories)
    found_categories = _longest_first([cue for cue in candidates if cue.label in category_codes], chars, words)
    found_requests = _longest_first([cue for cue in candidates if cue.label not in category_codes], chars, words)
    category = _best(found_categories, lexicon.categories, lexicon.min_score) or lexicon.fallback_category
    request_type = (
        _best(found_requests, lexicon.request_types, lexicon.min_score, order_first=True)
        or lexicon.default_request_type
    )
    scores: dict[str, float] = defaultdict(float)
    for cue, _ in (*found_categories, *found_requests):
        scores[cue.label] += cue.weight
    found = sorted((*found_categories, *found_requests), key=lambda item: item[1])
    return Classification(category, request_type, dict(scores), [f"{cue.label}:{cue.text}" for cue, _ in found])


@cache
def load_lexicon(path: Path = KEYWORDS_FILE) -> Lexicon:
    """The lexicon of keywords.yml, checked against the contract's codes; read once."""
    codes, data = read_complaint_codes(), read_yaml(path)
    if missing := set(codes.categories) - set(data["categories"]):
        raise ValueError(f"keywords.yml: contract categories without an entry: {sorted(missing)}")
    lexicon = Lexicon.from_data(data, categories=list(codes.categories))
    if unknown := {lexicon.default_request_type, *lexicon.request_types} - set(codes.request_types):
        raise ValueError(f"keywords.yml: request types not in the contract: {sorted(unknown)}")
    return lexicon


def _longest_first(cues: Iterable[Cue], chars: str, words: str) -> list[tuple[Cue, int]]:
    """Each cue found with where it first appears. Text a longer cue took is not counted
    again, except by the same words listed under another label ("driver": bus or traffic)."""
    found = []
    for cue in cues:
        text = words if cue.latin else chars
        for spans in cue.spans(text):
            length = sum(end - start for start, end in spans)
            found.append((-length, -cue.weight, spans[0][0], cue.latin, spans, cue))
    found.sort(key=lambda match: match[:4])
    taken = {False: bytearray(len(chars)), True: bytearray(len(words))}
    accepted: set[tuple[bool, tuple[tuple[int, int], ...]]] = set()
    first_seen: dict[Cue, int] = {}
    for *_, latin, spans, cue in found:
        if (latin, spans) not in accepted:
            if any(any(taken[latin][start:end]) for start, end in spans):
                continue
            for start, end in spans:
                taken[latin][start:end] = b"\x01" * (end - start)
            accepted.add((latin, spans))
        first_seen[cue] = min(first_seen.get(cue, spans[0][0]), spans[0][0])
    return list(first_seen.items())


def _best(
    found: list[tuple[Cue, int]], order: Sequence[str], min_score: float, order_first: bool = False
) -> str | None:
    """The label with the most weight (at least `min_score`). Ties go to the strongest single
    cue, the most text covered, the earliest mention, and then `order`, or, with
    `order_first`, straight to `order`."""
    total: dict[str, float] = defaultdict(float)
    strongest: dict[str, float] = defaultdict(float)
    covered: dict[str, int] = defaultdict(int)
    first: dict[str, int] = {}
    for cue, position in found:
        total[cue.label] += cue.weight
        strongest[cue.label] = max(strongest[cue.label], cue.weight)
        covered[cue.label] += sum(len(part) for part in cue.parts)
        first[cue.label] = min(first.get(cue.label, position), position)
    rank = {label: index for index, label in enumerate(order)}
    if not total or max(total.values()) < min_score:
        return None
    return min(
        total,
        key=lambda label: (
            -total[label],
            rank.get(label, len(rank)) if order_first else 0,
            -strongest[label],
            -covered[label],
            first[label],
            rank.get(label, len(rank)),
        ),
    )


def _prepare(text: str) -> tuple[str, str]:
    """The text as characters (for Chinese cues) and as stemmed English words, " w w | w "."""
    chars = _SPACE_BETWEEN_CJK.sub("", normalize(text))
    return chars, " " + " ".join(_words(chars)) + " "


def _words(text: str) -> Iterator[str]:
    tokens = _WORDS.findall(text)
    for token, following in zip(tokens, [*tokens[1:], ""], strict=False):
        if token in _SENTENCE_END:
            yield _SENTENCE_BREAK
        elif token in _NEGATIONS:
            yield "not"
        elif token not in _FILLERS and not (token in _AUXILIARIES and following == "not"):
            yield _stem(token)


def _stem(word: str) -> str:
    """The search stemmer, and then "stopp"/"stop" and "charg"/"charge" made to meet."""
    word = stem(word)
    if word.endswith(_UNDOUBLED):
        return word[:-1]
    if len(word) > 4 and word.endswith("e"):
        return word[:-1]
    return word


def _read_cues(by_label: Mapping[str, Any], weights: Mapping[str, float]) -> Iterator[Cue]:
    for label, by_lang in by_label.items():
        for lang, tiers in (by_lang or {}).items():
            for tier, phrases in (tiers or {}).items():
                if tier not in weights:
                    raise ValueError(f"keywords.yml: {label}.{lang}: unknown tier {tier!r}, not one of {list(weights)}")
                for phrase in phrases or []:
                    if not isinstance(phrase, str):
                        raise ValueError(f"keywords.yml: {label}.{lang}.{tier} has {phrase!r}; quote it")
                    yield _cue(label, phrase, float(weights[tier]))


def _distinct(cues: Iterable[Cue]) -> tuple[Cue, ...]:
    """One cue per label and normalised form ("block", "blocked", "blocking"), the heaviest."""
    kept: dict[tuple[str, bool, tuple[str, ...]], Cue] = {}
    for cue in cues:
        key = (cue.label, cue.latin, cue.parts)
        if key not in kept or cue.weight > kept[key].weight:
            kept[key] = cue
    return tuple(kept.values())


def _cue(label: str, phrase: str, weight: float) -> Cue:
    written = [part.strip() for part in phrase.split(ALL_OF.strip())]
    latin = bool(_HAS_LATIN.search(normalize(phrase))) and not _HAS_CJK.search(phrase)
    if latin:
        parts = tuple(" ".join(word for word in _words(part) if word != _SENTENCE_BREAK) for part in written)
    else:
        parts = tuple(_SPACE_BETWEEN_CJK.sub("", normalize(part)) for part in written)
    if not all(parts):
        raise ValueError(f"keywords.yml: {label}: the cue {phrase!r} is empty once normalised")
    return Cue(label=label, text=phrase, weight=weight, parts=parts, latin=latin)


def _first_key(cue: Cue) -> str:
    first = cue.parts[0]
    return "w:" + first.split()[0] if cue.latin else first[0]


CATCH_ALL = frozenset({FALLBACK_CATEGORY, "government-service"})
"""Categories whose cues (政府, 户口, licence) are as much words of services as of problems."""
CLEAR = 3.0
"""Cue weight of a problem named clearly: one strong cue ("路灯", "pothole") or a usual and a weak one."""
_REPORT_WORDS = re.compile(
    r"投诉|举报|反映|曝光|12345|诉求|工单|建议|意见|complain|grievance|\breport|suggestion|feedback", re.IGNORECASE
)


def says_report(text: str) -> bool:
    """A word of reporting, complaining or suggesting ('投诉', 'report', 'feedback')."""
    return bool(_REPORT_WORDS.search(text))


def names_a_problem(result: Classification) -> bool:
    """Whether the cues name what is wrong clearly, in a category that is not a catch-all."""
    return result.category not in CATCH_ALL and result.scores.get(result.category, 0.0) >= CLEAR
