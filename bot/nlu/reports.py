"""Problem reports told apart from searches for a service, with the report classifier's cues.

The intent classifier learns `report_problem` from examples, but a problem told in few
words ("外卖吃出了虫子", "the streetlight outside my house is broken") often lands on
`out_of_scope`, and "I want to report a pothole" on `find_service`, while "我要开一家面馆
需要什么证" may land on `report_problem`. The cues of backend/complaints/classify.py
(data/complaints/keywords.yml) are a second, independent opinion; this component lets it
decide only where the classifier hesitates:

- `find_service` becomes `report_problem` when the cues name a problem category clearly
  (backend.complaints.classify.names_a_problem: not the catch-alls "other" and "government service", whose cues —
  政府, licence — are also words of services) and either a word says "report" or
  "complaint", or the classifier had a report close behind and the message does not ask
  how to get something ("怎么办", "how do I");
- `out_of_scope` or `nlu_fallback` become `report_problem` when the cues name a category
  clearly and the classifier gave a report some chance or was not sure of itself;
- `report_problem` becomes `find_service` when no word says "complaint", "report" or
  "suggestion" and either no cue names what is wrong ("my son just turned 16, does he
  need his own ID card now") or the message asks how to get something done.
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

from backend.complaints.classify import classify, names_a_problem, says_report
from bot.nlu.text import FingerprintedByCode

REPORT = "report_problem"
SEARCH = "find_service"
SOME_CHANCE = 0.1
CLOSE_BEHIND = 0.2
UNSURE = 0.6
_SERVICE_QUESTION = re.compile(
    r"怎么(?:办|报名|办理|申请|领|交|登记|开|弄)|如何|去哪办|哪里办|要办|办个|办什么|什么证|需要什么|哪些材料|开个|开一家|想开"
    r"|how (?:do|does|can|to|should)|what do i need|apply for|get (?:a|the|my)\b|open (?:a|an)\b",
    re.IGNORECASE,
)
"""A question about getting something done: a service search, not a report."""


def reconsidered(intent: str, confidence: float, ranking: Mapping[str, float], text: str) -> str | None:
    """The intent the cues call for instead of `intent`, or None to keep it."""
    if intent not in (REPORT, SEARCH, "out_of_scope", "nlu_fallback"):
        return None
    result = classify(text)
    clear = names_a_problem(result)
    reports = says_report(text)
    asks_how = bool(_SERVICE_QUESTION.search(text))
    chance = ranking.get(REPORT, 0.0)
    if intent == SEARCH and clear and (reports or (chance >= CLOSE_BEHIND and not asks_how)):
        return REPORT
    if intent in ("out_of_scope", "nlu_fallback") and clear and (chance >= SOME_CHANCE or confidence < UNSURE):
        return REPORT
    if intent == REPORT and not reports and (result.category == "other" or asks_how):
        # Nothing wrong is described, or the message asks how to get something done.
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
