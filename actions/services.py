"""Finding a service item and answering questions about it (CONTRACT.md §2).

Each action reads the conversation's slots (`lang`, `region`, `service_id`,
`candidates`, `region_asked`), asks the platform in a thread, and answers with
responses from domain.yml plus the custom payloads of actions/cards.py.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import cards
from actions.matching import SHOWN, decide, names_an_item, ordinal
from actions.platform import PlatformClient, PlatformUnavailable, in_thread
from backend.complaints.classify import classify, names_a_problem

LIMIT = 5
logger = logging.getLogger(__name__)
_platform: PlatformClient | None = None


def platform() -> PlatformClient:
    global _platform
    if _platform is None:
        _platform = PlatformClient()
    return _platform


class Conversation:
    """One turn's view of the tracker and the way to answer in it."""

    def __init__(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        self.dispatcher = dispatcher
        self.tracker = tracker
        self.lang: str = tracker.get_slot("lang") or "zh"
        self.region: str | None = tracker.get_slot("region")
        self.text: str = (tracker.latest_message or {}).get("text") or ""
        self.events: list[EventType] = []

    def _text_without_place(self) -> str:
        spans = [
            (entity["start"], entity["end"])
            for entity in (self.tracker.latest_message or {}).get("entities") or []
            if entity.get("entity") == "region" and isinstance(entity.get("start"), int)
        ]
        text = self.text
        for start, end in sorted(spans, reverse=True):
            text = text[:start] + " " + text[end:]
        return text

    def say(self, response: str, **kwargs: Any) -> None:
        self.dispatcher.utter_message(response=response, **kwargs)

    async def search(self, text: str | None = None) -> list[dict[str, Any]]:
        """Items for what the citizen said; the place they named is the region, not words to match."""
        query = (text if text is not None else self._text_without_place()).strip()
        if not query:
            return []
        return await in_thread(platform().find_services, query, self.region, self.lang, LIMIT)

    async def service(self, service_id: str) -> dict[str, Any] | None:
        return await in_thread(platform().service, service_id, self.region, self.lang)

    def show_card(
        self, service: dict[str, Any], alternatives: list[dict[str, Any]] | None = None, then_ask_region: bool = True
    ) -> None:
        """The card; close alternatives after it; the region asked for once if the office needs it."""
        self.say("utter_service_card", json_message=cards.card_payload(service), **cards.card_args(service, self.lang))
        self.events.append(SlotSet("service_id", service["id"]))
        if alternatives:
            self.show_candidates(alternatives, "utter_alternatives")
        if then_ask_region:
            self.ask_region_once(service)

    def ask_region_once(self, service: dict[str, Any]) -> None:
        if service.get("office") is None and not self.tracker.get_slot("region_asked"):
            self.ask_region()

    def show_candidates(self, results: list[dict[str, Any]], response: str = "utter_candidates") -> None:
        self.say(
            response,
            json_message=cards.candidates_payload(results),
            buttons=cards.candidate_buttons(results),
            choices=cards.candidates_text(results, self.lang),
        )
        self.events.append(SlotSet("candidates", [found["service"]["id"] for found in results]))

    def ask_region(self) -> None:
        self.say("utter_ask_region")
        self.events.append(SlotSet("region_asked", True))


class ServiceAction(Action, ABC):
    """Runs `answer`; a platform that cannot be reached, or a fault of ours, gets a polite
    apology rather than silence."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        conversation = Conversation(dispatcher, tracker)
        try:
            await self.answer(conversation)
        except PlatformUnavailable as error:
            logger.warning("%s: platform unavailable: %s", self.name(), error)
            dispatcher.utter_message(response="utter_platform_unavailable")
        except Exception:
            # A bug must not leave the citizen without an answer; the log has the details.
            logger.exception("%s failed", self.name())
            dispatcher.utter_message(response="utter_something_went_wrong")
            return []
        return conversation.events

    @abstractmethod
    async def answer(self, conversation: Conversation) -> None:
        """Answers through `conversation`, whose events the action returns."""


class ActionFindService(ServiceAction):
    """The citizen names a need: a card, or candidates, or a request to say more."""

    def name(self) -> str:
        return "action_find_service"

    async def answer(self, conversation: Conversation) -> None:
        # Words that also tell a problem ("井盖丢了") get the offer to report it as well.
        offer = describes_a_problem(conversation.text)
        try:
            results = await conversation.search()
        except PlatformUnavailable:
            if not offer:
                raise
            # The search is down, not the reports (they wait in the outbox): say both.
            conversation.say("utter_platform_unavailable")
            conversation.say("utter_offer_report", buttons=report_button(conversation.lang))
            return
        decision = decide(results, region_known=conversation.region is not None)
        if decision.card is not None:
            conversation.show_card(decision.card, decision.alternatives)
        elif decision.alternatives:
            conversation.show_candidates(decision.alternatives)
        else:
            conversation.say("utter_ask_rephrase")
        if offer:
            conversation.say("utter_offer_report", buttons=report_button(conversation.lang))


def describes_a_problem(text: str) -> bool:
    """The report cues name something wrong clearly (backend/complaints/classify.py)."""
    return not text.startswith("/") and names_a_problem(classify(text))


def report_button(lang: str) -> list[dict[str, str]]:
    return [{"title": cards.phrase("report_this", lang), "payload": "/report_problem"}]


class ActionServiceDetail(ServiceAction):
    """Materials, fee, time limit, where, online or steps of the item named now or before."""

    def name(self) -> str:
        return "action_service_detail"

    async def answer(self, conversation: Conversation) -> None:
        aspect = str((conversation.tracker.latest_message.get("intent") or {}).get("name", "")).removeprefix("ask_")
        if aspect not in cards.ASPECTS:
            aspect = "materials"
        results = await conversation.search()
        current = conversation.tracker.get_slot("service_id")
        if current:
            # Only an item named outright replaces the one being discussed.
            service = names_an_item(results)
            if service is not None and service["id"] != current:
                conversation.show_card(service, then_ask_region=False)
            else:
                service = await conversation.service(current)
        else:
            decision = decide(results, region_known=conversation.region is not None)
            service = decision.card
            if service is not None:
                conversation.show_card(service, decision.alternatives, then_ask_region=False)
        if service is None:
            conversation.say("utter_ask_which_service")
            return
        args = cards.detail_args(service, aspect, conversation.lang)
        conversation.say(f"utter_detail_{aspect}", json_message=cards.detail_payload(service, aspect), **args)
        if aspect == "where" and service.get("office") is None:
            conversation.ask_region()
        else:
            conversation.ask_region_once(service)


class ActionChooseCandidate(ServiceAction):
    """A candidate chosen by button (its id), by position ('第二个') or by words ('护照那个')."""

    def name(self) -> str:
        return "action_choose_candidate"

    async def answer(self, conversation: Conversation) -> None:
        candidates: list[str] = conversation.tracker.get_slot("candidates") or []
        chosen = next(conversation.tracker.get_latest_entity_values("service_id"), None)
        if chosen is None and candidates:
            position = ordinal(conversation.text, len(candidates))
            if position is not None:
                chosen = candidates[position]
            else:
                results = await conversation.search()
                chosen = next(
                    (found["service"]["id"] for found in results if found["service"]["id"] in candidates), None
                )
        service = await conversation.service(chosen) if chosen else None
        if service is not None:
            conversation.events.append(SlotSet("candidates", None))
            conversation.show_card(service)
        elif candidates:
            conversation.say("utter_choose_again")
        else:
            await ActionFindService().answer(conversation)


class ActionSetRegion(ServiceAction):
    """The citizen says where they are: the card again, now with its office.

    The card is that of the item named in the same breath ('我在武侯区，想开面馆') or
    else of the current item.
    """

    def name(self) -> str:
        return "action_set_region"

    async def answer(self, conversation: Conversation) -> None:
        named = next(conversation.tracker.get_latest_entity_values("region"), None)
        if named is None:
            conversation.say("utter_region_not_recognised")
            return
        named_item = names_an_item(await conversation.search())
        current = conversation.tracker.get_slot("service_id")
        service = named_item or (await conversation.service(current) if current else None)
        if service is not None:
            conversation.show_card(service)
            return
        region = await in_thread(platform().region, named)
        name = (region or {}).get("name_en" if conversation.lang == "en" else "name", named)
        conversation.say("utter_region_noted", region_name=name)


class ActionClarify(ServiceAction):
    """Low NLU confidence: offer the items the words might mean, or the main menu."""

    def name(self) -> str:
        return "action_clarify"

    async def answer(self, conversation: Conversation) -> None:
        results = await conversation.search()
        decision = decide(results, region_known=conversation.region is not None)
        if decision.card is not None and _leaning_to_a_service_intent(conversation.tracker):
            # The item is clear and the words are about an item, only not clearly enough
            # which aspect ('an LLC, steps and costs'): its card says it all.
            conversation.show_card(decision.card, decision.alternatives)
        elif decision.card is not None:
            conversation.show_candidates(results[:SHOWN], "utter_did_you_mean")
        else:
            conversation.say("utter_default")


SERVICE_INTENTS = frozenset({"find_service", *(f"ask_{aspect}" for aspect in cards.ASPECTS)})


def _leaning_to_a_service_intent(tracker: Tracker) -> bool:
    """The classifier's best guess, below its threshold, is still about a service item."""
    ranking = [
        entry["name"]
        for entry in (tracker.latest_message or {}).get("intent_ranking") or []
        if entry.get("name") != "nlu_fallback"
    ]
    return bool(ranking) and ranking[0] in SERVICE_INTENTS


class ActionOutOfScope(ServiceAction):
    """Out of scope, unless the words plainly name a service item after all.

    The classifier's out-of-scope is costly when wrong (a citizen with a real need is
    turned away), so a message that names an item outright gets its card instead.
    """

    def name(self) -> str:
        return "action_out_of_scope"

    async def answer(self, conversation: Conversation) -> None:
        service = names_an_item(await conversation.search())
        if service is not None:
            conversation.show_card(service)
        else:
            conversation.say("utter_out_of_scope")
