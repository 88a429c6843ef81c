"""Starting, pausing, resuming and submitting an application or an appointment.

`application_form` (actions/reception.py) gathers the answers; these actions open it,
step out of it when the citizen cancels or asks something else, and hand the confirmed
answers to the platform, which alone keeps the personal details. After submission the
details leave the conversation: every form slot is cleared.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import cards, replies
from actions.matching import names_an_item
from actions.platform import PlatformUnavailable, Rejected, in_thread
from actions.sealed import unseal
from actions.services import Conversation, ServiceAction, platform

logger = logging.getLogger(__name__)

ESCAPE_INTENTS = frozenset(
    {
        "cancel",
        "resume",
        "apply",
        "book_appointment",
        "find_service",
        "check_status",
        "ask_materials",
        "ask_fee",
        "ask_time_limit",
        "ask_where",
        "ask_online",
        "ask_steps",
        "ask_capabilities",
        "switch_language",
        "greet",
        "thank",
        "goodbye",
        "EXTERNAL_application_status_changed",
        "report_emergency",
        "EXTERNAL_complaint_updated",
        "EXTERNAL_complaint_filed",
        "report_problem",
        "check_complaint",
    }
)
"""Intents that are another request rather than an answer to the form's question."""

FORM_SLOTS = (
    "application_service",
    "application_region",
    "application_mode",
    "eligibility",
    "eligibility_answers",
    "materials_ready",
    "materials_missing",
    "applicant_name",
    "id_number",
    "phone",
    "delivery",
    "appointment_date",
    "appointment_time",
    "application_confirmed",
    "application_key",
    "reception_failures",
)
PERSONAL_SLOTS = ("applicant_name", "id_number", "phone")


def answer_to(slot: str, tracker: Tracker) -> str | None:
    """The latest message, if the form is reading it as the answer to its question about `slot`.

    Rasa runs a form's validation on a copy of the tracker that ends with the form's own
    `ActionExecuted`; the message is an answer only if no other action ran since it (not
    when the form opens, nor when it comes back after answering a digression).
    """
    if tracker.get_slot("requested_slot") != slot:
        return None
    form = tracker.active_loop.get("name") if tracker.active_loop else None
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return replies.normalise(event.get("text") or "")
        if event.get("event") == "action" and event.get("name") not in (form, "action_listen"):
            return None
    return None


def cleared(*, keep: tuple[str, ...] = ()) -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS if slot not in keep]


