"""The REST channel of CONTRACT.md §2, at Rasa's usual /webhooks/rest/webhook.

Rasa's own `RestInput` sends a response's `custom` payload as a message of its own,
apart from the text that says the same; here the two stay one message
(`{"recipient_id", "text", "custom", "buttons"?}`), so a channel that cannot draw the
card shows the text and one that can knows which text the card replaces. A body that is
not a JSON object with a string `sender` gets a 400 instead of an error page, a body
over 64 KB a 413, and, when ZW_REST_RATE_LIMIT_PER_MINUTE is set (bot/channels/ratelimit.py),
a sender over it a 429 whose body is the usual list with one polite answer.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import content_length
from bot.channels.ratelimit import REST_VARIABLE, SenderRateLimiter
from bot.store_failures import ConversationStoreUnavailable, refuse_silent_fallback

logger = logging.getLogger(__name__)
NO_ANSWER = "抱歉，暂时无法回答，请稍后再试。Sorry, I can't answer right now; please try again in a moment."
MAX_BODY_BYTES = 64 * 1024
MAX_SENDER_CHARS = 255  # Rasa's SQL tracker store keeps sender ids in a VARCHAR(255)
# A JSON "\udc00" decodes to a lone surrogate, which no UTF-8 encoder (the actions' HTTP client) takes.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_sender(sender: object) -> bool:
    """A conversation id every tracker store can keep: 1 to 255 characters, none of them
    control, format or surrogate characters (PostgreSQL refuses NUL, UTF-8 lone surrogates)."""
    return (
        isinstance(sender, str)
        and 0 < len(sender) <= MAX_SENDER_CHARS
        and not any(unicodedata.category(ch)[0] == "C" for ch in sender)
    )


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
    def __init__(self, limiter: SenderRateLimiter | None = None) -> None:
        self.limiter = limiter or SenderRateLimiter.configured(
            os.environ, os.environ.get("REDIS_URL") or None, REST_VARIABLE, default=0
        )

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("zhengwu_rest_webhook", __name__)
        content_length.install(webhook)  # every route of the Rasa server, Rasa's own included

        @webhook.listener("after_server_start")
        async def no_silent_fallback(app: Any, loop: Any) -> None:
            refuse_silent_fallback(app.ctx.agent)  # every channel's turns, and Rasa's API

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_BODY_BYTES:
                return response.json({"error": {"code": "too_large", "message": "The body is too large."}}, status=413)
            try:
                body = request.json
            except Exception:  # sanic raises its own error type for a body that is not JSON
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("sender"), str) or not body["sender"]:
                return _bad_request("The body must be a JSON object with a non-empty string 'sender'.")
            if not valid_sender(body["sender"]):
                return _bad_request(f"'sender' must be 1 to {MAX_SENDER_CHARS} characters, no control characters.")
            message = body.get("message")
            if message is not None and not isinstance(message, str):
                return _bad_request("'message' must be a string.")
            metadata = body.get("metadata")
            if metadata is not None and not isinstance(metadata, dict):
                return _bad_request("'metadata' must be a JSON object.")
            if not await self.limiter.admit(self.name(), body["sender"]):
                refusal = [{"recipient_id": body["sender"], "text": self.limiter.refusal}]
                return response.json(refusal, status=429, headers={"Retry-After": str(self.limiter.retry_after)})
            collector = CardCollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        _LONE_SURROGATE.sub("\ufffd", message or ""),
                        collector,
                        body["sender"],
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except CancelledError:
                logger.error("The message of a REST conversation timed out.")
            except ConversationStoreUnavailable:
                logger.exception("A REST message could not be handled: its conversation was not saved.")
                # Answers already collected describe a turn the conversation will not remember.
                collector.messages.clear()
            except Exception:
                logger.exception("A REST message could not be handled.")
            # Never a blank reply: when nothing answered (the action server down, say),
            # the citizen still hears something, in both languages as the language is unknown here.
            return response.json(collector.messages or [{"recipient_id": body["sender"], "text": NO_ANSWER}])

        return webhook


def _bad_request(message: str) -> HTTPResponse:
    return response.json({"error": {"code": "bad_request", "message": message}}, status=400)
