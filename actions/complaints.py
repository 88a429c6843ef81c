"""Public problem reports (12345-style 接诉即办) in the conversation: filing, following up, rating.

- `complaint_form` files a report. The citizen may tell the whole story in one message
  ("我家楼下烧烤店每天半夜很吵，在武侯区玉林路") or in pieces: every message the form reads
  fills what it says (what, where, when, photos), and the form asks only for what is still
  missing, then a contact phone or anonymity, then a summary to confirm or correct.
  Confirmed reports go through the assistant's outbox (actions/outbox.py): kept on disk
  first, so a report confirmed while the platform is down is delivered later, exactly once,
  and the citizen is told its number when it is assigned.
- `complaint_status_form` checks a report: its number, then the last four digits of the
  phone left with it (or an anonymous report's follow-up code).
- `satisfaction_form` records the reporter's rating of the response: after a check that
  finds the report answered, or after the notice that it was answered. "Dissatisfied"
  sends it back to the office.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import cards, replies, reporting
from actions.asking import numbered
from actions.matching import names_an_item
from actions.outbox import outbox
from actions.platform import Locked, PlatformUnavailable, Rejected, WrongCode, in_thread
from actions.sealed import seal, unseal
from actions.services import Conversation, ServiceAction, platform
from backend.catalogue.regions import RegionDirectory
from backend.catalogue.sources import read_regions
from backend.complaints.categories import ComplaintCodes, read_complaint_codes
from backend.complaints.classify import FALLBACK_CATEGORY, classify, names_a_problem, says_report
from backend.procedure.identity import mask_mobile, normalize_mobile

logger = logging.getLogger(__name__)

REPORT_SLOTS = (
    "complaint_description",
    "complaint_category",
    "complaint_request_type",
    "complaint_region",
    "complaint_time",
    "complaint_photos",
    "complaint_contact",
    "complaint_confirmed",
)
FORM_SLOTS = (*REPORT_SLOTS, "complaint_address", "complaint_occurred_at", "complaint_key", "complaint_failures")
CORRECTABLE = (
    "complaint_category",
    "complaint_request_type",
    "complaint_region",
    "complaint_time",
    "complaint_description",
    "complaint_photos",
    "complaint_contact",
)
ANONYMOUS = "anonymous"
"""`complaint_contact`, sealed like a phone number, when the citizen stays anonymous: the
tracker store keeps nothing but ciphertext in that slot."""
NONE = "none"
"""`complaint_photos` / `complaint_time` / `satisfaction_comment` when the citizen has none to give."""
UNKNOWN = "unknown"
OFFER_TO_STOP_AFTER = 3
MAX_DESCRIPTION_CHARS = 4000
STATUS_SLOTS = ("status_complaint_id", "complaint_code")
RATING_SLOTS = ("satisfaction_rating", "satisfaction_comment", "rating_code", "rating_complaint_id")
NOT_ANSWERS = frozenset(
    {
        "cancel",
        "resume",
        "greet",
        "thank",
        "goodbye",
        "switch_language",
        "ask_capabilities",
        "apply",
        "book_appointment",
        "check_status",
        "check_complaint",
        "report_emergency",
        "EXTERNAL_application_status_changed",
        "EXTERNAL_complaint_updated",
        "EXTERNAL_complaint_filed",
    }
)
"""Intents that are another request, not an answer, when a report's form asks. Narrower
than reception's: a problem told in words often reads like a search for a service
("物业不作为") or a question ("在哪投诉"), and is still the answer."""


@cache
def codes() -> ComplaintCodes:
    return read_complaint_codes()


def category_name(code: str | None, lang: str) -> str:
    category = codes().categories.get(code or "")
    return category.name["en" if lang == "en" else "zh"] if category else ""


def request_type_name(code: str | None, lang: str) -> str:
    request_type = codes().request_types.get(code or "")
    return request_type.name["en" if lang == "en" else "zh"] if request_type else ""


def reading(tracker: Tracker) -> str | None:
    """The latest message, if the form is reading it now: no other action ran since it (not
    when the form opens after the start action, nor when it returns after a digression)."""
    form = tracker.active_loop.get("name") if tracker.active_loop else None
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return str(event.get("text") or "").strip()  # as written: it may become the description
        if event.get("event") == "action" and event.get("name") not in (form, "action_listen"):
            return None
    return None


def _intent(tracker: Tracker) -> tuple[str, float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def _asks_something_else(tracker: Tracker) -> bool:
    return _intent(tracker)[0] in NOT_ANSWERS


def understood(message: Mapping[str, Any], slots: Mapping[str, Any], *, describes: bool) -> dict[str, Any]:
    """What one message (Rasa's parse data: text, entities, metadata) tells about the
    report, for the slots not filled yet.

    `describes`: the message may be the description itself (the first message, or the
    answer to "what happened?"); then it also decides the category and request type.
    """
    text = str(message.get("text") or "").strip()  # as written: it may become the description
    found: dict[str, Any] = {}
    if describes and slots.get("complaint_description") is None:
        result = classify(text)
        decided = result.category != FALLBACK_CATEGORY
        # The cues must lie in what is left once "I want to complain to the government" is gone.
        if reporting.tells_a_problem(text) or (
            decided and classify(reporting.content(text)).category != FALLBACK_CATEGORY
        ):
            found["complaint_description"] = text[:MAX_DESCRIPTION_CHARS]
            if decided and slots.get("complaint_category") is None:
                found["complaint_category"] = result.category
            if slots.get("complaint_request_type") is None:
                found["complaint_request_type"] = result.request_type
    places = [entity for entity in message.get("entities") or [] if entity.get("entity") == "region"]
    if places and slots.get("complaint_region") is None:
        found["complaint_region"] = places[0].get("value")
    place = reporting.read_place(_without(places, str(message.get("text") or "")))
    if place and slots.get("complaint_address") is None:
        found["complaint_address"] = place
    when = reporting.mentions_time(text)
    if when and slots.get("complaint_time") is None:
        found["complaint_time"] = when
        found["complaint_occurred_at"] = reporting.read_occurred_at(text, datetime.now(timezone.utc))
    photos = reporting.read_photo_urls(text, message.get("metadata"))
    if photos and slots.get("complaint_photos") in (None, NONE):
        found["complaint_photos"] = photos
    return found


def _without(places: list[dict[str, Any]], text: str) -> str:
    """The text with the districts the NLU found cut out: '武侯区玉林路' → the place '玉林路'."""
    spans = sorted((entity["start"], entity["end"]) for entity in places if isinstance(entity.get("start"), int))
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]
    return text


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Reads every message itself (the form's slots are in domain.yml in REPORT_SLOTS order):
        what it tells fills any slot still empty, and the requested one is checked."""
        text = reading(tracker)
        requested = tracker.get_slot("requested_slot")
        if text is None or (_asks_something_else(tracker) and not _plainly_answers(str(requested), text, tracker)):
            return []  # the form rejects; the rules answer the other request and come back
        slots = dict(tracker.slots)
        found = understood(tracker.latest_message or {}, slots, describes=requested == "complaint_description")
        answer = await self._answer(str(requested), text, dispatcher, tracker, {**slots, **found})
        if answer is None:
            failures = int(tracker.get_slot("complaint_failures") or 0) + 1
            if failures >= OFFER_TO_STOP_AFTER:
                dispatcher.utter_message(response="utter_complaint_offer_to_stop")
            found.update({"complaint_failures": float(failures), str(requested): slots.get(str(requested))})
        else:
            found.update(answer, complaint_failures=0.0)
        events: list[EventType] = [SlotSet(key, value) for key, value in found.items()]
        filled = {**slots, **found}
        next_slot = next((slot for slot in REPORT_SLOTS if filled.get(slot) is None), None)
        events.append(SlotSet("requested_slot", next_slot))
        return events

    async def _answer(
        self, requested: str, text: str, dispatcher: CollectingDispatcher, tracker: Tracker, filled: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The requested slot's value from the answer, or None (after saying what was wrong)."""
        lang = tracker.get_slot("lang") or "zh"
        if requested == "complaint_description":
            if filled.get("complaint_description") is not None:
                return {}
            dispatcher.utter_message(response="utter_complaint_describe_more")
            return None
        if requested == "complaint_category":
            chosen = reporting.read_choice(text, _category_names())
            if chosen:
                return {"complaint_category": chosen}
            result = classify(text)
            if result.category != FALLBACK_CATEGORY:
                return {"complaint_category": result.category}
            dispatcher.utter_message(response="utter_complaint_choose_category")
            return None
        if requested == "complaint_request_type":
            chosen = reporting.read_choice(text, _request_type_names())
            if chosen:
                return {"complaint_request_type": chosen}
            dispatcher.utter_message(response="utter_complaint_choose_request_type")
            return None
        if requested == "complaint_region":
            if filled.get("complaint_region"):
                return {}
            if filled.get("complaint_address"):
                dispatcher.utter_message(response="utter_complaint_need_district")
            else:
                dispatcher.utter_message(response="utter_region_not_recognised")
            return None
        if requested == "complaint_time":
            if reporting.says_unknown(text):
                return {"complaint_time": UNKNOWN, "complaint_occurred_at": None}
            if filled.get("complaint_time") is not None:
                return {}
            if reporting.says_no_photo(text):  # answered the next question first: no time given
                return {"complaint_time": UNKNOWN, "complaint_occurred_at": None, "complaint_photos": NONE}
            if len(text) <= reporting.MAX_TIME_CHARS and not replies.has_long_number(text):
                now = datetime.now(timezone.utc)
                return {"complaint_time": text, "complaint_occurred_at": reporting.read_occurred_at(text, now)}
            dispatcher.utter_message(response="utter_complaint_time_short")
            return None
        if requested == "complaint_photos":
            if isinstance(filled.get("complaint_photos"), list):
                return {}
            if reporting.declines_photo(text) or replies.is_no(text, _intent(tracker)[0]):
                return {"complaint_photos": NONE}
            dispatcher.utter_message(response="utter_complaint_photo_link")
            return None
        if requested == "complaint_contact":
            phone = normalize_mobile(re.sub(r"[^\d+]", "", replies.normalise(text)))
            if phone:
                return {"complaint_contact": seal(phone)}
            if reporting.wants_anonymity(text) or replies.is_no(text, _intent(tracker)[0]):
                return {"complaint_contact": seal(ANONYMOUS)}
            dispatcher.utter_message(response="utter_complaint_phone_or_anonymous")
            return None
        if requested == "complaint_confirmed":
            return self._confirmation(text, dispatcher, tracker, lang)
        return {}

    @staticmethod
    def _confirmation(
        text: str, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str
    ) -> dict[str, Any] | None:
        intent, _ = _intent(tracker)
        field = next(tracker.get_latest_entity_values("field"), None) or (
            reporting.read_report_field(text) if not reporting.confirms(text) else None
        )
        if field in CORRECTABLE:
            cleared: dict[str, Any] = {field: None, "complaint_confirmed": None}
            if field == "complaint_region":
                cleared["complaint_address"] = None
            if field == "complaint_time":
                cleared["complaint_occurred_at"] = None
            return cleared
        if (replies.is_yes(text, intent) or reporting.confirms(text)) and intent != "correct":
            return {"complaint_confirmed": True}
        if intent in ("correct", "deny") or replies.is_no(text, intent):
            dispatcher.utter_message(response="utter_which_field", buttons=correction_buttons(lang))
            return {"complaint_confirmed": None}
        dispatcher.utter_message(response="utter_complaint_answer_confirm")
        return None


def _plainly_answers(requested: str, text: str, tracker: Tracker) -> bool:
    """The words answer the question asked, whatever the NLU made of them: "I'd rather stay
    anonymous" is no goodbye when a contact number was asked for."""
    if requested == "complaint_contact":
        return (
            reporting.wants_anonymity(text)
            or normalize_mobile(re.sub(r"[^\d+]", "", replies.normalise(text))) is not None
        )
    if requested == "complaint_photos":
        return reporting.declines_photo(text) or bool(reporting.read_photo_urls(text))
    if requested == "complaint_time":
        return reporting.says_unknown(text) or reporting.mentions_time(text) is not None
    if requested == "complaint_region":
        return next(tracker.get_latest_entity_values("region"), None) is not None
    if requested == "complaint_confirmed":
        return reporting.confirms(text) or reporting.read_report_field(text) is not None
    if requested == "complaint_category":
        return reporting.read_choice(text, _category_names()) is not None
    if requested == "complaint_request_type":
        return reporting.read_choice(text, _request_type_names()) is not None
    return False


def _category_names() -> dict[str, list[str]]:
    return {code: [category.name["zh"], category.name["en"]] for code, category in codes().categories.items()}


def _request_type_names() -> dict[str, list[str]]:
    return {code: [kind.name["zh"], kind.name["en"]] for code, kind in codes().request_types.items()}


def correction_buttons(lang: str) -> list[dict[str, str]]:
    return [
        {"title": cards.phrase(f"change_{field}", lang), "payload": f'/correct{{"field": "{field}"}}'}
        for field in CORRECTABLE
    ]


def cleared_report(*, keep: tuple[str, ...] = ()) -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS if slot not in keep]


class ActionStartComplaint(ServiceAction):
    """'我要投诉' or the whole story at once: a fresh report, filled with what the message says."""

    def name(self) -> str:
        return "action_start_complaint"

    async def answer(self, conversation: Conversation) -> None:
        tracker = conversation.tracker
        service = await _names_a_service_instead(conversation)
        if service is not None:
            conversation.show_card(service)
            conversation.events.append(FollowupAction("action_listen"))  # no form
            return
        empty: dict[str, Any] = {slot: None for slot in FORM_SLOTS}
        message = tracker.latest_message or {}
        if conversation.text.startswith("/"):  # the "report this" button under a search: the message before it
            message = _previous_message(tracker)
        found = understood(message, empty, describes=True)
        conversation.events += cleared_report()
        conversation.events += [SlotSet(slot, value) for slot, value in found.items()]
        conversation.events += [SlotSet("complaint_key", secrets.token_hex(8)), SlotSet("complaint_failures", 0.0)]
        conversation.say("utter_start_complaint")


def _previous_message(tracker: Tracker) -> dict[str, Any]:
    """The parse data of the message before the latest one (none if that was a button too)."""
    users = [event for event in tracker.events if event.get("event") == "user"]
    if len(users) < 2 or str(users[-2].get("text") or "").startswith("/"):
        return {}
    return {**(users[-2].get("parse_data") or {}), "text": users[-2].get("text") or ""}


async def _names_a_service_instead(conversation: Conversation) -> dict[str, Any] | None:
    """A message taken for a report that says nothing of reporting, names nothing wrong
    clearly, and names a service item outright ("my passport is almost full, need a new
    one"): the citizen wants the item. On the development sets this caught 64% of service
    questions taken for reports and 4% of reports (tests/data/search_dev*.yml, complaints_dev.yml)."""
    text = conversation.text
    if text.startswith("/") or says_report(text) or names_a_problem(classify(text)):
        return None
    try:
        return names_an_item(await conversation.search())
    except PlatformUnavailable:
        return None  # a report can be written down without the platform; a search cannot


class ActionAskComplaintCategory(ServiceAction):
    def name(self) -> str:
        return "action_ask_complaint_category"

    async def answer(self, conversation: Conversation) -> None:
        lang = conversation.lang
        buttons = [
            {"title": category_name(code, lang), "payload": category_name(code, lang)} for code in codes().categories
        ]
        conversation.say("utter_ask_complaint_category", choices=numbered(buttons), buttons=buttons)


class ActionAskComplaintRequestType(ServiceAction):
    def name(self) -> str:
        return "action_ask_complaint_request_type"

    async def answer(self, conversation: Conversation) -> None:
        lang = conversation.lang
        buttons = [
            {"title": request_type_name(code, lang), "payload": request_type_name(code, lang)}
            for code in codes().request_types
        ]
        conversation.say("utter_ask_complaint_request_type", choices=numbered(buttons), buttons=buttons)


class ActionAskComplaintRegion(ServiceAction):
    """Where it is; the district the citizen gave earlier in the conversation offered as a button."""

    def name(self) -> str:
        return "action_ask_complaint_region"

    async def answer(self, conversation: Conversation) -> None:
        known = region_name(conversation.region, conversation.lang) if conversation.region else None
        buttons = [{"title": known, "payload": known}] if known else []
        conversation.say("utter_ask_complaint_region", buttons=buttons)


@cache
def regions() -> RegionDirectory:
    """China's divisions, read here rather than asked of the platform: a report can be
    written down while the platform is out of reach."""
    return RegionDirectory(read_regions())


def region_name(code: str | None, lang: str) -> str | None:
    """'成都市武侯区' / 'Wuhou District, Chengdu' for a 6-digit code."""
    region = regions().get(code or "")
    if region is None:
        return code
    name = regions().place_name(region)
    return name.en if lang == "en" else name.zh


class ActionAskComplaintConfirmed(ServiceAction):
    """The summary: everything the report will say, the phone masked, to confirm or correct."""

    def name(self) -> str:
        return "action_ask_complaint_confirmed"

    async def answer(self, conversation: Conversation) -> None:
        tracker = conversation.tracker
        lang = conversation.lang
        place = region_name(tracker.get_slot("complaint_region"), lang) or ""
        address = tracker.get_slot("complaint_address")
        when = tracker.get_slot("complaint_time")
        photos = tracker.get_slot("complaint_photos")
        contact = unseal(tracker.get_slot("complaint_contact")) or ""
        description = str(tracker.get_slot("complaint_description") or "")
        buttons = [
            {"title": cards.phrase("confirm_report", lang), "payload": "/affirm"},
            *correction_buttons(lang),
            {"title": cards.phrase("cancel", lang), "payload": "/cancel"},
        ]
        conversation.say(
            "utter_complaint_summary",
            category=category_name(tracker.get_slot("complaint_category"), lang),
            request_type=request_type_name(tracker.get_slot("complaint_request_type"), lang),
            place=cards.phrase("place_with_address", lang, place=place, address=address) if address else place,
            time=cards.phrase("time_unknown", lang) if when in (None, UNKNOWN) else str(when),
            description=description if len(description) <= 300 else description[:300] + "…",
            photos=cards.phrase("photo_count", lang, count=len(photos))
            if isinstance(photos, list)
            else cards.phrase("no_photo", lang),
            contact=cards.phrase("anonymous", lang) if contact == ANONYMOUS else mask_mobile(contact),
            buttons=buttons,
        )


class ActionStopComplaint(ServiceAction):
    """'Cancel' while reporting: nothing is filed, and what was said is forgotten."""

    def name(self) -> str:
        return "action_stop_complaint"

    async def answer(self, conversation: Conversation) -> None:
        if _intent(conversation.tracker)[0] in ("cancel", "goodbye"):
            conversation.say("utter_complaint_stopped")
        conversation.events += [ActiveLoop(None), SlotSet("requested_slot", None), *cleared_report()]


class ActionSubmitComplaint(ServiceAction):
    """The report is confirmed: kept in the outbox, filed, the receipt given; or, with the
    platform out of reach, a local reference now and the number in a notice later."""

    def name(self) -> str:
        return "action_submit_complaint"

    async def answer(self, conversation: Conversation) -> None:
        tracker = conversation.tracker
        if tracker.get_slot("complaint_confirmed") is not True:
            conversation.events += cleared_report()
            return
        contact = unseal(tracker.get_slot("complaint_contact"))
        if contact is None:
            conversation.say("utter_details_expired")
            conversation.events += [SlotSet("complaint_contact", None), SlotSet("complaint_confirmed", None)]
            return
        body = report_body(tracker, conversation.lang, None if contact == ANONYMOUS else contact)
        box = outbox()
        queued = await in_thread(box.put, _idempotency_key(tracker), tracker.sender_id, conversation.lang, body)
        receipt = queued.receipt or await in_thread(box.deliver, queued.key)
        conversation.events += cleared_report()
        if receipt is None:
            refusal = await in_thread(box.refusal, queued.key)
            if refusal:
                logger.info("report refused by the platform: %s", refusal)
                conversation.say("utter_complaint_refused")
                return
            conversation.say(
                "utter_complaint_queued",
                json_message={"type": "complaint_queued", "reference": queued.reference},
                reference=queued.reference,
            )
            return
        await in_thread(box.mark_told, queued.key)
        show_receipt(conversation, receipt, receipt.get("follow_up_code"))


def report_body(tracker: Tracker, lang: str, phone: str | None) -> dict[str, Any]:
    """The platform's `POST /api/v1/complaints` body for the report in the slots."""
    description = str(tracker.get_slot("complaint_description") or "")
    when = tracker.get_slot("complaint_time")
    if when not in (None, UNKNOWN) and str(when) not in description:
        description = f"{description}\n{cards.phrase('when_line', lang, time=when)}"
    photos = tracker.get_slot("complaint_photos")
    location: dict[str, Any] = {"region_code": tracker.get_slot("complaint_region")}
    if tracker.get_slot("complaint_address"):
        location["address"] = tracker.get_slot("complaint_address")
    body: dict[str, Any] = {
        "category": tracker.get_slot("complaint_category"),
        "request_type": tracker.get_slot("complaint_request_type"),
        "description": description[:MAX_DESCRIPTION_CHARS],
        "location": location,
        "photo_urls": photos if isinstance(photos, list) else [],
        "contact": {"phone": phone} if phone else None,
        "channel": tracker.get_latest_input_channel() or "rest",
        "conversation_id": tracker.sender_id,
        "lang": lang,
    }
    if tracker.get_slot("complaint_occurred_at"):
        body["occurred_at"] = tracker.get_slot("complaint_occurred_at")
    return body


def show_receipt(conversation: Conversation, receipt: Mapping[str, Any], follow_up_code: str | None) -> None:
    lang = conversation.lang
    office = receipt.get("office") or {}
    conversation.say(
        "utter_complaint_receipt",
        json_message={
            "type": "complaint_receipt",
            **{field: receipt[field] for field in ("complaint_id", "category", "request_type", "status")},
            "response_due": receipt["response_due"],
        },
        complaint_id=receipt["complaint_id"],
        category=category_name(receipt["category"], lang),
        request_type=request_type_name(receipt["request_type"], lang),
        office=str(office.get("department") or ""),
        response_due=receipt["response_due"],
        how_to_check=cards.phrase("check_with_code", lang, code=follow_up_code)
        if follow_up_code
        else cards.phrase("check_with_phone", lang),
    )
    conversation.events.append(SlotSet("last_complaint_id", receipt["complaint_id"]))


def _idempotency_key(tracker: Tracker) -> str:
    """One key per started report: a retried submission is the same report."""
    raw = f"complaint:{tracker.sender_id}:{tracker.get_slot('complaint_key')}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


class ActionNotifyComplaintFiled(ServiceAction):
    """The outbox's notice that a report kept while the platform was down has been filed."""

    def name(self) -> str:
        return "action_notify_complaint_filed"

    async def answer(self, conversation: Conversation) -> None:
        found = _entities(conversation.tracker)
        required = ("complaint_id", "category", "request_type", "status", "response_due")
        if any(not found.get(field) for field in required):
            logger.warning("a filing notice without its report fields was ignored")
            return
        conversation.say("utter_complaint_filed_later", reference=str(found.get("reference") or ""))
        show_receipt(conversation, found, unseal(found.get("follow_up")))


def _entities(tracker: Tracker) -> dict[str, Any]:
    return {
        entity.get("entity"): entity.get("value") for entity in (tracker.latest_message or {}).get("entities") or []
    }


# --- follow-up checks ------------------------------------------------------------------


class ValidateComplaintStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_status_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = reading(tracker)
        if text is None:
            return []
        requested = tracker.get_slot("requested_slot")
        if requested == "status_complaint_id":
            found = reporting.read_complaint_id(text)
            if found:
                return [SlotSet("status_complaint_id", found), SlotSet("requested_slot", "complaint_code")]
            if _asks_something_else(tracker):
                return []
            dispatcher.utter_message(response="utter_invalid_complaint_id")
            return [SlotSet("status_complaint_id", None)]
        if requested == "complaint_code":
            code = reporting.read_complaint_code(text)
            if code:
                return [SlotSet("complaint_code", seal(code)), SlotSet("requested_slot", None)]
            if _asks_something_else(tracker):
                return []
            dispatcher.utter_message(response="utter_invalid_complaint_code")
            return [SlotSet("complaint_code", None)]
        return []


class ActionStartComplaintCheck(ServiceAction):
    """A fresh check of a report; a number given in the same breath is taken."""

    def name(self) -> str:
        return "action_start_complaint_check"

    async def answer(self, conversation: Conversation) -> None:
        number = reporting.read_complaint_id(conversation.text)
        conversation.events += [SlotSet("status_complaint_id", number), SlotSet("complaint_code", None)]


class ActionAskStatusComplaintId(ServiceAction):
    def name(self) -> str:
        return "action_ask_status_complaint_id"

    async def answer(self, conversation: Conversation) -> None:
        last = conversation.tracker.get_slot("last_complaint_id")
        buttons = [{"title": last, "payload": last}] if last else []
        conversation.say("utter_ask_status_complaint_id", buttons=buttons)


def complaint_status_words(complaint: Mapping[str, Any], lang: str) -> dict[str, str]:
    updates = "\n".join(
        cards.phrase(
            "history_line",
            lang,
            at=str(update.get("at", ""))[:10],
            status=cards.phrase(f"complaint_status_{update['status']}", lang),
            note=f" — {update['note']}" if update.get("note") else "",
        )
        for update in complaint.get("updates") or []
    )
    overdue = cards.phrase("complaint_overdue", lang) if complaint.get("overdue") else ""
    return {
        "complaint_id": str(complaint["complaint_id"]),
        "category": category_name(complaint.get("category"), lang),
        "status": cards.phrase(f"complaint_status_{complaint['status']}", lang),
        "response_due": f"{complaint.get('response_due', '')}{overdue}",
        "updates": updates,
    }


async def as_reporter(
    conversation: Conversation, call: Callable[..., dict[str, Any]], *args: str
) -> dict[str, Any] | None:
    """A platform call made with the reporter's code; a wrong code or a locked number is
    explained (the same words whether or not the number exists) and gives None."""
    try:
        return await in_thread(call, *args)
    except WrongCode:
        conversation.say("utter_complaint_wrong_code")
    except Locked as locked:
        conversation.say("utter_status_locked", minutes=str(max(1, -(-locked.retry_after_seconds // 60))))
    return None


class ActionCheckComplaint(ServiceAction):
    """The verified check: `complaint_status`; an answered report is then offered for rating."""

    def name(self) -> str:
        return "action_check_complaint"

    async def answer(self, conversation: Conversation) -> None:
        tracker = conversation.tracker
        complaint_id = tracker.get_slot("status_complaint_id")
        code = unseal(tracker.get_slot("complaint_code"))
        conversation.events += [SlotSet(slot, None) for slot in STATUS_SLOTS]
        conversation.events.append(SlotSet("rating_pending", False))
        if not complaint_id or not code:
            return
        complaint = await as_reporter(conversation, platform().complaint, complaint_id, code)
        if complaint is None:
            return
        payload = {
            "type": "complaint_status",
            "complaint_id": complaint["complaint_id"],
            "status": complaint["status"],
            "updates": [
                {"status": update["status"], "at": update["at"], "note": update.get("note") or ""}
                for update in complaint.get("updates") or []
            ],
        }
        conversation.say(
            "utter_complaint_status", json_message=payload, **complaint_status_words(complaint, conversation.lang)
        )
        if complaint["status"] == "responded":
            conversation.events += ask_for_rating(complaint["complaint_id"], seal(code))


class ActionStopComplaintCheck(ServiceAction):
    """The citizen leaves a check half-way: the form closes and forgets the number and code."""

    def name(self) -> str:
        return "action_stop_complaint_check"

    async def answer(self, conversation: Conversation) -> None:
        if _intent(conversation.tracker)[0] == "cancel":
            conversation.say("utter_status_check_stopped")
        conversation.events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        conversation.events += [SlotSet(slot, None) for slot in STATUS_SLOTS]


class ActionNotifyComplaintUpdate(ServiceAction):
    """The platform's notice that staff updated the citizen's report; an answer is then
    offered for rating, unless the citizen is in the middle of something else."""

    def name(self) -> str:
        return "action_notify_complaint_update"

    async def answer(self, conversation: Conversation) -> None:
        found = _entities(conversation.tracker)
        conversation.events.append(SlotSet("rating_pending", False))
        if not found.get("complaint_id") or not found.get("status"):
            logger.warning("a report notice without report id or status was ignored")
            return
        status = str(found["status"])
        note = str(found.get("note") or "")
        conversation.say(
            "utter_complaint_update",
            json_message={
                "type": "complaint_update",
                "complaint_id": found["complaint_id"],
                "status": status,
                "note": note,
            },
            complaint_id=str(found["complaint_id"]),
            status=cards.phrase(f"complaint_status_{status}", conversation.lang),
            note=f"\n{cards.phrase('staff_note', conversation.lang)}{note}" if note else "",
        )
        if status == "responded" and not (conversation.tracker.active_loop or {}).get("name"):
            conversation.events += ask_for_rating(str(found["complaint_id"]), None)


# --- satisfaction (回访) ----------------------------------------------------------------


def ask_for_rating(complaint_id: str, sealed_code: str | None) -> list[EventType]:
    """`rating_pending` makes the rules open `satisfaction_form` next (data/rules/complaints.yml)."""
    return [
        SlotSet("rating_pending", True),
        SlotSet("rating_complaint_id", complaint_id),
        SlotSet("rating_code", sealed_code),
        SlotSet("satisfaction_rating", None),
        SlotSet("satisfaction_comment", None),
    ]


class ValidateSatisfactionForm(FormValidationAction):
    def name(self) -> str:
        return "validate_satisfaction_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # rating_code is required even when the check just verified it (it is then already
        # set): rasa-sdk recomputes these after extracting, and drops what is not listed.
        if tracker.get_slot("satisfaction_rating") == "dissatisfied":
            return ["satisfaction_rating", "satisfaction_comment", "rating_code"]
        return ["satisfaction_rating", "rating_code"]

    async def extract_satisfaction_rating(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _answer(tracker, "satisfaction_rating")
        if text is None:
            return {}
        rating = reporting.read_rating(text)
        if rating:
            return {"satisfaction_rating": rating}
        if _asks_something_else(tracker):
            return {}
        dispatcher.utter_message(response="utter_choose_rating")
        return {"satisfaction_rating": None}

    async def extract_satisfaction_comment(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _answer(tracker, "satisfaction_comment")
        if text is None or _intent(tracker)[0] in ("cancel", "report_emergency"):
            return {}
        if reporting.says_unknown(text) or reporting.declines_photo(text):
            return {"satisfaction_comment": NONE}
        return {"satisfaction_comment": text[:500]}

    async def extract_rating_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _answer(tracker, "rating_code")
        if text is None:
            return {}
        code = reporting.read_complaint_code(text)
        if code:
            return {"rating_code": seal(code)}
        if _asks_something_else(tracker):
            return {}
        dispatcher.utter_message(response="utter_invalid_complaint_code")
        return {"rating_code": None}


def _answer(tracker: Tracker, slot: str) -> str | None:
    return reading(tracker) if tracker.get_slot("requested_slot") == slot else None


class ActionAskSatisfactionRating(ServiceAction):
    def name(self) -> str:
        return "action_ask_satisfaction_rating"

    async def answer(self, conversation: Conversation) -> None:
        lang = conversation.lang
        buttons = [
            {"title": cards.phrase(f"rating_{rating}", lang), "payload": cards.phrase(f"rating_{rating}", lang)}
            for rating in reporting.RATINGS
        ]
        conversation.say(
            "utter_ask_satisfaction_rating",
            complaint_id=str(conversation.tracker.get_slot("rating_complaint_id") or ""),
            choices=numbered(buttons),
            buttons=buttons,
        )


class ActionRecordSatisfaction(ServiceAction):
    """The rating goes to the platform: satisfied closes the report, dissatisfied reopens it."""

    def name(self) -> str:
        return "action_record_satisfaction"

    async def answer(self, conversation: Conversation) -> None:
        tracker = conversation.tracker
        complaint_id = tracker.get_slot("rating_complaint_id")
        rating = tracker.get_slot("satisfaction_rating")
        code = unseal(tracker.get_slot("rating_code"))
        comment = tracker.get_slot("satisfaction_comment")
        conversation.events += [SlotSet(slot, None) for slot in RATING_SLOTS]
        conversation.events.append(SlotSet("rating_pending", False))
        if not complaint_id or not rating or not code:
            return
        try:
            rated = await as_reporter(
                conversation,
                platform().rate_complaint,
                complaint_id,
                code,
                rating,
                "" if comment in (None, NONE) else comment,
            )
        except Rejected:
            conversation.say("utter_rating_not_open")
            return
        if rated is None:
            return
        if rated["status"] == "closed":
            conversation.say("utter_rating_thanks_closed", complaint_id=complaint_id)
        else:
            conversation.say(
                "utter_rating_reopened", complaint_id=complaint_id, response_due=str(rated.get("response_due", ""))
            )


class ActionStopRating(ServiceAction):
    def name(self) -> str:
        return "action_stop_rating"

    async def answer(self, conversation: Conversation) -> None:
        if _intent(conversation.tracker)[0] == "cancel":
            conversation.say("utter_rating_later")
        conversation.events += [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("rating_pending", False)]
        conversation.events += [SlotSet(slot, None) for slot in RATING_SLOTS]
