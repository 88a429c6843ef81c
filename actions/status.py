"""Status checks ('查一下我的办件进度') and the notice when staff move an application on.

A status check is `status_form`: the application number, then the verification code (the
last four characters of the applicant's ID number); the platform decides, and refuses
wrong codes without saying whether the number exists, locking the number after too many.
The code is sealed in its slot and cleared after the check.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import cards, replies
from actions.applying import ESCAPE_INTENTS, answer_to
from actions.matching import names_an_item
from actions.platform import Locked, WrongCode, in_thread
from actions.sealed import seal, unseal
from actions.services import Conversation, ServiceAction, platform

logger = logging.getLogger(__name__)


def status_words(application: dict[str, Any], lang: str) -> dict[str, str]:
    """The status explained: stage, status, history lines and what to do next."""
    history = "\n".join(
        cards.phrase(
            "history_line",
            lang,
            at=str(entry.get("at", ""))[:10],
            status=cards.phrase(f"status_{entry['status']}", lang),
            note=f" — {entry['note']}" if entry.get("note") else "",
        )
        for entry in application.get("history") or []
    )
    return {
        "application_id": application["application_id"],
        "stage": cards.phrase(f"stage_{application['stage']}", lang),
        "status": cards.phrase(f"status_{application['status']}", lang),
        "history": history,
        "next_step": cards.phrase(f"next_{application['status']}", lang),
    }


class ValidateStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_status_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if str(((tracker.latest_message or {}).get("intent") or {}).get("name")) == "report_emergency":
            return []  # no answer taken from it: the form rejects, the emergency rule answers
        return await super().run(dispatcher, tracker, domain)

    @staticmethod
    def _answer_to(slot: str, tracker: Tracker) -> str | None:
        return answer_to(slot, tracker)

    @staticmethod
    def _escapes(tracker: Tracker) -> bool:
        return str(((tracker.latest_message or {}).get("intent") or {}).get("name")) in ESCAPE_INTENTS

    async def extract_status_application_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = self._answer_to("status_application_id", tracker)
        if text is None:
            return {}
        found = replies.read_application_id(text)
        if found:
            return {"status_application_id": found}
        if self._escapes(tracker):
            return {}
        dispatcher.utter_message(response="utter_invalid_application_id")
        return {"status_application_id": None}

    async def extract_verification_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = self._answer_to("verification_code", tracker)
        if text is None:
            return {}
        code = replies.read_verification_code(text)
        if code:
            return {"verification_code": seal(code)}
        if self._escapes(tracker):
            return {}
        dispatcher.utter_message(response="utter_invalid_verification_code")
        return {"verification_code": None}


class ActionStartStatusCheck(ServiceAction):
    """A fresh check; a number given in the same breath ('查 ZW20261126-7KQ3MX') is taken.
    A message that only names an item, with no word of progress, gets the item's card."""

    def name(self) -> str:
        return "action_start_status_check"

    async def answer(self, conversation: Conversation) -> None:
        number = replies.read_application_id(conversation.text)
        if number is None and not replies.asks_about_progress(conversation.text):
            # 'daolu yunshu xukezheng application' names an item, not a check: its card, no form.
            service = names_an_item(await conversation.search())
            if service is not None:
                conversation.show_card(service)
                conversation.events.append(FollowupAction("action_listen"))
                return
        conversation.events += [SlotSet("status_application_id", number), SlotSet("verification_code", None)]


class ActionAskStatusApplicationId(ServiceAction):
    def name(self) -> str:
        return "action_ask_status_application_id"

    async def answer(self, conversation: Conversation) -> None:
        last = conversation.tracker.get_slot("last_application_id")
        buttons = [{"title": last, "payload": last}] if last else []
        conversation.say("utter_ask_status_application_id", buttons=buttons)


class ActionCheckStatus(ServiceAction):
    def name(self) -> str:
        return "action_check_status"

    async def answer(self, conversation: Conversation) -> None:
        tracker = conversation.tracker
        application_id = tracker.get_slot("status_application_id")
        code = unseal(tracker.get_slot("verification_code"))
        conversation.events += [SlotSet("status_application_id", None), SlotSet("verification_code", None)]
        if not application_id or not code:
            return
        try:
            application = await in_thread(platform().application, application_id, code)
        except WrongCode:
            conversation.say("utter_status_wrong_code")
            return
        except Locked as locked:
            conversation.say("utter_status_locked", minutes=str(max(1, -(-locked.retry_after_seconds // 60))))
            return
        payload = {
            "type": "application_status",
            **{field: application[field] for field in ("application_id", "service_id", "status", "stage")},
            "history": [
                {"status": entry["status"], "at": entry["at"], "note": entry.get("note") or ""}
                for entry in application.get("history") or []
            ],
        }
        name = (application.get("service_name") or {}).get("en" if conversation.lang == "en" else "zh", "")
        conversation.say(
            "utter_application_status", json_message=payload, name=name, **status_words(application, conversation.lang)
        )


class ActionNotifyApplicationStatus(ServiceAction):
    """The platform's notice (an external intent) that staff moved the citizen's application on."""

    def name(self) -> str:
        return "action_notify_application_status"

    async def answer(self, conversation: Conversation) -> None:
        found = {
            entity.get("entity"): entity.get("value")
            for entity in (conversation.tracker.latest_message or {}).get("entities") or []
        }
        if not found.get("application_id") or not found.get("status"):
            logger.warning("a status notice without application id or status was ignored")
            return
        status = str(found["status"])
        note = str(found.get("note") or "")
        conversation.say(
            "utter_application_update",
            json_message={
                "type": "application_update",
                "application_id": found["application_id"],
                "status": status,
                "stage": found.get("stage"),
                "note": note,
            },
            application_id=str(found["application_id"]),
            status=cards.phrase(f"status_{status}", conversation.lang),
            note=f"\n{cards.phrase('staff_note', conversation.lang)}{note}" if note else "",
            next_step=cards.phrase(f"next_{status}", conversation.lang),
        )


class ActionStopStatusCheck(ServiceAction):
    """The citizen leaves a status check half-way: the form closes and forgets the number and code."""

    def name(self) -> str:
        return "action_stop_status_check"

    async def answer(self, conversation: Conversation) -> None:
        intent = str((conversation.tracker.latest_message.get("intent") or {}).get("name", ""))
        if intent == "cancel":
            conversation.say("utter_status_check_stopped")
        conversation.events += [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("status_application_id", None),
            SlotSet("verification_code", None),
        ]
