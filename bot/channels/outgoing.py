"""What the text-only channels (WeChat, Weibo) share: the assistant's answers as plain
text, numbered choices instead of buttons, de-duplication of retried pushes and a cached
access token, with their state in Redis when REDIS_URL is set (shared by every process)
and in memory otherwise.

- `AnswerCollector` collects a turn's answers whole (Rasa's collector splits a text at
  blank lines and separates a custom payload from its text).
- `render_answers` turns them into texts: each answer's text (custom payloads always
  come with a text that says the same, CONTRACT.md §2), image and attachment links, and
  buttons as numbered lines. Numbering runs on across the answers of one turn; a text
  that already lists its buttons as "1. title" lines (the assistant does so for
  candidates and form choices) keeps its lines, renumbered if need be, instead of a
  second list. `Rendered.choices` are the buttons' payloads in number order.
- `join_fitting` makes one reply of a turn's texts when it fits a channel's limit;
  `split_to_fit` cuts a text too long for one message between lines.
- `coordinates` reads a pushed location: numbers on the globe, or nothing.
- `ChoiceMemory` keeps each citizen's latest choices, so that a reply "2" is sent to the
  assistant as the second button's payload.
- `Deduplicator` says whether a message id is seen for the first time (SET NX with expiry).
- `ReplyWindow` answers a message passively within the platform's window, or at once
  with an empty body and later through the platform's API; retries wait for that answer.
  A sender over the rate limit (bot/channels/ratelimit.py) is answered the limiter's
  refusal instead, and the message never reaches the assistant.
- `AccessTokenCache` holds one token for all processes: a process that finds none takes a
  short lock (SET NX) and fetches it; the others wait for it. `renew` drops a token the
  platform refused, unless another process has already replaced it.

Logs never carry what a citizen wrote; `pseudonym` stands in for an account id in them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

if TYPE_CHECKING:
    from bot.channels.ratelimit import SenderRateLimiter

logger = logging.getLogger(__name__)
CHOICES_HEADER = {"zh": "回复序号：", "en": "Reply with a number:"}
CHOICES_TTL = 3600.0
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_NUMBER_REPLY = re.compile(r"^\s*(\d{1,2})\s*[.。、)）]?\s*$")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def pseudonym(account_id: str) -> str:
    """A stable stand-in for an account id (openid, uid) in logs."""
    return hashlib.sha256(account_id.encode("utf-8")).hexdigest()[:12]


class AnswerCollector(CollectingOutputChannel):
    """Collects each answer of a turn as one message: text, buttons, custom payload, image."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        kept = {key: message.get(key) for key in ("text", "buttons", "quick_replies", "image", "attachment", "custom")}
        await self._persist_message({"recipient_id": recipient_id, **{k: v for k, v in kept.items() if v}})


@dataclass(frozen=True)
class Rendered:
    texts: list[str]
    choices: list[str] = field(default_factory=list)


def render_answers(messages: Sequence[dict[str, Any]]) -> Rendered:
    """The answers of one turn as texts, their buttons as numbered choices."""
    texts: list[str] = []
    choices: list[str] = []
    for message in messages:
        parts = [message.get("text"), message.get("image"), message.get("attachment")]
        text = "\n".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
        buttons = [
            button
            for button in (message.get("buttons") or message.get("quick_replies") or [])
            if isinstance(button, dict) and button.get("title") and button.get("payload")
        ]
        if buttons:
            text = _with_choices(text, [str(button["title"]) for button in buttons], offset=len(choices))
            choices += [str(button["payload"]) for button in buttons]
        if text:
            texts.append(text)
    return Rendered(texts, choices)


def _with_choices(text: str, titles: list[str], offset: int) -> str:
    lines = text.split("\n")
    found: list[int] = []
    for number, title in enumerate(titles, start=1):
        wanted = f"{number}. {title}"
        start = found[-1] + 1 if found else 0
        where = next((index for index in range(start, len(lines)) if lines[index].strip() == wanted), None)
        if where is None:
            break
        found.append(where)
    if len(found) == len(titles):
        for number, (index, title) in enumerate(zip(found, titles, strict=True), start=1 + offset):
            lines[index] = f"{number}. {title}"
        return "\n".join(lines)
    listed = [f"{number}. {title}" for number, title in enumerate(titles, start=1 + offset)]
    return "\n".join(part for part in (text, CHOICES_HEADER[language_of(text)], *listed) if part)


