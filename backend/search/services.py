"""Service search: which items answer a citizen's question, best first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backend.catalogue.items import LANGS, ServiceItem
from backend.catalogue.regions import contains
from backend.search.index import BM25Index, Hit
from backend.search.spelling import Speller
from backend.search.text import Analyzer, Bag, normalize

# How much a field's words count. An item's name says most; how citizens say it
# (keywords) almost as much; the summary and the department only hint.
NAME_WEIGHT = 3.0
KEYWORD_WEIGHT = 2.0
PHRASING_WEIGHT = 1.0
GROUP_WEIGHT = 1.0
SUMMARY_WEIGHT = 0.5
DEPARTMENT_WEIGHT = 0.4
# Local catalogues publish one item per action (新办, 注销, 补发 …): a local item named for
# an action the question does not ask for answers it less well.
UNASKED_ACTION_PRIOR = 0.7


@dataclass(frozen=True)
class ScoredItem:
    item: ServiceItem
    score: float


class ServiceSearch:
    def __init__(
        self,
        items: Iterable[ServiceItem],
        synonyms: Mapping[str, Any],
        phrasings: Mapping[str, Mapping[str, list[str]]],
        department_labels: Mapping[str, Mapping[str, str]],
    ) -> None:
        self._items = {item.id: item for item in items}
        self._phrasings = phrasings
        keywords = [word for item in self._items.values() for word in item.content.get("keywords", {}).get("zh", [])]
        self.analyzer = Analyzer(synonyms, extra_words=keywords)
        self._name_actions = {
            item.id: self.analyzer.actions(" ".join(map(str, item.content["name"].values())))
            for item in self._items.values()
        }
        self._index = BM25Index((item.id, self._bag(item, department_labels)) for item in self._items.values())
        self.speller = Speller(_english_texts(self._items.values(), synonyms, phrasings))

    def _bag(self, item: ServiceItem, department_labels: Mapping[str, Mapping[str, str]]) -> Bag:
        content = item.content
        bag: Bag = defaultdict(float)

        def add(text: str | None, weight: float) -> None:
            if text:
                for token, count in self.analyzer.analyze(text).items():
                    bag[token] += count * weight

        for lang in LANGS:
            add(content["name"].get(lang), NAME_WEIGHT)
            for phrase in content.get("keywords", {}).get(lang, []):
                add(phrase, KEYWORD_WEIGHT)
            for phrase in self._phrasings.get(item.id, {}).get(lang, []):
                add(phrase, PHRASING_WEIGHT)
            add((content.get("summary") or {}).get(lang), SUMMARY_WEIGHT)
            label = department_labels.get(item.department, content.get("office", {}))
            add(label.get(lang), DEPARTMENT_WEIGHT)
        add(content.get("group"), GROUP_WEIGHT)
        return dict(bag)

    def find(self, query: str, region_code: str | None = None, limit: int = 10) -> list[ScoredItem]:
        """Items for `query`; with a region, local items of regions outside it are left out."""

        query = self.speller.correct(normalize(query))
        asked = self.analyzer.actions(query)

        def prior(item_id: str) -> float:
            item = self._items[item_id]
            if item.region_code is None:
                return 1.0
            factor = UNASKED_ACTION_PRIOR if self._name_actions[item_id] - asked else 1.0
            if region_code is None or contains(region_code, item.region_code):
                return factor
            return 0.0

        hits: list[Hit] = self._index.search(self.analyzer.analyze(query), limit, prior)
        return [ScoredItem(self._items[hit.doc_id], round(hit.score, 4)) for hit in hits]


def _english_texts(
    items: Iterable[ServiceItem], synonyms: Mapping[str, Any], phrasings: Mapping[str, Mapping[str, list[str]]]
) -> Iterable[str]:
    """Every English text search knows: the words a misspelt query word may have meant."""
    for item in items:
        content = item.content
        yield content["name"].get("en") or ""
        yield from content.get("keywords", {}).get("en", [])
        yield (content.get("summary") or {}).get("en") or ""
    for by_lang in phrasings.values():
        yield from by_lang.get("en", [])
    for group in synonyms.get("en", []):
        yield from group
    for by_lang in synonyms.get("actions", {}).values():
        yield from by_lang.get("en", [])
    yield from synonyms.get("stopwords", {}).get("en", [])
