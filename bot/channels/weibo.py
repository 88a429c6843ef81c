"""The Weibo fan-service channel (粉丝服务平台, CONTRACT.md §4) at /webhooks/weibo/webhook.

Weibo pushes each private message a citizen sends to the account as JSON and waits
5 seconds for a passive reply, retrying up to 3 times when none comes; an empty body
means "no reply now" and stops the retries. The protocol, from open.weibo.com/wiki:
Basic_Settings_Guide and Verify_Message_Authenticity (signature), Receive_General_Message
and Receive_Event_Push (pushes), Send_Passive_Response_Message (the reply body) and
Send_Customer_Service_Message (m.api.weibo.com/2/messages/reply.json, for late replies).

- GET verifies the URL and every POST carries the same proof: `signature` is the SHA-1
  of app secret, `timestamp` and `nonce` sorted and concatenated; a wrong one is 403.
  Weibo's timestamps are milliseconds (the wiki's example: 1397022061823); ones more than
  5 minutes off are refused (403) as replays. Bodies over 64 KB are 413, bodies that are
  not a push 400.
- What the assistant gets: a text as it is, or the payload of the numbered choice it
  picks ("2" after a list); a location as "[位置]" with `metadata.latitude`, `longitude`;
  following or subscribing to the account as "/greet" (the welcome with the main menu);
  a menu click as its key, "/"-prefixed when the key is an intent name. Pictures come as
  file ids only an API call can fetch, so the citizen is asked to send a link instead
  (a push that does carry a link goes on as one, with `metadata.photo_urls`); voice gets
  a polite "not supported". Other events, @mentions and unknown types get an empty body.
- Answering, as the WeChat channel does: within `reply_window` seconds (4.5 by default)
  all of a turn's answers go back as one passive text if they fit the 300 characters of
  one Weibo message; otherwise (when the window closes, or at once when they do not fit)
  the channel answers an empty body and sends them in order through reply.json, each cut
  to fit at line ends. Notifications Rasa sends
  later (`output_channel=latest`) take reply.json too.
- A retry (same sender, `created_at` and content) never reaches the assistant again: while
  the first is running it waits like the first, then gets the same passive reply or an
  empty body. Pushes are remembered for twice the clock skew allowed, so one replayed
  while its timestamp still passes is still a retry.
- A sender over the rate limit (ZW_RATE_LIMIT_PER_MINUTE, bot/channels/ratelimit.py) gets
  the polite "too fast" reply and the push does not reach the assistant.

Configuration: the keys of credentials.yml (app_secret, access_token, api_base,
reply_window_seconds) where given, else the environment (WEIBO_APP_SECRET,
WEIBO_ACCESS_TOKEN, WEIBO_API_BASE, WEIBO_REPLY_WINDOW_SECONDS; REDIS_URL for shared
state). Without an app secret the channel is off and its routes answer 404; without an
access token late answers cannot be sent, so a long one is cut to its first message.
The token is long-lived and has no refresh API: a refused one is logged by error code.
Logs carry hashed uids and timings, never what was said.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import content_length
from bot.channels.outgoing import (
    ChoiceMemory,
    Deduplicator,
    KeyValueStore,
    ReplyWindow,
    coordinates,
    pseudonym,
    render_answers,
    store_from_url,
)
from bot.channels.ratelimit import SenderRateLimiter
from bot.channels.rest import NO_ANSWER

logger = logging.getLogger(__name__)
WEIBO_API = "https://m.api.weibo.com"
MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW = 300
MAX_TEXT_CHARS = 299  # "less than 300 Chinese characters" per message
DEFAULT_REPLY_WINDOW = 4.5
WELCOME_EVENTS = {"follow", "subscribe", "scan_follow"}
UNSUPPORTED = (
    "暂不支持这种消息，请发送文字或位置。"
    "Sorry, this kind of message isn't supported yet; please send text or a location."
)
SEND_A_LINK = (
    "暂时收不到私信里的图片，请发送图片的链接。"
    "Sorry, I can't receive pictures here yet; please send a link to the picture."
)
KEY_PREFIX = "zhengwu:weibo:"
_INTENT_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TIMESTAMP = re.compile(r"^\d{1,16}$")
_LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class WeiboSettings:
    app_secret: str = ""
    access_token: str = ""
    api_base: str = WEIBO_API
    reply_window: float = DEFAULT_REPLY_WINDOW
    redis_url: str | None = None

    @classmethod
    def read(cls, credentials: Mapping[str, Any] | None, env: Mapping[str, str]) -> WeiboSettings:
        """credentials.yml's keys where given, else the environment's WEIBO_* variables."""

        def value(key: str, variable: str) -> str:
            given = (credentials or {}).get(key)
            return str(given).strip() if given not in (None, "") else env.get(variable, "").strip()

        window = value("reply_window_seconds", "WEIBO_REPLY_WINDOW_SECONDS")
        try:
            reply_window = float(window) if window else DEFAULT_REPLY_WINDOW
        except ValueError:
            logger.error("WEIBO_REPLY_WINDOW_SECONDS is not a number: using %s", DEFAULT_REPLY_WINDOW)
            reply_window = DEFAULT_REPLY_WINDOW
        return cls(
            app_secret=value("app_secret", "WEIBO_APP_SECRET"),
            access_token=value("access_token", "WEIBO_ACCESS_TOKEN"),
            api_base=value("api_base", "WEIBO_API_BASE") or WEIBO_API,
            reply_window=reply_window,
            redis_url=env.get("REDIS_URL") or None,
        )


def signature(app_secret: str, timestamp: str, nonce: str) -> str:
    """SHA-1 of the three strings sorted and concatenated."""
    return hashlib.sha1("".join(sorted((app_secret, timestamp, nonce))).encode("utf-8")).hexdigest()


def signature_matches(given: str | None, app_secret: str, timestamp: str, nonce: str) -> bool:
    if not given or not str(given).isascii():  # compare_digest refuses other strings with a TypeError
        return False
    try:
        return hmac.compare_digest(str(given).lower(), signature(app_secret, timestamp, nonce))
    except UnicodeEncodeError:  # a lone surrogate signs nothing
        return False


def timestamp_seconds(timestamp: str | None) -> float | None:
    """Weibo's timestamp in seconds. It sends milliseconds; a count in seconds is taken too
    (10^11 seconds is the year 5138, 10^11 milliseconds 1973)."""
    if not timestamp or not _TIMESTAMP.match(timestamp):
        return None
    number = int(timestamp)
    return number / 1000 if number >= 10**11 else float(number)


class MalformedPush(ValueError):
    """A body that is not a Weibo push."""


class Unsupported(Exception):
    """A push the assistant cannot take; `reply` tells the citizen what to send instead."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class Push:
    kind: str
    sender_id: int
    receiver_id: int
    created_at: str = ""
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sender(self) -> str:
        """The citizen's uid: the conversation id."""
        return str(self.sender_id)


