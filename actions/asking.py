"""How `application_form` asks the questions that depend on the item: its eligibility
questions, its materials checklist, the delivery methods it offers, the appointment days
and times still free, and the summary to confirm or correct.
"""

from __future__ import annotations

from datetime import date

from actions import cards
from actions.applying import Reception
from actions.sealed import unseal
from actions.services import Conversation, ServiceAction
from backend.procedure.identity import mask_id_number, mask_mobile, mask_name

YES_NO = {
    "zh": [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}],
    "en": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
}


def _reception(conversation: Conversation) -> Reception:
    return Reception(conversation.dispatcher, conversation.tracker)


def numbered(buttons: list[dict[str, str]]) -> str:
    """The buttons as a numbered list, for channels that cannot draw buttons ('2' chooses the second)."""
    return "\n".join(f"{index}. {button['title']}" for index, button in enumerate(buttons, start=1))


class ActionAskEligibility(ServiceAction):
    def name(self) -> str:
        return "action_ask_eligibility"

    async def answer(self, conversation: Conversation) -> None:
        questions = await _reception(conversation).eligibility_questions()
        answered = len(conversation.tracker.get_slot("eligibility_answers") or [])
        if not questions:
            return
        index = min(answered, len(questions) - 1)
        conversation.say(
            "utter_eligibility_question",
            question=questions[index],
            number=str(index + 1),
            total=str(len(questions)),
            buttons=YES_NO[conversation.lang],
        )


class ActionAskMaterialsReady(ServiceAction):
    def name(self) -> str:
        return "action_ask_materials_ready"

    async def answer(self, conversation: Conversation) -> None:
        if conversation.tracker.get_slot("materials_missing"):
            conversation.say("utter_ask_materials_continue", buttons=YES_NO[conversation.lang])
            return
        service = await _reception(conversation).current_service() or {}
        lines = [
            cards.phrase("checklist_line", conversation.lang, index=index, name=material["name"])
            for index, material in enumerate(service.get("materials") or [], start=1)
        ]
        buttons = [
            {"title": cards.phrase("materials_all", conversation.lang), "payload": "/affirm"},
            {"title": cards.phrase("materials_some_missing", conversation.lang), "payload": "/deny"},
        ]
        conversation.say("utter_materials_checklist", materials="\n".join(lines), buttons=buttons)


class ActionAskDelivery(ServiceAction):
    def name(self) -> str:
        return "action_ask_delivery"

    async def answer(self, conversation: Conversation) -> None:
        service = await _reception(conversation).current_service() or {}
        offered = service.get("delivery") or ["window"]
        buttons = [
            {
                "title": cards.phrase(f"delivery_{method}", conversation.lang),
                "payload": f'/inform_delivery{{"delivery": "{method}"}}',
            }
            for method in offered
        ]
        choices = numbered(buttons)
        conversation.say("utter_ask_delivery", choices=choices, buttons=buttons)


class ActionAskAppointmentDate(ServiceAction):
    def name(self) -> str:
        return "action_ask_appointment_date"

    async def answer(self, conversation: Conversation) -> None:
        days = await _reception(conversation).appointment_days()
        free = [day["date"] for day in days if any(slot["available"] for slot in day["slots"])]
        if not free:
            conversation.say("utter_no_appointment_days")
            return
        buttons = [{"title": _day_label(day, conversation.lang), "payload": day} for day in free]
        choices = numbered(buttons)
        conversation.say("utter_ask_appointment_date", choices=choices, buttons=buttons)


class ActionAskAppointmentTime(ServiceAction):
    def name(self) -> str:
        return "action_ask_appointment_time"

    async def answer(self, conversation: Conversation) -> None:
        day = str(conversation.tracker.get_slot("appointment_date"))
        times = await _reception(conversation).appointment_times(day)
        buttons = [{"title": time, "payload": time} for time in times]
        choices = numbered(buttons)
        conversation.say(
            "utter_ask_appointment_time", date=_day_label(day, conversation.lang), choices=choices, buttons=buttons
        )


class ActionAskApplicationConfirmed(ServiceAction):
    """The summary: every answer shown back (personal details masked), to confirm or correct."""

    def name(self) -> str:
        return "action_ask_application_confirmed"

    async def answer(self, conversation: Conversation) -> None:
        reception = _reception(conversation)
        tracker = conversation.tracker
        service = await reception.current_service() or {}
        lang = conversation.lang
        name = unseal(tracker.get_slot("applicant_name")) or ""
        phone = unseal(tracker.get_slot("phone")) or ""
        shared = {
            "name": service.get("name", ""),
            "office": cards.office_text(service, lang) if service else "",
            "applicant": mask_name(name),
            "phone": mask_mobile(phone),
        }
        buttons = [
            {"title": cards.phrase("confirm_submit", lang), "payload": "/affirm"},
            *reception.field_buttons(),
            {"title": cards.phrase("cancel", lang), "payload": "/cancel"},
        ]
        if tracker.get_slot("application_mode") == "appointment":
            conversation.say(
                "utter_appointment_summary",
                date=_day_label(str(tracker.get_slot("appointment_date")), lang),
                time=str(tracker.get_slot("appointment_time")),
                buttons=buttons,
                **shared,
            )
            return
        conversation.say(
            "utter_application_summary",
            id_number=mask_id_number(unseal(tracker.get_slot("id_number")) or ""),
            delivery=cards.phrase(f"delivery_{tracker.get_slot('delivery')}", lang),
            buttons=buttons,
            **shared,
        )


_WEEKDAYS = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def _day_label(iso: str, lang: str) -> str:
    """2026-11-27 → '11月27日 周五' or 'Fri 27 Nov 2026'."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    weekday = _WEEKDAYS["en" if lang == "en" else "zh"][day.weekday()]
    if lang == "en":
        return f"{weekday} {day.day} {day:%b %Y}"
    return f"{day.month}月{day.day}日 {weekday}"
