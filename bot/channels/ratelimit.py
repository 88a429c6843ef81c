"""How many messages one sender may send: the same limit on the REST, WeChat and Weibo channels.

A sender may send `limit` messages in any `window` seconds (ZW_RATE_LIMIT_PER_MINUTE, 20 a
minute by default, for WeChat and Weibo; ZW_REST_RATE_LIMIT_PER_MINUTE for REST, off by
default; 0 turns a limit off). A message over the limit never reaches the
assistant: the channel answers it with `TOO_FAST` alone, and other senders are not
affected. Only admitted messages count, so a sender who keeps writing still gets
`limit` answers a minute.

The window slides: the times of a sender's admitted messages are kept for `window`
seconds, in a Redis sorted set when REDIS_URL is set (one count for every Rasa process,
checked and added to in one script) and in this process's memory otherwise. When Redis
cannot be reached, messages are admitted: better an unlimited minute than a silent one.
Keys carry a hash of the sender, never the account id itself.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol

from bot.channels.outgoing import pseudonym

logger = logging.getLogger(__name__)
TOO_FAST = "您发送得太快了，请稍后再试。You are sending messages too quickly; please wait a moment."
DEFAULT_PER_MINUTE = 20
WINDOW_SECONDS = 60.0
KEY_PREFIX = "zhengwu:ratelimit:"
VARIABLE = "ZW_RATE_LIMIT_PER_MINUTE"
REST_VARIABLE = "ZW_REST_RATE_LIMIT_PER_MINUTE"
"""The REST channel's own limit, off by default: its callers are the portal's server and
integrators, who choose the sender ids themselves (a per-sender limit cannot hold them) and
may hold many conversations at once; rate-limit them at the gateway, by client."""


class Windows(Protocol):
    """The times of each key's admitted messages within a sliding window."""

    async def admit(self, key: str, limit: int, window: float, now: float) -> bool:
        """Notes a message at `now` and says yes when fewer than `limit` were admitted in the
        `window` seconds before it; says no, noting nothing, otherwise."""
        ...


class MemoryWindows:
    """Windows for one process."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}
        self._purge_above = 1024

    async def admit(self, key: str, limit: int, window: float, now: float) -> bool:
        if len(self._times) > self._purge_above:
            self._times = {k: times for k, times in self._times.items() if times and times[-1] > now - window}
            self._purge_above = max(1024, 2 * len(self._times))
        times = self._times.setdefault(key, deque())
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= limit:
            return False
        times.append(now)
        return True


_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return 1
"""


class RedisWindows:
    """Windows shared by every process that uses the same Redis."""

    def __init__(self, url: str) -> None:
        from redis import asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)

    async def admit(self, key: str, limit: int, window: float, now: float) -> bool:
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"  # two messages in one microsecond are two
        return bool(await self._redis.eval(_ADMIT, 1, key, repr(now), repr(window), str(limit), member))

    async def close(self) -> None:
        await self._redis.close()


class SenderRateLimiter:
    """At most `limit` messages from one sender of one channel in any `window` seconds."""

    def __init__(
        self,
        limit: int = DEFAULT_PER_MINUTE,
        window: float = WINDOW_SECONDS,
        windows: Windows | None = None,
        prefix: str = KEY_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window = window
        self.windows = windows or MemoryWindows()
        self.prefix = prefix
        self.clock = clock
        self.refusal = TOO_FAST

    @classmethod
    def configured(
        cls, env: Mapping[str, str], redis_url: str | None, variable: str = VARIABLE, default: int = DEFAULT_PER_MINUTE
    ) -> SenderRateLimiter:
        """`variable` (ZW_RATE_LIMIT_PER_MINUTE) a minute, counted in Redis when `redis_url` is given."""
        limit = per_minute(env, variable, default)
        return cls(limit, windows=RedisWindows(redis_url) if redis_url else MemoryWindows())

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    async def admit(self, channel: str, sender: str) -> bool:
        """Whether this message from `sender` may reach the assistant (and it is counted if so)."""
        if not self.enabled:
            return True
        key = f"{self.prefix}{channel}:{pseudonym(sender)}"
        try:
            admitted = await self.windows.admit(key, self.limit, self.window, self.clock())
        except Exception as error:  # the shared count is unreachable: admit, as if there were no limit
            logger.warning("Rate limit store unavailable (%s): message admitted", type(error).__name__)
            return True
        if not admitted:
            logger.info("%s sender %s is over %d messages in %gs", channel, pseudonym(sender), self.limit, self.window)
        return admitted

    @property
    def retry_after(self) -> int:
        """Seconds after which a refused sender is sure to be admitted again."""
        return math.ceil(self.window)


def per_minute(env: Mapping[str, str], variable: str = VARIABLE, default: int = DEFAULT_PER_MINUTE) -> int:
    """ZW_RATE_LIMIT_PER_MINUTE: a whole number, 0 for no limit; the default when unset or unreadable."""
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        logger.error("%s must be a whole number >= 0, not %r: %d it is", variable, raw, default)
        return default
    return value
