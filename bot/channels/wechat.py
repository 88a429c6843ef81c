"""The WeChat Official Account channel (CONTRACT.md §4) at /webhooks/wechat/webhook.

WeChat pushes each message a citizen sends to the account (XML, or JSON if the account
chose it; plain or safe mode) and waits 5 seconds for a passive reply, retrying the
same message twice more when none comes. Here:

- GET verifies the URL: `signature` over [token, timestamp, nonce] → the `echostr`.
- POST checks `signature` (plain mode) or `msg_signature` and the AppID (safe mode,
  `encrypt_type=aes`; the previous EncodingAESKey is tried when the current one fails),
  refuses timestamps more than 5 minutes off (403), bodies over 64 KB (413), and bodies
  that are not a message, DOCTYPEs included (400).
- What the assistant gets: a text as it is, or the payload of the numbered choice it
  picks ("2" after a list); a picture as its link, with `metadata.photo_urls` (a report
  form takes it as the photo); a location as "[位置] label" with `metadata.latitude`,
  `longitude`, `label`; a voice message with WeChat's speech recognition as its text;
  following the account as "/greet" (the welcome with the main menu); a menu CLICK as
  its EventKey, "/"-prefixed when the key is an intent name (`report_problem`). Other
  events get `success`; other kinds a polite "not supported" reply.
- Answering: when the assistant answers within `reply_window` seconds (4.5 by default)
  all its answers go back as one passive text reply (a blank line between them,
  encrypted in safe mode); otherwise, or when they do not fit the 2048 bytes of one
  reply, the channel answers `success` and sends each answer through the
  customer-service API in order (bot/channels/outgoing.py renders them and keeps the
  access token). Notifications Rasa sends later (`output_channel=latest`) take the API too.
- A retry of a message (same MsgId; for events the same sender and CreateTime) never
  reaches the assistant again: while the first is running it waits like the first,
  then gets the same passive reply or `success`. Message ids are remembered for twice the
  clock skew allowed, so a push replayed while its timestamp still passes is still a retry.
- A sender over the rate limit (ZW_RATE_LIMIT_PER_MINUTE, bot/channels/ratelimit.py) gets
  the polite "too fast" reply and the message does not reach the assistant.

Configuration: the keys of credentials.yml (token, appid, secret, aes_key,
aes_key_previous, api_base, reply_window_seconds) where given, else the environment
(WECHAT_TOKEN, WECHAT_APPID, WECHAT_APPSECRET, WECHAT_AES_KEY, WECHAT_AES_KEY_PREVIOUS,
WECHAT_API_BASE, WECHAT_REPLY_WINDOW_SECONDS; REDIS_URL for shared state). Without a
token the channel is off and its routes answer 404. Logs carry hashed openids, MsgIds
and timings, never what was said.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import content_length
from bot.channels import wechat_crypto as protocol
from bot.channels.outgoing import (
    AccessTokenCache,
    ChoiceMemory,
    Deduplicator,
    KeyValueStore,
    ReplyWindow,
    TokenUnavailable,
    coordinates,
    join_fitting,
    pseudonym,
    render_answers,
    split_to_fit,
    store_from_url,
)
from bot.channels.ratelimit import SenderRateLimiter
from bot.channels.rest import NO_ANSWER, valid_sender

logger = logging.getLogger(__name__)
WECHAT_API = "https://api.weixin.qq.com"
MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW = 300
TEXT_LIMIT_BYTES = 2048  # of one text message, passive or through the API
DEFAULT_REPLY_WINDOW = 4.5
TOKEN_ERRORS = {40001, 40014, 42001}
WINDOW_CLOSED_ERRORS = {45015, 45047}
UNSUPPORTED = (
    "暂不支持这种消息，请发送文字、图片或位置。Sorry, this kind of message isn't supported yet; "
    "please send text, a picture or a location."
)
KEY_PREFIX = "zhengwu:wechat:"
_INTENT_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class WeChatSettings:
    token: str = ""
    app_id: str = ""
    app_secret: str = ""
    aes_keys: tuple[str, ...] = ()
    api_base: str = WECHAT_API
    reply_window: float = DEFAULT_REPLY_WINDOW
    redis_url: str | None = None

    @classmethod
    def read(cls, credentials: Mapping[str, Any] | None, env: Mapping[str, str]) -> WeChatSettings:
        """credentials.yml's keys where given, else the environment's WECHAT_* variables."""

        def value(key: str, variable: str) -> str:
            given = (credentials or {}).get(key)
            return str(given).strip() if given not in (None, "") else env.get(variable, "").strip()

        keys = (value("aes_key", "WECHAT_AES_KEY"), value("aes_key_previous", "WECHAT_AES_KEY_PREVIOUS"))
        try:
            window = float(value("reply_window_seconds", "WECHAT_REPLY_WINDOW_SECONDS") or DEFAULT_REPLY_WINDOW)
        except ValueError:
            logger.error("WECHAT_REPLY_WINDOW_SECONDS is not a number: %s s it is", DEFAULT_REPLY_WINDOW)
            window = DEFAULT_REPLY_WINDOW
        return cls(
            token=value("token", "WECHAT_TOKEN"),
            app_id=value("appid", "WECHAT_APPID"),
            app_secret=value("secret", "WECHAT_APPSECRET"),
            aes_keys=tuple(key for key in keys if key),
            api_base=value("api_base", "WECHAT_API_BASE") or WECHAT_API,
            reply_window=window,
            redis_url=env.get("REDIS_URL") or None,
        )


class Unsupported(Exception):
    """A kind of message the assistant cannot take (video, file, link, voice unrecognised)."""


def assistant_input(fields: Mapping[str, str]) -> tuple[str, dict[str, Any]] | None:
    """The text and metadata the assistant gets for a push; None when it need not see it."""
    metadata: dict[str, Any] = {"channel": "wechat"}
    kind = fields.get("MsgType", "").lower()
    if kind == "text":
        return fields.get("Content", ""), metadata
    if kind == "image" and fields.get("PicUrl"):
        # The link itself is the text: no language (actions/language.py), and a report form reads it.
        return fields["PicUrl"], {**metadata, "photo_urls": [fields["PicUrl"]]}
    if kind == "location":
        label = fields.get("Label", "")
        place = coordinates(fields.get("Location_X"), fields.get("Location_Y"))
        return f"[位置] {label}".strip(), {**metadata, **place, "label": label}
    if kind == "voice" and fields.get("Recognition"):
        return fields["Recognition"], metadata
    if kind == "event":
        event = fields.get("Event", "").lower()
        key = fields.get("EventKey", "").strip()
        if event == "subscribe":
            return "/greet", metadata
        if event == "click" and key:
            return ("/" + key if _INTENT_KEY.match(key) else key), metadata
        return None
    raise Unsupported(kind)


def dedupe_key(fields: Mapping[str, str]) -> str:
    """MsgId; for events (which have none) the sender and the time."""
    if fields.get("MsgId"):
        return "msg:" + fields["MsgId"]
    sender = pseudonym(fields.get("FromUserName", ""))
    return f"event:{sender}:{fields.get('CreateTime', '')}:{fields.get('Event', '')}"


class WeChatApi:
    """The calls the channel makes to WeChat: a stable access token, customer-service texts."""

    def __init__(self, settings: WeChatSettings, store: KeyValueStore, timeout: float = 5.0) -> None:
        self.base = settings.api_base.rstrip("/")
        self.app_id = settings.app_id
        self.secret = settings.app_secret
        self.tokens = AccessTokenCache(store, f"{KEY_PREFIX}token:{settings.app_id}", self._fetch_token)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def _post(self, path: str, body: dict[str, Any], params: dict[str, str] | None = None) -> dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")  # WeChat shows \u escapes as they are
        headers = {"Content-Type": "application/json; charset=utf-8"}
        async with self._session.post(self.base + path, params=params, data=data, headers=headers) as answer:
            payload = await answer.json(content_type=None)
        return payload if isinstance(payload, dict) else {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _fetch_token(self) -> tuple[str, float]:
        body = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        for attempt in (1, 2):  # safe to repeat: the stable token stays the same
            try:
                answer = await self._post("/cgi-bin/stable_token", body)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                if attempt == 2:
                    raise TokenUnavailable("stable_token unreachable") from error
                continue
            if answer.get("access_token"):
                return str(answer["access_token"]), float(answer.get("expires_in") or 7200)
            raise TokenUnavailable(f"stable_token errcode {answer.get('errcode')}")
        raise TokenUnavailable("stable_token")

    async def send_texts(self, openid: str, texts: list[str]) -> int:
        """Sends the texts in order, each in as many messages as it needs; stops at the first
        that fails. How many messages went out."""
        messages = [piece for text in texts for piece in split_to_fit(text, TEXT_LIMIT_BYTES)]
        for sent, text in enumerate(messages):
            try:
                delivered = await self._send_text(openid, text)
            except (aiohttp.ClientError, asyncio.TimeoutError, TokenUnavailable) as error:
                logger.warning("WeChat custom/send to %s failed: %s", pseudonym(openid), type(error).__name__)
                delivered = False
            if not delivered:
                return sent
        return len(messages)

    async def _send_text(self, openid: str, text: str) -> bool:
        token = await self.tokens.get()
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        for attempt in (1, 2):
            answer = await self._post("/cgi-bin/message/custom/send", body, {"access_token": token})
            code = int(answer.get("errcode") or 0)
            if code == 0:
                return True
            if code in TOKEN_ERRORS and attempt == 1:
                logger.info("WeChat refused the access token (errcode %s): renewing it once", code)
                token = await self.tokens.renew(token)
                continue
            if code in WINDOW_CLOSED_ERRORS:
                logger.warning("WeChat custom/send to %s not allowed (errcode %s)", pseudonym(openid), code)
            else:
                logger.error("WeChat custom/send to %s failed (errcode %s)", pseudonym(openid), code)
            return False
        return False


class WeChatOutput(OutputChannel):
    """Messages Rasa sends on its own (notifications): each through the customer-service API."""

    def __init__(self, api: WeChatApi, choices: ChoiceMemory) -> None:
        self.api = api
        self.choices = choices

    @classmethod
    def name(cls) -> str:
        return "wechat"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        rendered = render_answers([message])
        await self.choices.remember(recipient_id, rendered.choices)
        await self.api.send_texts(recipient_id, rendered.texts)


class WeChatInput(InputChannel):
    """WeChat's message push for one Official Account."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(WeChatSettings.read(credentials, os.environ))

    def __init__(
        self,
        settings: WeChatSettings,
        clock: Callable[[], float] = time.time,
        random: Callable[[int], bytes] = os.urandom,
        store: KeyValueStore | None = None,
        limiter: SenderRateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.crypto: protocol.MessageCrypto | None = None
        if not settings.token:
            logger.info("WeChat channel off: WECHAT_TOKEN is not set")
        elif settings.aes_keys:
            try:
                self.crypto = protocol.MessageCrypto(settings.token, settings.aes_keys, settings.app_id, random)
            except ValueError:
                logger.error("WECHAT_AES_KEY is not a valid EncodingAESKey: safe-mode messages are refused")
        store = store or store_from_url(settings.redis_url)
        self.dedupe = Deduplicator(store, KEY_PREFIX + "seen:", ttl=2 * MAX_CLOCK_SKEW)
        self.choices = ChoiceMemory(store, KEY_PREFIX + "choices:")
        self.api = WeChatApi(settings, store) if settings.app_id and settings.app_secret else None
        self.limiter = limiter or SenderRateLimiter.configured(os.environ, settings.redis_url)
        self.window = ReplyWindow(
            "WeChat",
            self.name(),
            settings.reply_window,
            self.dedupe,
            self.choices,
            _pack,
            self.api.send_texts if self.api is not None else None,
            self.limiter,
        )

    def get_output_channel(self) -> OutputChannel | None:
        return WeChatOutput(self.api, self.choices) if self.settings.token and self.api else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"zhengwu_{self.name()}_webhook", __name__)
        content_length.install(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"}) if self.settings.token else _error(404, "WeChat is not configured.")

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.settings.token:
                return _error(404, "WeChat is not configured.")
            if not self._fresh(request.args.get("timestamp")) or not protocol.signature_matches(
                request.args.get("signature"),
                self.settings.token,
                request.args.get("timestamp", ""),
                request.args.get("nonce", ""),
            ):
                return _error(403, "Wrong signature.")
            return response.text(request.args.get("echostr", ""))

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.settings.token:
                return _error(404, "WeChat is not configured.")
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "The body is too large.")
            return await self._receive(request, on_new_message)

        @webhook.listener("after_server_stop")
        async def close(app: Any, loop: Any) -> None:
            if self.api is not None:
                await self.api.close()

        return webhook

    def _fresh(self, timestamp: str | None) -> bool:
        try:
            return abs(self.clock() - int(timestamp or "")) <= MAX_CLOCK_SKEW
        except ValueError:
            return False

    async def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        safe = args.get("encrypt_type", "").lower() == "aes"
        if not self._fresh(timestamp):
            return _error(403, "Stale or missing timestamp.")
        if not safe and not protocol.signature_matches(args.get("signature"), self.settings.token, timestamp, nonce):
            return _error(403, "Wrong signature.")
        as_json = protocol.is_json(request.body)
        try:
            fields = protocol.parse_body(request.body)
            if safe:
                if self.crypto is None:
                    logger.error("A safe-mode WeChat message arrived but no valid WECHAT_AES_KEY is set")
                    return _error(403, "Safe mode is not configured.")
                if not fields.get("Encrypt"):
                    return _error(400, "Safe mode without Encrypt.")
                inner = self.crypto.open(fields["Encrypt"], timestamp, nonce, args.get("msg_signature"))
                fields = protocol.parse_body(inner.encode("utf-8"))
        except (protocol.SignatureError, protocol.DecryptionError):
            return _error(403, "Wrong msg_signature, key or AppID.")
        except protocol.MalformedBody:
            return _error(400, "The body is not a WeChat message.")
        if not valid_sender(fields.get("FromUserName")) or not fields.get("MsgType"):
            return _error(400, "The message has no valid FromUserName or no MsgType.")
        try:
            said = assistant_input(fields)
        except Unsupported:
            reply: str | None = UNSUPPORTED
        else:
            reply = (
                await self.window.answer(dedupe_key(fields), fields["FromUserName"], *said, on_new_message)
                if said
                else None
            )
        if reply is None:
            return response.text("success")
        body = protocol.text_reply(
            fields["FromUserName"], fields.get("ToUserName", ""), int(self.clock()), reply, as_json
        )
        if safe and self.crypto is not None:
            body = protocol.sealed_reply(self.crypto.seal_reply(body, str(int(self.clock())), nonce), as_json)
        return response.text(body, content_type="application/json" if as_json else "application/xml")


def _pack(texts: list[str]) -> tuple[str | None, list[str]]:
    """One passive reply when the answers fit one WeChat text; otherwise all go through the API."""
    texts = texts or [NO_ANSWER]
    return join_fitting(texts, TEXT_LIMIT_BYTES), texts


def _error(status: int, message: str) -> HTTPResponse:
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 413: "too_large"}
    return response.json({"error": {"code": codes.get(status, "error"), "message": message}}, status=status)
