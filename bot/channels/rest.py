"""The REST channel of CONTRACT.md §2, at Rasa's usual /webhooks/rest/webhook.

Rasa's own `RestInput` sends a response's `custom` payload as a message of its own,
apart from the text that says the same; here the two stay one message
(`{"recipient_id", "text", "custom", "buttons"?}`), so a channel that cannot draw the
card shows the text and one that can knows which text the card replaces. A body that is
not a JSON object with a string `sender` gets a 400 instead of an error page.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)
NO_ANSWER = "抱歉，暂时无法回答，请稍后再试。Sorry, I can't answer right now; please try again in a moment."


class CardCollectingOutputChannel(CollectingOutputChannel):
    """Collects the answers, keeping a custom payload and its text in one message."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if message.get("custom") and message.get("text"):
            await self._persist_message(
                self._message(
                    recipient_id, text=message["text"], buttons=message.get("buttons"), custom=message["custom"]
                )
            )
        else:
            await super().send_response(recipient_id, message)


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("zhengwu_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises its own error type for a body that is not JSON
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("sender"), str) or not body["sender"]:
                return _bad_request("The body must be a JSON object with a non-empty string 'sender'.")
            message = body.get("message")
            if message is not None and not isinstance(message, str):
                return _bad_request("'message' must be a string.")
            metadata = body.get("metadata")
            if metadata is not None and not isinstance(metadata, dict):
                return _bad_request("'metadata' must be a JSON object.")
            collector = CardCollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        message or "",
                        collector,
                        body["sender"],
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except CancelledError:
                logger.error("The message of a REST conversation timed out.")
            except Exception:
                logger.exception("A REST message could not be handled.")
            # Never a blank reply: when nothing answered (the action server down, say),
            # the citizen still hears something, in both languages as the language is unknown here.
            return response.json(collector.messages or [{"recipient_id": body["sender"], "text": NO_ANSWER}])

        return webhook


def _bad_request(message: str) -> HTTPResponse:
    return response.json({"error": {"code": "bad_request", "message": message}}, status=400)