def language_of(text: str) -> str:
    """zh or en, by Chinese characters against Latin words (zh when neither)."""
    return "en" if len(_LATIN_WORD.findall(text)) > len(_CJK.findall(text)) else "zh"


def chosen(text: str, choices: Sequence[str]) -> str | None:
    """The payload a reply like "2" (or "２", "2.") picks, if it picks one."""
    match = _NUMBER_REPLY.match(text.translate(_FULL_WIDTH_DIGITS))
    if not match:
        return None
    number = int(match.group(1))
    return choices[number - 1] if 1 <= number <= len(choices) else None


def join_fitting(texts: Sequence[str], limit_bytes: int) -> str | None:
    """The texts as one message (a blank line between), or None when it exceeds the limit."""
    joined = "\n\n".join(texts)
    return joined if _fits(joined, limit_bytes) else None


def split_to_fit(text: str, limit_bytes: int) -> list[str]:
    """`text` in pieces of at most `limit_bytes` (UTF-8), cut between lines where it can be."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        joined = f"{current}\n{line}" if current else line
        if _fits(joined, limit_bytes):
            current = joined
            continue
        if current:
            pieces.append(current)
        while not _fits(line, limit_bytes):
            cut = len(line.encode("utf-8")[:limit_bytes].decode("utf-8", errors="ignore"))
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    return [*pieces, current] if current else pieces


def _fits(text: str, limit_bytes: int) -> bool:
    return len(text.encode("utf-8")) <= limit_bytes


def coordinates(latitude: object, longitude: object) -> dict[str, float]:
    """`{"latitude", "longitude"}` of a pushed location when both are numbers (or numeric
    strings) on the globe; otherwise nothing, and the location goes on as its label alone."""
    if isinstance(latitude, bool) or isinstance(longitude, bool):
        return {}
    try:
        place = {"latitude": float(latitude), "longitude": float(longitude)}  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer past any float
        return {}
    if abs(place["latitude"]) <= 90 and abs(place["longitude"]) <= 180:  # NaN is neither
        return place
    return {}


class KeyValueStore(Protocol):
    """Strings with expiry: Redis, or this process's memory."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float) -> None: ...

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool: ...

    async def delete_if_equal(self, key: str, value: str) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryStore:
    """A KeyValueStore for one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float]] = {}
        self._purge_above = 1024

    async def get(self, key: str) -> str | None:
        entry = self._data.get(key)
        if entry is None or entry[1] <= self._clock():
            self._data.pop(key, None)
            return None
        return entry[0]

    async def set(self, key: str, value: str, ttl: float) -> None:
        if len(self._data) > self._purge_above:
            now = self._clock()
            self._data = {k: entry for k, entry in self._data.items() if entry[1] > now}
            self._purge_above = max(1024, 2 * len(self._data))
        self._data[key] = (value, self._clock() + ttl)

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        if await self.get(key) is not None:
            return False
        await self.set(key, value, ttl)
        return True

    async def delete_if_equal(self, key: str, value: str) -> None:
        if await self.get(key) == value:
            self._data.pop(key, None)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)


_DELETE_IF_EQUAL = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisStore:
    """A KeyValueStore shared by every process that uses the same Redis."""

    def __init__(self, url: str) -> None:
        from redis import asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self._redis.set(key, value, px=max(1, int(ttl * 1000)))

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool(await self._redis.set(key, value, px=max(1, int(ttl * 1000)), nx=True))

    async def delete_if_equal(self, key: str, value: str) -> None:
        await self._redis.eval(_DELETE_IF_EQUAL, 1, key, value)

    async def delete(self, key: str) -> None:
        await self._redis.delete(key)


def store_from_url(redis_url: str | None) -> KeyValueStore:
    return RedisStore(redis_url) if redis_url else MemoryStore()


class Deduplicator:
    """Remembers message ids for `ttl` seconds; WeChat retries within about 15."""

    def __init__(self, store: KeyValueStore, prefix: str, ttl: float = 300.0) -> None:
        self.store = store
        self.prefix = prefix
        self.ttl = ttl

    async def first_time(self, message_id: str) -> bool:
        return await self.store.set_if_absent(f"{self.prefix}{message_id}", "1", self.ttl)


class ChoiceMemory:
    """Each citizen's latest numbered choices (payloads), for `ttl` seconds."""

    SEPARATOR = "\x1f"

    def __init__(self, store: KeyValueStore, prefix: str, ttl: float = CHOICES_TTL) -> None:
        self.store = store
        self.prefix = prefix
        self.ttl = ttl

    def _key(self, sender: str) -> str:
        return self.prefix + pseudonym(sender)

    async def remember(self, sender: str, choices: Sequence[str]) -> None:
        """The choices of the latest answers; answers without buttons forget the earlier ones."""
        if choices:
            await self.store.set(self._key(sender), self.SEPARATOR.join(choices), self.ttl)
        else:
            await self.store.delete(self._key(sender))

    async def resolve(self, sender: str, text: str) -> str:
        """`text`, or the payload it picks among the latest choices."""
        if not _NUMBER_REPLY.match(text.translate(_FULL_WIDTH_DIGITS)):
            return text
        stored = await self.store.get(self._key(sender))
        return (chosen(text, stored.split(self.SEPARATOR)) if stored else None) or text


