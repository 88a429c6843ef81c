"""English spelling tolerance: 'pasport', 'mariage' and 'tradmark' read as the words the
catalogue knows. Chinese needs none of this (character bigrams already forgive).

Pure. A word the catalogue does not know is replaced by the most frequent known word one
edit away (a letter missing, extra or wrong, found through deletions both ways); short
words and words with no such neighbour are left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

MIN_LENGTH = 5
_WORD = re.compile(r"[a-z]+")


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Speller:
    def __init__(self, texts: Iterable[str]) -> None:
        self._counts: Counter[str] = Counter()
        for text in texts:
            self._counts.update(_WORD.findall(text.lower()))
        self._neighbours: dict[str, set[str]] = {}
        for word in self._counts:
            if len(word) >= MIN_LENGTH:
                for key in _deletions(word) | {word}:
                    self._neighbours.setdefault(key, set()).add(word)

    def correct_word(self, word: str) -> str:
        if len(word) < MIN_LENGTH or word in self._counts:
            return word
        found: set[str] = set(self._neighbours.get(word, ()))
        for key in _deletions(word):
            found |= self._neighbours.get(key, set())
        found = {candidate for candidate in found if abs(len(candidate) - len(word)) <= 1}
        if not found:
            return word
        return max(found, key=lambda candidate: (self._counts[candidate], candidate))

    def correct(self, text: str) -> str:
        """`text` with its unknown English words corrected (expects normalised text)."""
        return _WORD.sub(lambda match: self.correct_word(match.group()), text)
