"""Text analysis for search: normalisation, Chinese segmentation, English stemming, synonyms.

Colloquial phrasings and synonyms are data (data/search/synonyms.yml); this module only
knows how to apply them. A synonym group becomes one shared token, so "驾照" in a
question meets "驾驶证" in an item name, and "driver's license" meets "driving licence".
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import jieba
from pypinyin import lazy_pinyin

_CJK = "\u3400-\u9fff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
_HAS_CJK = re.compile(rf"[{_CJK}]")
_APOSTROPHES = re.compile(r"['’`]")

WORD_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.35
SYNONYM_WEIGHT = 1.6
# Chinese words are also indexed by their pinyin, so that 'shenfenzheng' or 'gangao
# tongxingzheng' typed by an English speaker, and homophone typos (身分证), find them.
PINYIN_WEIGHT = 0.5
MIN_PINYIN_LETTERS = 5

Bag = dict[str, float]
"""Weighted tokens of a text."""


def normalize(text: str) -> str:
    """Width, case and apostrophes folded: 'Driver’s  LICENSE' -> "drivers license"."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_APOSTROPHES.sub("", text).split())


def detect_lang(text: str) -> str:
    return "zh" if _HAS_CJK.search(text) else "en"


def stem(word: str) -> str:
    """A light English stemmer: enough to meet plurals and -ing/-ed forms."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement, min_len in (
        ("ies", "y", 5),
        ("sses", "ss", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            if suffix == "es" and not word[:-2].endswith(("ch", "sh", "x", "s", "z")):
                continue
            return word[: len(word) - len(suffix)] + replacement
    return word


class Analyzer:
    """Turns text into weighted tokens; built once from the synonym data."""

    def __init__(self, synonyms: Mapping[str, Any], extra_words: Iterable[str] = ()) -> None:
        logging.getLogger("jieba").setLevel(logging.WARNING)
        self._segmenter = jieba.Tokenizer()
        self._stopwords = {
            lang: {normalize(w) for w in synonyms.get("stopwords", {}).get(lang, [])} for lang in ("zh", "en")
        }
        self._groups: list[tuple[str, re.Pattern[str]]] = []
        cjk_words: set[str] = set(w for w in extra_words if _HAS_CJK.search(w))
        for lang in ("zh", "en"):
            for index, group in enumerate(synonyms.get(lang, [])):
                phrases = sorted({normalize(p) for p in group}, key=len, reverse=True)
                cjk_words.update(p for p in phrases if _HAS_CJK.search(p))
                pattern = "|".join(_phrase_pattern(p) for p in phrases)
                self._groups.append((f"syn:{lang}{index}", re.compile(pattern)))
        self._actions: list[tuple[str, re.Pattern[str]]] = []
        for action, by_lang in synonyms.get("actions", {}).items():
            phrases = sorted({normalize(p) for lang in ("zh", "en") for p in by_lang.get(lang, [])})
            cjk_words.update(p for p in phrases if _HAS_CJK.search(p))
            self._actions.append((action, re.compile("|".join(_phrase_pattern(p) for p in phrases))))
        for word in cjk_words:
            if 1 < len(word) <= 8 and " " not in word:
                self._segmenter.add_word(word, freq=2000)
        self._segmenter.initialize()

    def actions(self, text: str) -> frozenset[str]:
        """What the text asks to have done (the `actions` of synonyms.yml)."""
        text = normalize(text)
        return frozenset(action for action, pattern in self._actions if pattern.search(text))

    def analyze(self, text: str) -> Bag:
        text = normalize(text)
        tokens: Bag = defaultdict(float)
        for run in _RUNS.findall(text):
            if _HAS_CJK.match(run):
                self._add_chinese(run, tokens)
            elif run not in self._stopwords["en"]:
                tokens[stem(run)] += WORD_WEIGHT
                if len(run) >= MIN_PINYIN_LETTERS and run.isalpha():
                    tokens["py:" + run] += PINYIN_WEIGHT
        for token, pattern in self._groups:
            if pattern.search(text):
                tokens[token] += SYNONYM_WEIGHT
        return dict(tokens)

    def _add_chinese(self, run: str, tokens: Bag) -> None:
        stop = self._stopwords["zh"]
        for word in self._segmenter.lcut_for_search(run):
            if word not in stop and (len(word) > 1 or run == word):
                tokens[word] += WORD_WEIGHT
                if len(word) > 1:
                    tokens["py:" + pinyin_of(word)] += PINYIN_WEIGHT
        for i in range(len(run) - 1):
            bigram = run[i : i + 2]
            if bigram not in stop:
                tokens["b:" + bigram] += BIGRAM_WEIGHT


@cache
def pinyin_of(word: str) -> str:
    """Toneless pinyin of a Chinese word, syllables joined: 身份证 -> shenfenzheng."""
    return "".join(lazy_pinyin(word))


def _phrase_pattern(phrase: str) -> str:
    if _HAS_CJK.search(phrase):
        return re.escape(phrase)
    return rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])"