class TokenUnavailable(Exception):
    """No access token: the platform refused, or another process took too long to fetch one."""


class AccessTokenCache:
    """One access token shared by every process using the same store.

    `fetch` asks the platform for a token and returns it with its lifetime in seconds;
    it is kept until `margin` seconds before it expires.
    """

    def __init__(
        self,
        store: KeyValueStore,
        key: str,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        margin: float = 300.0,
        lock_ttl: float = 15.0,
        wait: float = 10.0,
    ) -> None:
        self.store = store
        self.key = key
        self.fetch = fetch
        self.margin = margin
        self.lock_ttl = lock_ttl
        self.wait = wait
        self._local = asyncio.Lock()

    async def get(self) -> str:
        token = await self.store.get(self.key)
        if token:
            return token
        async with self._local:  # one fetch per process at a time
            return await self.store.get(self.key) or await self._fetch_once_for_all()

    async def renew(self, refused: str) -> str:
        """A fresh token after the platform said `refused` is invalid or expired."""
        await self.store.delete_if_equal(self.key, refused)
        return await self.get()

    async def _fetch_once_for_all(self) -> str:
        lock, owner = self.key + ":lock", uuid.uuid4().hex
        deadline = time.monotonic() + self.wait
        while True:
            if await self.store.set_if_absent(lock, owner, self.lock_ttl):
                try:
                    # Checked again under the lock: whoever held it before stored the token first.
                    token = await self.store.get(self.key)
                    if token:
                        return token
                    token, lifetime = await self.fetch()
                    keep = lifetime - self.margin if lifetime > 2 * self.margin else lifetime / 2
                    await self.store.set(self.key, token, max(1.0, keep))
                    return token
                finally:
                    await self.store.delete_if_equal(lock, owner)
            await asyncio.sleep(0.05)  # another process is fetching it
            token = await self.store.get(self.key)
            if token:
                return token
            if time.monotonic() > deadline:
                raise TokenUnavailable("another process did not fetch the token in time")


RETRY_MEMORY = 60.0
"""How long a message's answer is kept for the platform's retries of it."""


class Turn:
    """One message being answered: how its answers go out, once it is decided."""

    def __init__(self) -> None:
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.delivery = "undecided"  # then "passive" or "api"
        self.passive: str | None = None


Packer = Callable[[list[str]], tuple[str | None, list[str]]]
"""A turn's texts → the passive reply (None: it does not fit) and the messages for the API."""
Sender = Callable[[str, list[str]], Awaitable[int]]
"""Sends texts to a citizen through the platform's API; returns how many went out."""


