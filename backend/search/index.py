"""A BM25 index over weighted token bags: small, in memory, rebuilt at start-up."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

K1 = 1.2
B = 0.6


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float


class BM25Index:
    def __init__(self, docs: Iterable[tuple[str, dict[str, float]]]) -> None:
        self._postings: dict[str, list[tuple[int, float]]] = {}
        self._ids: list[str] = []
        lengths: list[float] = []
        for number, (doc_id, bag) in enumerate(docs):
            self._ids.append(doc_id)
            lengths.append(sum(bag.values()))
            for token, weight in bag.items():
                self._postings.setdefault(token, []).append((number, weight))
        count = len(self._ids)
        average = sum(lengths) / count if count else 1.0
        self._norm = [K1 * (1 - B + B * length / average) for length in lengths]
        self._idf = {
            token: math.log(1 + (count - len(posts) + 0.5) / (len(posts) + 0.5))
            for token, posts in self._postings.items()
        }

    def __len__(self) -> int:
        return len(self._ids)

    def search(
        self,
        query: dict[str, float],
        limit: int,
        prior: Callable[[str], float] | None = None,
    ) -> list[Hit]:
        """Best `limit` documents; `prior` scales (or, with 0, excludes) a document's score."""
        scores: dict[int, float] = {}
        for token, query_weight in query.items():
            idf = self._idf.get(token)
            if idf is None:
                continue
            for number, tf in self._postings[token]:
                gain = query_weight * idf * tf * (K1 + 1) / (tf + self._norm[number])
                scores[number] = scores.get(number, 0.0) + gain
        hits: list[Hit] = []
        for number, score in scores.items():
            doc_id = self._ids[number]
            factor = prior(doc_id) if prior else 1.0
            if factor > 0:
                hits.append(Hit(doc_id, score * factor))
        hits.sort(key=lambda hit: (-hit.score, hit.doc_id))
        return hits[:limit]