def parse_push(body: bytes) -> Push:
    try:
        fields = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # RecursionError: arrays nested a thousand deep
        raise MalformedPush("not JSON") from error
    if not isinstance(fields, dict) or not isinstance(fields.get("type"), str) or not fields["type"]:
        raise MalformedPush("no type")
    data = fields.get("data")
    if isinstance(data, str):  # the wiki types it "string"; its examples show an object
        try:
            data = json.loads(data) if data.strip() else {}
        except (ValueError, RecursionError):
            data = {}
    text, created_at = fields.get("text"), fields.get("created_at")
    try:  # what dedupe_key and the tracker will write must be UTF-8: "\ud800" in JSON is not
        json.dumps([fields["type"], text, created_at, data], ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError) as error:
        raise MalformedPush("not UTF-8 text") from error
    return Push(
        kind=fields["type"].lower(),
        sender_id=_uid(fields.get("sender_id")),
        receiver_id=_uid(fields.get("receiver_id")),
        created_at=created_at if isinstance(created_at, str) else "",
        text=text if isinstance(text, str) else "",
        data=data if isinstance(data, dict) else {},
    )


def _uid(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise MalformedPush("sender_id and receiver_id must be int64 uids")
    return value


def assistant_input(push: Push) -> tuple[str, dict[str, Any]] | None:
    """The text and metadata the assistant gets for a push; None when it need not see it."""
    metadata: dict[str, Any] = {"channel": "weibo"}
    if push.kind == "text":
        return (push.text, metadata) if push.text.strip() else None
    if push.kind == "position":
        return "[位置]", {**metadata, **coordinates(push.data.get("latitude"), push.data.get("longitude"))}
    if push.kind == "image":
        link = push.data.get("url") if isinstance(push.data.get("url"), str) else None
        found = _LINK.search(link or push.text)
        if not found:  # only `vfid`/`tovfid`: fetching them takes an API call with the access token
            raise Unsupported(SEND_A_LINK)
        return found.group(0), {**metadata, "photo_urls": [found.group(0)]}
    if push.kind == "voice":
        raise Unsupported(UNSUPPORTED)
    if push.kind == "event":
        subtype = str(push.data.get("subtype", "")).lower()
        key = str(push.data.get("key") or "").strip()
        if subtype in WELCOME_EVENTS:
            return "/greet", metadata
        if subtype == "click" and key:
            return ("/" + key if _INTENT_KEY.match(key) else key), metadata
    return None  # other events, @mentions, kinds Weibo may add: ignored, as the wiki asks


def dedupe_key(push: Push) -> str:
    """Sender and created_at (the wiki's advice; seconds only), and a digest of the content."""
    content = json.dumps([push.kind, push.text, push.data], sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
    return f"{pseudonym(push.sender)}:{push.created_at}:{digest}"


def text_data(text: str) -> str:
    """A text reply's `data`: the JSON {"text": …}, URL-encoded as UTF-8."""
    return quote(json.dumps({"text": text}, ensure_ascii=False), safe="")


def passive_reply(push: Push, text: str) -> dict[str, Any]:
    """The reply body to a push: from the account (its receiver) to the citizen (its sender)."""
    return {
        "result": True,
        "receiver_id": push.sender_id,
        "sender_id": push.receiver_id,
        "type": "text",
        "data": text_data(text),
    }


def messages_of(texts: Sequence[str], limit: int = MAX_TEXT_CHARS) -> list[str]:
    """The texts as Weibo messages of at most `limit` characters, a long one cut at line ends."""
    messages: list[str] = []
    for text in texts:
        current = ""
        for line in text.split("\n"):
            while len(line) > limit:
                messages.append(current)
                current, line = line[:limit], line[limit:]
            joined = f"{current}\n{line}" if current else line
            if len(joined) > limit:
                messages.append(current)
                joined = line
            current = joined
        messages.append(current)
    return [message.strip() for message in messages if message.strip()]


def join_within(texts: Sequence[str], limit: int = MAX_TEXT_CHARS) -> str | None:
    """The texts as one message (a blank line between), or None when it is too long."""
    joined = "\n\n".join(texts)
    return joined if len(joined) <= limit else None


class WeiboApi:
    """reply.json: texts to a citizen who wrote to the account in the last 48 hours."""

    def __init__(self, api_base: str, access_token: str, timeout: float = 5.0) -> None:
        self.url = api_base.rstrip("/") + "/2/messages/reply.json"
        self.access_token = access_token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send_texts(self, receiver: str, texts: Sequence[str]) -> int:
        """Sends the texts in order; stops at the first that fails. How many went out.

        Never retried: a timed-out send may have arrived, and a refusal (quota, token,
        the citizen unfollowed) stays a refusal."""
        for sent, text in enumerate(texts):
            if not await self._send_text(receiver, text):
                return sent
        return len(texts)

    async def _send_text(self, receiver: str, text: str) -> bool:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        # Form-encoding the JSON is the one URL-encoding the wiki asks of `data`.
        form = {
            "receiver_id": receiver,
            "type": "text",
            "data": json.dumps({"text": text}, ensure_ascii=False),
            "save_sender_box": "1",  # the account's staff see the answer in its Weibo inbox
        }
        try:
            async with self._session.post(self.url, params={"access_token": self.access_token}, data=form) as answer:
                status = answer.status
                payload = await answer.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.warning("Weibo reply.json to %s failed: %s", pseudonym(receiver), type(error).__name__)
            return False
        code = payload.get("error_code") if isinstance(payload, dict) else None
        if status == 200 and isinstance(payload, dict) and code is None:
            return True
        logger.error("Weibo reply.json to %s refused (HTTP %s, error_code %s)", pseudonym(receiver), status, code)
        return False


class WeiboOutput(OutputChannel):
    """Messages Rasa sends on its own (notifications): through reply.json."""

    def __init__(self, api: WeiboApi, choices: ChoiceMemory) -> None:
        self.api = api
        self.choices = choices

    @classmethod
    def name(cls) -> str:
        return "weibo"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        rendered = render_answers([message])
        await self.choices.remember(recipient_id, rendered.choices)
        await self.api.send_texts(recipient_id, messages_of(rendered.texts))


class WeiboInput(InputChannel):
    """Weibo's message push for one fan-service account."""

    @classmethod
    def name(cls) -> str:
        return "weibo"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(WeiboSettings.read(credentials, os.environ))

    def __init__(
        self,
        settings: WeiboSettings,
        clock: Callable[[], float] = time.time,
        store: KeyValueStore | None = None,
        limiter: SenderRateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        if not settings.app_secret:
            logger.info("Weibo channel off: WEIBO_APP_SECRET is not set")
        elif not settings.access_token:
            logger.warning("WEIBO_ACCESS_TOKEN is not set: answers that do not fit a passive reply are cut")
        store = store or store_from_url(settings.redis_url)
        self.dedupe = Deduplicator(store, KEY_PREFIX + "seen:", ttl=2 * MAX_CLOCK_SKEW)
        self.choices = ChoiceMemory(store, KEY_PREFIX + "choices:")
        self.api = WeiboApi(settings.api_base, settings.access_token) if settings.access_token else None
        self.limiter = limiter or SenderRateLimiter.configured(os.environ, settings.redis_url)
        self.window = ReplyWindow(
            "Weibo",
            self.name(),
            settings.reply_window,
            self.dedupe,
            self.choices,
            self._pack,
            self.api.send_texts if self.api is not None else None,
            self.limiter,
        )

    def get_output_channel(self) -> OutputChannel | None:
        return WeiboOutput(self.api, self.choices) if self.settings.app_secret and self.api else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"zhengwu_{self.name()}_webhook", __name__)
        content_length.install(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"}) if self.settings.app_secret else _error(404, "Weibo is off.")

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.settings.app_secret:
                return _error(404, "Weibo is not configured.")
            if not self._signed(request):
                return _error(403, "Wrong signature or stale timestamp.")
            return response.text(request.args.get("echostr", ""))

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.settings.app_secret:
                return _error(404, "Weibo is not configured.")
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "The body is too large.")
            if not self._signed(request):
                return _error(403, "Wrong signature or stale timestamp.")
            try:
                push = parse_push(request.body or b"")
            except MalformedPush:
                return _error(400, "The body is not a Weibo push.")
            try:
                said = assistant_input(push)
            except Unsupported as refusal:
                return response.json(passive_reply(push, refusal.reply))
            reply = await self.window.answer(dedupe_key(push), push.sender, *said, on_new_message) if said else None
            return response.json(passive_reply(push, reply)) if reply else response.text("")

        @webhook.listener("after_server_stop")
        async def close(app: Any, loop: Any) -> None:
            if self.api is not None:
                await self.api.close()

        return webhook

    def _signed(self, request: Request) -> bool:
        timestamp, nonce = request.args.get("timestamp", ""), request.args.get("nonce", "")
        sent = timestamp_seconds(timestamp)
        if sent is None or abs(self.clock() - sent) > MAX_CLOCK_SKEW:
            return False
        return signature_matches(request.args.get("signature"), self.settings.app_secret, timestamp, nonce)

    def _pack(self, texts: list[str]) -> tuple[str | None, list[str]]:
        """One passive reply when the answers fit one Weibo message; otherwise all through
        reply.json — or, with no access token to send them, the first message at least."""
        messages = messages_of(texts or [NO_ANSWER])
        passive = join_within(messages)
        if passive is None and self.api is None:
            passive = messages[0]
        return passive, messages


def _error(status: int, message: str) -> HTTPResponse:
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 413: "too_large"}
    return response.json({"error": {"code": codes.get(status, "error"), "message": message}}, status=status)
