"""Integrated reception (综合受理) as a form: what `application_form` asks and how each
answer is read and checked (rasa-sdk's FormValidationAction, one method per slot).

The form asks, in order, only what is still missing: the item and the region (usually known
from the card), then either
- online reception: eligibility questions, the materials checklist, name, ID number,
  phone, delivery, a summary to confirm or correct; or
- an appointment (items handled only at the window): date, time slot, name, phone, summary.

Every answer is read by the form itself (custom slot mappings), so that a question or
"cancel" in the middle is not mistaken for an answer: the form then rejects, and the rules
in data/rules/reception.yml answer it and come back. Personal details are sealed
(actions/sealed.py) before they become slots.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import replies
from actions.applying import ESCAPE_INTENTS, Reception, answer_to
from actions.matching import decide
from actions.platform import PlatformUnavailable
from actions.sealed import seal
from backend.procedure.appointments import office_today
from backend.procedure.identity import check_id_number, normalize_mobile

logger = logging.getLogger(__name__)

FORM = "application_form"
ONLINE_SLOTS = [
    "application_service",
    "application_region",
    "eligibility",
    "materials_ready",
    "applicant_name",
    "id_number",
    "phone",
    "delivery",
    "application_confirmed",
]
APPOINTMENT_SLOTS = [
    "application_service",
    "application_region",
    "appointment_date",
    "appointment_time",
    "applicant_name",
    "phone",
    "application_confirmed",
]
OFFER_TO_STOP_AFTER = 3
"""Invalid answers in a row after which the citizen is reminded they may stop."""

Slots = dict[str, Any]
LEAVING_INTENTS = frozenset(
    {
        "cancel",
        "resume",
        "greet",
        "thank",
        "goodbye",
        "switch_language",
        "apply",
        "book_appointment",
        "check_status",
        "report_emergency",
        "report_problem",
        "check_complaint",
    }
)
STOPPED = "stopped"
"""`eligibility` or `materials_ready` when the citizen cannot go on: the form ends without submitting."""


@dataclass
class _Turn:
    """What one run of the form's validation shares across its methods. The action object
    serves every conversation at once, so this lives in a context variable, one per request."""

    reception: Reception
    notes: Slots = field(default_factory=dict)
    """Slots beside the form's own (counters, answers so far), returned with its events."""


_turn: ContextVar[_Turn | None] = ContextVar("reception_turn", default=None)


class ValidateApplicationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_application_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if STOPPED in (tracker.get_slot("eligibility"), tracker.get_slot("materials_ready")):
            return []
        if tracker.get_slot("application_mode") == "appointment":
            return list(APPOINTMENT_SLOTS)
        slots = list(ONLINE_SLOTS)
        if tracker.get_slot("application_service") and tracker.get_slot("eligibility") is None:
            # Only whether the item asks eligibility questions needs the platform: a form
            # past them goes on while the platform is away (a confirmation then gets
            # utter_submission_failed, with the answers kept).
            try:
                questions = await self._reception(tracker).eligibility_questions()
            except PlatformUnavailable:
                questions = ["?"]  # not known now: keep the slot, its question says why not
            if not questions:
                slots.remove("eligibility")
        return slots

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if self._intent(tracker)[0] == "report_emergency":
            return []  # no answer taken from it: the form rejects, the emergency rule answers
        turn = _Turn(Reception(dispatcher, tracker))
        token = _turn.set(turn)
        try:
            events = await super().run(dispatcher, tracker, domain)
        except Exception:
            # The form must not fall silent on a fault of ours or the platform's.
            logger.exception("application form validation failed")
            dispatcher.utter_message(response="utter_platform_unavailable")
            return []
        finally:
            _turn.reset(token)
        return events + [SlotSet(key, value) for key, value in turn.notes.items()]

    @staticmethod
    def _reception(tracker: Tracker) -> Reception:
        turn = _turn.get()
        return turn.reception if turn is not None else Reception(CollectingDispatcher(), tracker)

    @staticmethod
    def _note(**slots: Any) -> None:
        turn = _turn.get()
        if turn is not None:
            turn.notes.update(slots)
            turn.reception.tracker.slots.update(slots)

    # --- reading answers -------------------------------------------------------------

    @staticmethod
    def _answer_to(slot: str, tracker: Tracker) -> str | None:
        return answer_to(slot, tracker)

    @staticmethod
    def _intent(tracker: Tracker) -> tuple[str, float]:
        intent = (tracker.latest_message or {}).get("intent") or {}
        return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)

    def _escapes(self, tracker: Tracker, threshold: float = 0.0) -> bool:
        """The message is another request (a question, cancel…), not an answer."""
        name, confidence = self._intent(tracker)
        return name in ESCAPE_INTENTS and confidence >= threshold

    def _leaves(self, tracker: Tracker) -> bool:
        """Confidently asks to stop, resume, greet or leave: never a name, whatever the words.
        (Questions about the item are told apart by their words: 钱 is also a surname.)"""
        name, confidence = self._intent(tracker)
        return name in LEAVING_INTENTS and confidence >= 0.6

    def _invalid(
        self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher, response: str, **kw: Any
    ) -> Slots:
        """Explains what was wrong; after several misses in a row, reminds that stopping is fine."""
        dispatcher.utter_message(response=response, **kw)
        failures = int(tracker.get_slot("reception_failures") or 0) + 1
        if failures >= OFFER_TO_STOP_AFTER:
            dispatcher.utter_message(response="utter_offer_to_stop")
        self._note(reception_failures=float(failures))
        return {slot: None}

    def _valid(self, **slots: Any) -> Slots:
        self._note(reception_failures=0.0)
        return slots

    async def extract_application_service(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._answer_to("application_service", tracker)
        if text is None or self._escapes(tracker, 0.8):
            return {}
        reception = self._reception(tracker)
        chosen = next(tracker.get_latest_entity_values("service_id"), None)
        if chosen:
            service = await reception.service(chosen)
            return self._valid(application_service=service["id"]) if service else {}
        decision = decide(await reception.search(text), region_known=reception.region is not None)
        if decision.card is not None:
            reception.show_card(decision.card)
            return self._valid(application_service=decision.card["id"])
        if decision.alternatives:
            reception.show_candidates(decision.alternatives)
            return {"application_service": None}
        return self._invalid("application_service", tracker, dispatcher, "utter_ask_rephrase")

    async def validate_application_service(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        service = await self._reception(tracker).service(str(value)) if value else None
        if service is None:
            return {"application_service": None}
        mode = "appointment" if service.get("reception") == "appointment" else tracker.get_slot("application_mode")
        if mode == "appointment" and tracker.get_slot("application_mode") != "appointment":
            dispatcher.utter_message(response="utter_appointment_instead", name=service["name"])
        return {"application_service": service["id"], "application_mode": mode or "online"}

    async def extract_application_region(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._answer_to("application_region", tracker)
        if text is None:
            return {}
        named = next(tracker.get_latest_entity_values("region"), None)
        if named:
            self._note(region=named)
            return self._valid(application_region=named)
        if self._escapes(tracker):
            return {}
        return self._invalid("application_region", tracker, dispatcher, "utter_region_not_recognised")

    async def extract_eligibility(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._answer_to("eligibility", tracker)
        if text is None:
            return {}
        intent, _ = self._intent(tracker)
        answers: list[bool] = list(tracker.get_slot("eligibility_answers") or [])
        questions = await self._reception(tracker).eligibility_questions()
        if replies.is_yes(text, intent):
            answers.append(True)
            done = len(answers) >= len(questions)
            self._note(eligibility_answers=answers)
            return self._valid(eligibility="yes" if done else None)
        if replies.is_no(text, intent):
            service = await self._reception(tracker).current_service()
            dispatcher.utter_message(response="utter_not_eligible", eligibility=(service or {}).get("eligibility", ""))
            return self._valid(eligibility=STOPPED)
        if self._escapes(tracker):
            return {}
        return self._invalid("eligibility", tracker, dispatcher, "utter_answer_yes_or_no")

    async def extract_materials_ready(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._answer_to("materials_ready", tracker)
        if text is None:
            return {}
        intent, _ = self._intent(tracker)
        materials = ((await self._reception(tracker).current_service()) or {}).get("materials") or []
        ready = replies.is_yes(text, intent) or replies.says_ready(text)
        missing = replies.read_numbers(text, len(materials)) if not ready else []
        if missing or replies.is_no(text, intent):
            already = tracker.get_slot("materials_missing")
            if already is not None and not missing:
                # They heard what is missing and still cannot go on: come back when ready.
                dispatcher.utter_message(response="utter_come_back_when_ready")
                return self._valid(materials_ready=STOPPED)
            shown = missing or list(range(1, len(materials) + 1))
            dispatcher.utter_message(
                response="utter_materials_missing", missing=self._reception(tracker).how_to_get(materials, shown)
            )
            self._note(materials_missing=shown)
            return self._valid(materials_ready=None)
        if ready:
            return self._valid(materials_ready="some_missing" if tracker.get_slot("materials_missing") else "all")
        if self._escapes(tracker):
            return {}
        return self._invalid("materials_ready", tracker, dispatcher, "utter_answer_materials")

    async def extract_applicant_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._answer_to("applicant_name", tracker)
        if text is None:
            return {}
        name = text.removeprefix("我叫").removeprefix("我是").removeprefix("姓名").strip(" :：,，。.")
        for prefix in ("my name is ", "name: ", "i am ", "i'm "):
            if name.lower().startswith(prefix):
                name = name[len(prefix) :].strip()
        if replies.looks_like_name(name) and not replies.sounds_like_a_request(name) and not self._leaves(tracker):
            return self._valid(applicant_name=seal(name))
        if self._escapes(tracker):
            return {}
        return self._invalid("applicant_name", tracker, dispatcher, "utter_invalid_name")

    async def extract_id_number(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Slots:
        text = self._answer_to("id_number", tracker)
        if text is None:
            return {}
        candidate = "".join(ch for ch in text if ch.isascii() and (ch.isdigit() or ch in "xX"))
        if len(candidate) < 6 and self._escapes(tracker):
            return {}
        check = check_id_number(candidate)
        if check.valid:
            return self._valid(id_number=seal(check.number))
        return self._invalid("id_number", tracker, dispatcher, f"utter_invalid_id_number_{check.problem}")

    async def extract_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Slots:
        text = self._answer_to("phone", tracker)
        if text is None:
            return {}
        if not replies.has_long_number(text) and self._escapes(tracker):
            return {}
        phone = normalize_mobile("".join(ch for ch in text if ch.isdigit() or ch == "+"))
        if phone:
            return self._valid(phone=seal(phone))
        return self._invalid("phone", tracker, dispatcher, "utter_invalid_phone")

    async def extract_delivery(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Slots:
        text = self._answer_to("delivery", tracker)
        if text is None:
            return {}
        offered = ((await self._reception(tracker).current_service()) or {}).get("delivery") or ["window"]
        chosen = next(tracker.get_latest_entity_values("delivery"), None) or replies.read_delivery(text, offered)
        if chosen in offered:
            return self._valid(delivery=chosen)
        if self._escapes(tracker):
            return {}
        return self._invalid("delivery", tracker, dispatcher, "utter_invalid_delivery")

    async def extract_appointment_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._answer_to("appointment_date", tracker)
        if text is None:
            return {}
        days = await self._reception(tracker).appointment_days()
        offered = [date.fromisoformat(day["date"]) for day in days if any(s["available"] for s in day["slots"])]
        chosen = replies.read_date(text, offered, office_today(datetime.now(timezone.utc)))
        if chosen in offered:
            return self._valid(appointment_date=chosen.isoformat())
        if chosen is None and self._escapes(tracker):
            return {}
        return self._invalid("appointment_date", tracker, dispatcher, "utter_invalid_date")

    async def extract_appointment_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._answer_to("appointment_time", tracker)
        if text is None:
            return {}
        times = await self._reception(tracker).appointment_times(str(tracker.get_slot("appointment_date")))
        chosen = replies.read_time(text, times)
        if chosen:
            return self._valid(appointment_time=chosen)
        if self._escapes(tracker):
            return {}
        return self._invalid("appointment_time", tracker, dispatcher, "utter_invalid_time")

    async def extract_application_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._answer_to("application_confirmed", tracker)
        if text is None:
            return {}
        intent, _ = self._intent(tracker)
        field = next(tracker.get_latest_entity_values("field"), None) or (
            replies.read_field(text) if intent in ("correct", "deny", "inform_delivery") else None
        )
        if intent == "inform_delivery" and field is None:
            field = "delivery"
        if field in self._fields(tracker):
            # The field is asked again, then the summary is shown again.
            return self._valid(**{field: None, "application_confirmed": None})
        if replies.is_yes(text, intent) and intent != "correct":
            return self._valid(application_confirmed=True)
        if intent in ("correct", "deny") or replies.is_no(text, intent):
            dispatcher.utter_message(response="utter_which_field", buttons=self._reception(tracker).field_buttons())
            return {"application_confirmed": None}
        if self._escapes(tracker):
            return {}
        return self._invalid("application_confirmed", tracker, dispatcher, "utter_answer_confirm")

    @staticmethod
    def _fields(tracker: Tracker) -> list[str]:
        if tracker.get_slot("application_mode") == "appointment":
            return ["appointment_date", "appointment_time", "applicant_name", "phone"]
        return ["applicant_name", "id_number", "phone", "delivery"]