class Reception(Conversation):
    """The conversation as the reception form sees it: the item being applied for, in the
    region chosen for the application, fetched once per turn."""

    def __init__(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        super().__init__(dispatcher, tracker)
        self.region = tracker.get_slot("application_region") or self.region
        self._service: dict[str, Any] | None = None
        self._days: list[dict[str, Any]] | None = None

    async def current_service(self) -> dict[str, Any] | None:
        service_id = self.tracker.get_slot("application_service")
        if not service_id:
            return None
        if self._service is None or self._service["id"] != service_id:
            self._service = await self.service(service_id)
        return self._service

    async def eligibility_questions(self) -> list[str]:
        questions: list[str] = ((await self.current_service()) or {}).get("eligibility_questions") or []
        return questions

    async def appointment_days(self) -> list[dict[str, Any]]:
        service_id = self.tracker.get_slot("application_service")
        if self._days is None and service_id and self.region:
            self._days = await in_thread(platform().appointment_slots, service_id, self.region)
        return self._days or []

    async def appointment_times(self, day: str) -> list[str]:
        for offered in await self.appointment_days():
            if offered["date"] == day:
                return [slot["time"] for slot in offered["slots"] if slot["available"]]
        return []

    def how_to_get(self, materials: list[dict[str, Any]], numbers: list[int]) -> str:
        lines = []
        for number in numbers:
            material = materials[number - 1]
            how = material.get("note") or cards.phrase(_how_to_get_key(material["name"]), self.lang)
            lines.append(cards.phrase("missing_line", self.lang, index=number, name=material["name"], how=how))
        return "\n".join(lines)

    def field_buttons(self) -> list[dict[str, str]]:
        if self.tracker.get_slot("application_mode") == "appointment":
            fields = ["appointment_date", "appointment_time", "applicant_name", "phone"]
        else:
            fields = ["applicant_name", "id_number", "phone", "delivery"]
        return [
            {"title": cards.phrase(f"change_{field}", self.lang), "payload": f'/correct{{"field": "{field}"}}'}
            for field in fields
        ]


def _how_to_get_key(name: str) -> str:
    lowered = name.lower()
    if any(word in lowered for word in ("申请书", "申请表", "登记表", "form", "表》")):
        return "how_to_get_form"
    if any(word in lowered for word in ("照片", "photo")):
        return "how_to_get_photo"
    if any(word in lowered for word in ("身份证", "户口", "identity", "id card", "hukou", "passport", "护照")):
        return "how_to_get_identity"
    return "how_to_get_other"


class ActionStartApplication(ServiceAction):
    """'我要办理' / 'book an appointment': a fresh form for the item named now or on the card."""

    def name(self) -> str:
        return "action_start_application"

    async def answer(self, conversation: Conversation) -> None:
        tracker = conversation.tracker
        intent = str((tracker.latest_message.get("intent") or {}).get("name", ""))
        chosen = next(tracker.get_latest_entity_values("service_id"), None)
        service_id = chosen
        if service_id is None:
            named = names_an_item(await conversation.search())
            if named is not None and named["id"] != tracker.get_slot("service_id"):
                conversation.show_card(named, then_ask_region=False)
            service_id = named["id"] if named is not None else tracker.get_slot("service_id")
        conversation.events += cleared()
        conversation.events += [
            SlotSet("application_key", secrets.token_hex(8)),
            SlotSet("application_service", service_id),
            SlotSet("application_region", conversation.region),
            SlotSet("application_mode", "appointment" if intent == "book_appointment" else None),
            SlotSet("reception_failures", 0.0),
        ]
        conversation.say("utter_start_appointment" if intent == "book_appointment" else "utter_start_application")


class ActionAnswerOutOfForm(ServiceAction):
    """Yes, no, a correction or a delivery method with no question open: the card, if the
    words name an item ('I want to protect my brand name' is no correction), else what next."""

    def name(self) -> str:
        return "action_answer_out_of_form"

    async def answer(self, conversation: Conversation) -> None:
        service = names_an_item(await conversation.search()) if len(conversation.text) > 3 else None
        if service is not None:
            conversation.show_card(service)
        else:
            conversation.say("utter_what_next")


class ActionPauseApplication(ServiceAction):
    """'Cancel' (or another request) in the middle: the form stops, the answers so far are kept."""

    def name(self) -> str:
        return "action_pause_application"

    async def answer(self, conversation: Conversation) -> None:
        conversation.say("utter_application_paused")
        conversation.events += [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionResumeApplication(ServiceAction):
    """'继续办理': the form comes back where it stopped (or asks which item, if none was started)."""

    def name(self) -> str:
        return "action_resume_application"

    async def answer(self, conversation: Conversation) -> None:
        if conversation.tracker.get_slot("application_key"):
            conversation.say("utter_resuming_application")
        else:
            conversation.say("utter_nothing_to_resume")
            conversation.events += [SlotSet("application_key", secrets.token_hex(8))]


class ActionSubmitApplication(ServiceAction):
    """The form is done: submit what was confirmed, give the receipt, forget the details."""

    def name(self) -> str:
        return "action_submit_application"

    async def answer(self, conversation: Conversation) -> None:
        tracker = conversation.tracker
        if tracker.get_slot("application_confirmed") is not True:
            conversation.events += cleared()  # stopped: not eligible, materials not ready
            return
        details = {slot: unseal(tracker.get_slot(slot)) for slot in PERSONAL_SLOTS}
        appointment = tracker.get_slot("application_mode") == "appointment"
        if (
            details["applicant_name"] is None
            or details["phone"] is None
            or (not appointment and details["id_number"] is None)
        ):
            conversation.say("utter_details_expired")
            conversation.events += [SlotSet(slot, None) for slot in (*PERSONAL_SLOTS, "application_confirmed")]
            return
        key = _idempotency_key(tracker)
        try:
            if appointment:
                await self._book(conversation, details, key)
            else:
                await self._apply(conversation, details, key)
        except PlatformUnavailable as error:
            logger.warning("submission failed, answers kept for a retry: %s", error)
            conversation.say("utter_submission_failed")
            return
        except Rejected as error:
            logger.info("submission refused by the platform: %s", error.code)
            if error.code == "slot_full":
                conversation.say("utter_slot_taken")
                conversation.events += [
                    SlotSet("appointment_time", None),
                    SlotSet("application_confirmed", None),
                    FollowupAction("application_form"),
                ]
                return
            conversation.say("utter_submission_refused")
        conversation.events += cleared()

    async def _apply(self, conversation: Conversation, details: dict[str, str | None], key: str) -> None:
        tracker = conversation.tracker
        body = {
            "service_id": tracker.get_slot("application_service"),
            "region_code": tracker.get_slot("application_region"),
            "applicant": {
                "name": details["applicant_name"],
                "id_number": details["id_number"],
                "phone": details["phone"],
            },
            "delivery": tracker.get_slot("delivery"),
            "channel": tracker.get_latest_input_channel() or "rest",
            "conversation_id": tracker.sender_id,
            "lang": conversation.lang,
        }
        application = await in_thread(platform().create_application, body, key)
        conversation.say(
            "utter_application_receipt",
            json_message={
                "type": "application_receipt",
                **{field: application[field] for field in ("application_id", "service_id", "status")},
                "expected_completion": application["expected_completion"],
            },
            application_id=application["application_id"],
            name=application["service_name"]["en" if conversation.lang == "en" else "zh"],
            expected_completion=application["expected_completion"],
        )
        conversation.events.append(SlotSet("last_application_id", application["application_id"]))

    async def _book(self, conversation: Conversation, details: dict[str, str | None], key: str) -> None:
        tracker = conversation.tracker
        body = {
            "service_id": tracker.get_slot("application_service"),
            "region_code": tracker.get_slot("application_region"),
            "date": tracker.get_slot("appointment_date"),
            "time": tracker.get_slot("appointment_time"),
            "applicant": {"name": details["applicant_name"], "phone": details["phone"]},
            "channel": tracker.get_latest_input_channel() or "rest",
            "conversation_id": tracker.sender_id,
            "lang": conversation.lang,
        }
        booked = await in_thread(platform().book_appointment, body, key)
        office = booked.get("office") or {}
        conversation.say(
            "utter_appointment_receipt",
            json_message={
                "type": "appointment_receipt",
                **{field: booked[field] for field in ("appointment_id", "service_id", "date", "time", "status")},
                "office": booked.get("office"),
            },
            appointment_id=booked["appointment_id"],
            name=booked["service_name"]["en" if conversation.lang == "en" else "zh"],
            date=booked["date"],
            time=booked["time"],
            office=office.get("department") or cards.phrase("see_guide", conversation.lang),
        )


def _idempotency_key(tracker: Tracker) -> str:
    """One key per started form: a retried submission is the same submission."""
    raw = f"{tracker.sender_id}:{tracker.get_slot('application_key')}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]
