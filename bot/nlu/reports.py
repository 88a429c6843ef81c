"""Problem reports told apart from searches for a service, with the report classifier's cues.

The intent classifier learns `report_problem` from examples, but a problem told in few
words ("外卖吃出了虫子", "the streetlight outside my house is broken") often lands on
`out_of_scope`, and "I want to report a pothole" on `find_service`, while "我要开一家面馆
需要什么证" may land on `report_problem`. The cues of backend/complaints/classify.py
(data/complaints/keywords.yml) are a second, independent opinion; this component lets it
decide only where the classifier hesitates:

- `find_service` becomes `report_problem` when the cues name a problem category clearly
  (weight ≥ STRONG, not the catch-alls "other" and "government service", whose cues —
  政府, licence — are also words of services) and either a word says "report" or
  "complaint", or the classifier had a report close behind and the message does not ask
  how to get something ("怎么办", "how do I");
- `out_of_scope` or `nlu_fallback` become `report_problem` when the cues decide a category
  at all and the classifier gave a report some chance or was not sure of itself;
- `report_problem` becomes `find_service` when no cue names a category, no word says
  "complaint" or "report", and the classifier saw a service search close behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from backend.complaints.classify import classify
from bot.nlu.text import FingerprintedByCode

REPORT = "report_problem"
SEARCH = "find_service"
STRONG = 3.0
"""Cue weight of a category named clearly: one strong cue ("路灯", "pothole") or a usual and a weak one."""
SOME_CHANCE = 0.1
CLOSE_BEHIND = 0.2
UNSURE = 0.6
CATCH_ALL = frozenset({"other", "government-service"})
_SERVICE_QUESTION = re.compile(
    r"怎么(?:办|报名|办理|申请|领|交|登记|开|弄)|如何|去哪办|哪里办|要办|办个|办什么|什么证|需要什么|哪些材料|开个|开一家|想开"
    r"|how (?:do|does|can|to|should)|what do i need|apply for|get (?:a|the|my)\b|open (?:a|an)\b",
    re.IGNORECASE,
)
"""A question about getting something done: a service search, not a report."""
_REPORT_WORDS = re.compile(r"投诉|举报|反映|曝光|12345|诉求|工单|complain|grievance|\breport", re.IGNORECASE)


def reconsidered(intent: str, confidence: float, ranking: Mapping[str, float], text: str) -> str | None:
    """The intent the cues call for instead of `intent`, or None to keep it."""
    if intent not in (REPORT, SEARCH, "out_of_scope", "nlu_fallback"):
        return None
    result = classify(text)
    clear = result.category not in CATCH_ALL and result.scores.get(result.category, 0.0) >= STRONG
    chance = ranking.get(REPORT, 0.0)
    says_report = bool(_REPORT_WORDS.search(text))
    if intent == SEARCH and clear and (says_report or (chance >= CLOSE_BEHIND and not _SERVICE_QUESTION.search(text))):
        return REPORT
    # Not understood anyway: any category the cues decide (the classifier's own minimum) will do.
    decided = result.category not in CATCH_ALL
    if intent in ("out_of_scope", "nlu_fallback") and decided and (chance >= SOME_CHANCE or confidence < UNSURE):
        return REPORT
    if intent == REPORT and result.category == "other" and not says_report and ranking.get(SEARCH, 0.0) >= CLOSE_BEHIND:
        return SEARCH
    return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class ProblemReportClassifier(FingerprintedByCode, GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ProblemReportClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = message.get(INTENT) or {}
            if text.startswith("/") or not intent.get("name"):
                continue
            ranking = {entry["name"]: float(entry["confidence"]) for entry in message.get(INTENT_RANKING_KEY) or []}
            chosen = reconsidered(str(intent["name"]), float(intent.get("confidence") or 0.0), ranking, text)
            if chosen is None:
                continue
            # The ranking stays the classifier's own, to show what was reconsidered.
            confidence = max(ranking.get(chosen, 0.0), float(intent.get("confidence") or 0.0))
            message.set(INTENT, {"name": chosen, "confidence": confidence}, add_to_output=True)
        return messages
