"""Which language to answer in: the citizen's latest message decides, `metadata.lang` overrides.

`action_detect_language` fills the slot `lang` at every user turn (a custom slot mapping,
see domain.yml), before any response is chosen, so conditional responses and actions
alike answer in the language of the message being answered.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.language import DEFAULT_LANGUAGE, LANGUAGES, choose_language

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "ActionDetectLanguage", "choose_language"]


class ActionDetectLanguage(Action):
    def name(self) -> str:
        return "action_detect_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        message = tracker.latest_message or {}
        lang = choose_language(
            message.get("text") or "",
            (message.get("metadata") or {}).get("lang"),
            (message.get("intent") or {}).get("name"),
            tracker.get_slot("lang"),
        )
        return [SlotSet("lang", lang)]
