"""Emergencies come first: a message that describes one (a fire, a crime in progress, an
injury or a medical emergency, a gas leak, a traffic accident) is `report_emergency`
whatever the classifier thought, so the rules answer at once with the number to call —
mid-form included — and nothing is filed.

The cues are data (data/complaints/keywords.yml) read by backend/complaints/emergency.py,
plain string matching with the contexts that are not emergencies ('the fire exit has
been blocked for weeks'). A learned intent would be a guess; this is not.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from backend.complaints.emergency import emergency_number
from bot.nlu.text import FingerprintedByCode

EMERGENCY_INTENT = "report_emergency"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyClassifier(FingerprintedByCode, GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/") or emergency_number(text) is None:
                continue
            emergency = {"name": EMERGENCY_INTENT, "confidence": 1.0}
            ranking = [
                entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get("name") != EMERGENCY_INTENT
            ]
            message.set(INTENT, emergency, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [emergency, *ranking], add_to_output=True)
        return messages