class ReplyWindow:
    """The platforms' answering rule, for WeChat and Weibo alike: a message answered within
    the window gets the passive reply; otherwise the push is answered at once (empty,
    `success`) and the answers go out through the platform's API when they are ready.
    Retries of a message being answered wait for the same answer; a retry of one answered
    by another process (the de-duplication store says so) gets nothing."""

    def __init__(
        self,
        label: str,
        input_channel: str,
        window: float,
        dedupe: Deduplicator,
        choices: ChoiceMemory,
        pack: Packer,
        send_later: Sender | None,
        limiter: SenderRateLimiter | None = None,
    ) -> None:
        self.label = label
        self.input_channel = input_channel
        self.window = window
        self.dedupe = dedupe
        self.choices = choices
        self.pack = pack
        self.send_later = send_later
        self.limiter = limiter
        self._turns: dict[str, Turn] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def answer(
        self,
        key: str,
        sender: str,
        text: str,
        metadata: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> str | None:
        """The passive reply to a message, or None when its answers take the API."""
        turn = self._turns.get(key)
        if turn is not None:
            logger.info("%s retry of %s while it is being answered", self.label, key)
        else:
            turn = self._turns[key] = Turn()
            if not await self._first_time(key):
                logger.info("%s retry of %s, answered elsewhere", self.label, key)
                asyncio.get_running_loop().call_later(RETRY_MEMORY, self._turns.pop, key, None)
                turn.delivery = "api"
                turn.ready.set_result(None)
                return None
            if self.limiter is not None and not await self.limiter.admit(self.input_channel, sender):
                turn.passive = self.limiter.refusal  # its retries get the same answer
                turn.ready.set_result(None)
                asyncio.get_running_loop().call_later(RETRY_MEMORY, self._turns.pop, key, None)
            else:
                task = asyncio.create_task(self._run(key, turn, sender, text, metadata, on_new_message))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        try:
            await asyncio.wait({turn.ready}, timeout=self.window)
        finally:  # on time, late, or the platform hung up (the handler is cancelled): decided now
            if not turn.ready.done():
                turn.delivery = "api"
        if turn.delivery != "api" and turn.passive is not None:
            turn.delivery = "passive"
            return turn.passive
        return None

    async def _first_time(self, key: str) -> bool:
        try:
            return await self.dedupe.first_time(key)
        except Exception:  # the store is down: better a rare double answer than none
            logger.exception("%s de-duplication store unavailable", self.label)
            return True

    async def _run(
        self,
        key: str,
        turn: Turn,
        sender: str,
        text: str,
        metadata: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        started = time.monotonic()
        collector = AnswerCollector()
        try:
            text = await self.choices.resolve(sender, text)
        except Exception:
            logger.exception("%s choices store unavailable", self.label)
        try:
            message = UserMessage(text, collector, sender, input_channel=self.input_channel, metadata=metadata)
            await on_new_message(message)
        except Exception:
            logger.exception("A %s message (%s) could not be handled", self.label, key)
        rendered = render_answers(collector.messages)
        try:
            await self.choices.remember(sender, rendered.choices)
        except Exception:
            logger.exception("%s choices store unavailable", self.label)
        turn.passive, texts = self.pack(rendered.texts)
        if turn.passive is None or time.monotonic() - started > self.window:
            # Too long for a passive reply, or past the window: a turn that kept the event
            # loop busy can finish before the waiting push is woken to notice the time.
            turn.delivery = "api"
        turn.ready.set_result(None)
        asyncio.get_running_loop().call_later(RETRY_MEMORY, self._turns.pop, key, None)
        answered = time.monotonic() - started
        if turn.delivery != "api":
            logger.info("%s %s from %s answered in %.2fs", self.label, key, pseudonym(sender), answered)
            return
        if self.send_later is None:
            logger.error("%s %s answered after the window, but no API access is configured", self.label, key)
            return
        sent = await self.send_later(sender, texts)
        logger.info(
            "%s %s from %s answered in %.2fs, %d/%d sent through the API",
            self.label,
            key,
            pseudonym(sender),
            answered,
            sent,
            len(texts),
        )
