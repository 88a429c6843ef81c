"""An emergency described to the assistant: the number to call, at once, in the citizen's
language — nothing is filed, and an open form steps aside (its answers are kept)."""

from __future__ import annotations

from rasa_sdk.events import ActiveLoop, SlotSet

from actions import cards
from actions.services import Conversation, ServiceAction
from backend.complaints.emergency import emergency_number

FALLBACK_NUMBER = "110"
"""Should the cues and the NLU ever disagree, the police number reaches every service."""


class ActionEmergency(ServiceAction):
    def name(self) -> str:
        return "action_emergency"

    async def answer(self, conversation: Conversation) -> None:
        number = emergency_number(conversation.text) or FALLBACK_NUMBER
        conversation.say(
            "utter_emergency",
            json_message={"type": "emergency", "number": number},
            number=number,
            service=cards.phrase(f"emergency_{number}", conversation.lang),
        )
        # A form open or not, none stays open (the rules say so either way; answers are kept).
        conversation.events += [ActiveLoop(None), SlotSet("requested_slot", None)]
