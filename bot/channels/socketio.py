"""The web chat channel of CONTRACT.md §4: Rasa's socket.io channel at /socket.io, for the
portal's widget (web/), with three changes.

- A custom payload travels with its text. Rasa's `SocketIOOutput` sends the text first and
  then the payload as a message of its own, and even passes the payload's fields to
  `emit()` as keyword arguments (a `{"type": ...}` payload fails there). Here a response
  with `custom` is one `bot_uttered` message `{"text", "custom", "quick_replies"?}`, as the
  REST channel keeps them (bot/channels/rest.py): a client draws the card, or shows the
  text when it cannot. Text, buttons and images keep Rasa's shapes (`{"text"}`,
  `{"text", "quick_replies"}`, `{"attachment"}`), so Rasa's usual web widgets still work.
- Session ids are issued by the server. With `session_persistence: true` a client asks for
  its conversation with `session_request {session_id}`; the id it sends is kept only if
  this server issued it (`web-` + random + HMAC, the key from `ZW_SESSION_KEY` or generated
  into var/socketio-session-key), otherwise it gets a new one in `session_confirm`. A
  socket speaks only for the session it was confirmed: the `session_id` in `user_uttered`
  is not trusted, so nobody can write into, or read, a conversation of another channel or
  person by naming it. (Rasa 3.6's own handler also forgets to await python-socketio 5's
  `enter_room`, so its replies to a persistent session reach nobody.)
- Several Rasa processes (REDIS_URL set, SANIC_WORKERS > 1): messages to a session go
  through Redis to whichever process holds its socket; the widget speaks websocket only,
  so a socket never spans processes.
- Never a blank reply: when nothing answered (the action server down, say) the citizen
  still reads the REST channel's apology.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint
from socketio import AsyncRedisManager, AsyncServer

from backend.settings import secret_from_file
from bot.channels.rest import NO_ANSWER

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent.parent
SESSION_PREFIX = "web-"
_NONCE_HEX = 32
_MAC_HEX = 24
SESSION_ID = re.compile(rf"^{SESSION_PREFIX}[0-9a-f]{{{_NONCE_HEX + _MAC_HEX}}}$")


@cache
def _session_key() -> bytes:
    configured = os.environ.get("ZW_SESSION_KEY")
    if configured:
        return configured.encode("utf-8")
    path = Path(os.environ.get("ZW_VAR_DIR") or ROOT / "var") / "socketio-session-key"
    return secret_from_file(path).encode("utf-8")


def _mac(nonce: str) -> str:
    return hmac.new(_session_key(), nonce.encode("ascii"), hashlib.sha256).hexdigest()[:_MAC_HEX]


def new_session_id() -> str:
    nonce = secrets.token_hex(_NONCE_HEX // 2)
    return SESSION_PREFIX + nonce + _mac(nonce)


def issued_here(session_id: object) -> bool:
    """Whether `session_id` is one that `new_session_id` made with this server's key."""
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        return False
    body = session_id[len(SESSION_PREFIX) :]
    return hmac.compare_digest(body[_NONCE_HEX:], _mac(body[:_NONCE_HEX]))


class SocketIOOutput(RasaSocketIOOutput):
    """Rasa's output, but a custom payload and its text leave as one message."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self.sent = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if not message.get("custom"):
            await super().send_response(recipient_id, message)
            return
        together: dict[str, Any] = {"custom": message["custom"]}
        if message.get("text"):
            together["text"] = message["text"]
        buttons = message.get("buttons") or message.get("quick_replies")
        if buttons:
            together["quick_replies"] = [
                {"content_type": "text", "title": button["title"], "payload": button["payload"]} for button in buttons
            ]
        await self._send_message(recipient_id, together)
        if message.get("image"):
            await self.send_image_url(recipient_id, message["image"])

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io input with server-issued sessions (see the module's docstring)."""

    def get_output_channel(self) -> OutputChannel | None:
        """For messages the platform triggers (a status change): sent to the session's room."""
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Rasa's own blueprint registers the connect check (jwt_key) and the health route;
        # its session and message handlers are replaced below.
        webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None, "set by Rasa's blueprint()"
        _session_key()  # read (or made) before Sanic forks its workers: one key for all of them
        redis_url = os.environ.get("REDIS_URL")
        if redis_url:
            # Several Rasa processes: a notice for a session reaches the process holding its socket.
            manager = AsyncRedisManager(redis_url, channel="zhengwu-socketio")
            manager.set_server(sio)
            sio.manager = manager
        namespace = self.namespace or "/"

        async def session_request(sid: str, data: Any) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            session_id = asked if issued_here(asked) else new_session_id()
            if self.session_persistence:
                previous = (await sio.get_session(sid, namespace=namespace)).get("session_id")
                if previous and previous != session_id:
                    await sio.leave_room(sid, previous, namespace=namespace)
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                logger.warning("A socket.io message that is not {message, metadata?} was ignored.")
                return
            if self.session_persistence:
                session = await sio.get_session(sid, namespace=namespace)
                sender_id = session.get("session_id")
                if not sender_id:
                    logger.warning("A socket.io message before session_request was ignored.")
                    return
            else:
                sender_id = sid
            output = SocketIOOutput(sio, self.bot_message_evt)
            message = UserMessage(
                data.get("message") or "",
                output,
                sender_id,
                input_channel=self.name(),
                metadata=_metadata(data.get(self.metadata_key or "metadata")),
            )
            try:
                await on_new_message(message)
            except CancelledError:
                logger.error("The message of a socket.io conversation timed out.")
            except Exception:
                logger.exception("A socket.io message could not be handled.")
            if not output.sent:
                await output.send_text_message(sender_id, NO_ANSWER)

        @webhook.listener("before_server_stop")
        async def close_sockets(*_: Any) -> None:
            # Closed here, browsers reconnect to the next server; left open, their pings die with errors.
            if sio.eio.sockets:
                await sio.eio.disconnect()

        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)
        return webhook


def _metadata(value: Any) -> dict[str, Any] | None:
    """The message's metadata: an object, or a JSON string of one (as Rasa accepts); else none."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None
