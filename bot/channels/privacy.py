"""Operators' privacy routes on the Rasa server, for a citizen who asks that their
conversation be deleted, and for retention on demand:

    DELETE /webhooks/privacy/conversations/<conversation_id>   → 200 {"deleted": true} | 404
    POST   /webhooks/privacy/purge                             → 200 {"purged": n}

Both need Rasa's API token (RASA_AUTH_TOKEN in the Rasa process's environment, as
`make run` and tools/stack.py set it) as `Authorization: Bearer …` or `?token=`; without a
configured token they answer 403 to everyone. They act on the tracker store Rasa uses,
which must be bot.stores.redacting.RedactingTrackerStore (501 otherwise). A deletion holds
the conversation's lock, so a message being answered at that moment is saved first and
then deleted with the rest, rather than writing the conversation back afterwards.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.privacy import redact_text

logger = logging.getLogger(__name__)


class ConversationPrivacy(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "privacy"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("zhengwu_privacy", __name__)

        @routes.route("/conversations/<conversation_id>", methods=["DELETE"])
        async def delete(request: Request, conversation_id: str) -> HTTPResponse:
            refused = _refusal(request)
            if refused:
                return refused
            agent = request.app.ctx.agent
            store = _our_store(agent)
            if not hasattr(store, "delete"):
                return _error(501, "The tracker store cannot delete conversations.")
            async with agent.lock_store.lock(conversation_id):
                deleted = await store.delete(conversation_id)
            logger.info("Conversation %s deleted on request: %s.", redact_text(conversation_id)[:12], deleted)
            if not deleted:
                return _error(404, "No such conversation.", deleted=False)
            return response.json({"deleted": True})

        @routes.route("/purge", methods=["POST"])
        async def purge(request: Request) -> HTTPResponse:
            refused = _refusal(request)
            if refused:
                return refused
            store = _our_store(request.app.ctx.agent)
            if not hasattr(store, "purge_expired"):
                return _error(501, "The tracker store has no retention period.")
            purged = await request.app.loop.run_in_executor(None, store.purge_expired)
            return response.json({"purged": purged})

        return routes


def _our_store(agent: Any) -> Any:
    store = getattr(agent, "tracker_store", None)
    # Rasa wraps the configured store in its FailSafeTrackerStore.
    return getattr(store, "_tracker_store", store)


def _refusal(request: Request) -> HTTPResponse | None:
    expected = os.environ.get("RASA_AUTH_TOKEN", "")
    header = request.headers.get("authorization", "")
    given = header[7:] if header.lower().startswith("bearer ") else request.args.get("token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return _error(403, "A valid token is required.")
    return None


def _error(status: int, message: str, **extra: Any) -> HTTPResponse:
    return response.json({"error": message, **extra}, status=status)
