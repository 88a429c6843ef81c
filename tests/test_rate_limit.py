"""Per-sender rate limits (bot/channels/ratelimit.py) on the REST, WeChat and Weibo channels.

The limiter alone, in memory and against the real Redis (REDIS_TEST_URL) under a key
prefix of this run's own, removed afterwards; then each channel on a Sanic app of its own
with a stand-in assistant (tests/channel_harness.py): a sender over the limit gets the
polite answer and the assistant never hears the message; other senders are unaffected.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests

from bot.channels.outgoing import MemoryStore
from bot.channels.ratelimit import (
    DEFAULT_PER_MINUTE,
    TOO_FAST,
    MemoryWindows,
    RedisWindows,
    SenderRateLimiter,
    Windows,
    per_minute,
)
from bot.channels.rest import RestInput
from bot.channels.wechat import WeChatInput, WeChatSettings
from bot.channels.weibo import WeiboInput, WeiboSettings
from tests.channel_harness import ChannelServer, StandIn
from tests.fake_wechat import Pusher as WeChatPusher
from tests.fake_weibo import Pusher as WeiboPusher

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
PREFIX = f"test:ratelimit:{uuid.uuid4().hex[:8]}:"  # Redis outlives a run: this run's keys are its own


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module", autouse=True)
def remove_this_runs_keys() -> Iterator[None]:
    yield
    client = redis.Redis.from_url(REDIS_TEST_URL)
    keys = list(client.scan_iter(match=PREFIX + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def windows(request: pytest.FixtureRequest) -> Windows:
    return MemoryWindows() if request.param == "memory" else RedisWindows(REDIS_TEST_URL)


def limiter_on(windows: Windows, clock: Clock, limit: int = 3, window: float = 60.0) -> SenderRateLimiter:
    return SenderRateLimiter(limit, window, windows, prefix=f"{PREFIX}{uuid.uuid4().hex[:6]}:", clock=clock)


async def admitted(limiter: SenderRateLimiter, sender: str, times: int, channel: str = "rest") -> list[bool]:
    return [await limiter.admit(channel, sender) for _ in range(times)]


# --- The limiter ------------------------------------------------------------------------
# Each scenario runs in one event loop: a Redis client keeps to the loop it first ran in.


def test_a_sender_over_the_limit_is_refused_and_others_are_not(windows: Windows) -> None:
    limiter = limiter_on(windows, Clock())

    async def scenario() -> None:
        assert await admitted(limiter, "ana", 5) == [True, True, True, False, False]
        assert await admitted(limiter, "bob", 3) == [True, True, True], "another sender has a count of his own"
        assert await admitted(limiter, "ana", 1, channel="wechat") == [True], "and so has each channel"

    asyncio.run(scenario())


def test_the_window_slides_and_refused_messages_do_not_count(windows: Windows) -> None:
    clock = Clock()
    limiter = limiter_on(windows, clock)

    async def scenario() -> None:
        for at in (0, 20, 40):
            clock.now = 1_000_000.0 + at
            assert await admitted(limiter, "ana", 1) == [True]
        clock.now = 1_000_059.5
        assert await admitted(limiter, "ana", 4) == [False] * 4, "the first is still within the minute"
        clock.now = 1_000_060.5  # the first has left the window; the refusals never entered it
        assert await admitted(limiter, "ana", 2) == [True, False]
        clock.now = 1_000_080.5  # the one at 20 s has left too
        assert await admitted(limiter, "ana", 2) == [True, False]

    asyncio.run(scenario())


def test_several_processes_share_one_count_in_redis() -> None:
    clock, prefix = Clock(), f"{PREFIX}shared:"
    first, second = (SenderRateLimiter(3, 60, RedisWindows(REDIS_TEST_URL), prefix, clock) for _ in range(2))

    async def scenario() -> None:
        assert await admitted(first, "ana", 2) == [True, True]
        assert await admitted(second, "ana", 2) == [True, False], "the second process sees the first one's messages"
        assert await admitted(first, "ana", 1) == [False]

    asyncio.run(scenario())


def test_concurrent_messages_in_redis_admit_exactly_the_limit() -> None:
    limiter = limiter_on(RedisWindows(REDIS_TEST_URL), Clock(), limit=5)

    async def burst() -> list[bool]:
        return await asyncio.gather(*(limiter.admit("rest", "ana") for _ in range(12)))

    assert sorted(asyncio.run(burst())) == [False] * 7 + [True] * 5


def test_redis_keys_expire_with_the_window_and_name_no_sender() -> None:
    limiter = limiter_on(RedisWindows(REDIS_TEST_URL), Clock(time.time()), window=2.0)
    assert asyncio.run(admitted(limiter, "o-secret-openid", 1)) == [True]
    client = redis.Redis.from_url(REDIS_TEST_URL, decode_responses=True)
    [key] = list(client.scan_iter(match=limiter.prefix + "*"))
    assert "o-secret-openid" not in key and 0 < client.pttl(key) <= 2000
    client.close()


def test_an_unreachable_redis_admits_every_message() -> None:
    limiter = limiter_on(RedisWindows("redis://127.0.0.1:9/0"), Clock(), limit=1)
    assert asyncio.run(admitted(limiter, "ana", 3)) == [True, True, True]


def test_the_limit_comes_from_the_environment() -> None:
    assert per_minute({}) == DEFAULT_PER_MINUTE == 20
    assert per_minute({"ZW_RATE_LIMIT_PER_MINUTE": " 5 "}) == 5
    assert per_minute({"ZW_RATE_LIMIT_PER_MINUTE": "many"}) == per_minute({"ZW_RATE_LIMIT_PER_MINUTE": "-3"}) == 20
    off = SenderRateLimiter.configured({"ZW_RATE_LIMIT_PER_MINUTE": "0"}, None)
    assert not off.enabled and asyncio.run(admitted(off, "ana", 50)) == [True] * 50
    assert isinstance(SenderRateLimiter.configured({}, REDIS_TEST_URL).windows, RedisWindows)


def test_rests_limit_is_its_own_and_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZW_RATE_LIMIT_PER_MINUTE", "5")
    monkeypatch.delenv("ZW_REST_RATE_LIMIT_PER_MINUTE", raising=False)
    assert not RestInput().limiter.enabled
    monkeypatch.setenv("ZW_REST_RATE_LIMIT_PER_MINUTE", "30")
    assert RestInput().limiter.limit == 30


# --- The channels -------------------------------------------------------------------------


@pytest.fixture
def servers() -> Iterator[list[ChannelServer]]:
    started: list[ChannelServer] = []
    yield started
    for server in started:
        server.stop()


def test_rest_answers_a_sender_over_the_limit_with_429_and_the_polite_answer(servers: list[ChannelServer]) -> None:
    assistant = StandIn()
    servers.append(ChannelServer(RestInput(SenderRateLimiter(2, 60, MemoryWindows())), assistant))
    url = servers[0].url

    def say(sender: str, text: str) -> requests.Response:
        return requests.post(url, json={"sender": sender, "message": text}, timeout=10)

    assert [say("ana", f"m{n}").status_code for n in range(2)] == [200, 200]
    refused = say("ana", "m2")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert refused.json() == [{"recipient_id": "ana", "text": TOO_FAST}]
    assert say("bob", "hi").json() == [{"recipient_id": "bob", "text": "收到：hi"}]
    assert [message.text for message in assistant.heard] == ["m0", "m1", "hi"]


def test_wechat_answers_over_the_limit_politely_in_plain_and_safe_mode(servers: list[ChannelServer]) -> None:
    assistant = StandIn()
    aes_key, app_id = "N" * 43, "wx_limit"
    settings = WeChatSettings(token="tk", app_id=app_id, aes_keys=(aes_key,))
    channel = WeChatInput(settings, store=MemoryStore(), limiter=SenderRateLimiter(2, 60, MemoryWindows()))
    servers.append(ChannelServer(channel, assistant))
    pusher = WeChatPusher(servers[0].url, "tk", aes_key, app_id)

    def text(content: str, msg_id: int, sender: str = "o-fast") -> dict[str, Any]:
        return {"FromUserName": sender, "MsgType": "text", "Content": content, "MsgId": msg_id}

    assert pusher.push(text("一", 1)).content == "收到：一"
    assert pusher.push(text("二", 2), safe=True).content == "收到：二"
    assert pusher.push(text("三", 3)).content == TOO_FAST
    assert pusher.push(text("三", 3)).content == TOO_FAST, "WeChat's retry of it gets the same answer"
    assert pusher.push(text("四", 4), safe=True).content == TOO_FAST, "sealed like any reply"
    subscribe = {"FromUserName": "o-fast", "MsgType": "event", "Event": "subscribe", "CreateTime": 5}
    assert pusher.push(subscribe).content == TOO_FAST, "events reach the assistant, so they count"
    assert pusher.push(text("你好", 6, sender="o-calm")).content == "收到：你好"
    assert [message.text for message in assistant.heard] == ["一", "二", "你好"]


def test_weibo_answers_over_the_limit_politely(servers: list[ChannelServer]) -> None:
    assistant = StandIn()
    channel = WeiboInput(
        WeiboSettings(app_secret="s3cret"), store=MemoryStore(), limiter=SenderRateLimiter(2, 60, MemoryWindows())
    )
    servers.append(ChannelServer(channel, assistant))
    pusher = WeiboPusher(servers[0].url, "s3cret")
    replies = [pusher.push(42, text=f"第{n}条").text for n in range(3)]
    assert replies == ["收到：第0条", "收到：第1条", TOO_FAST]
    assert pusher.push(43, text="你好").text == "收到：你好"
    assert [message.text for message in assistant.heard] == ["第0条", "第1条", "你好"]


def test_two_wechat_processes_share_the_count_in_redis(servers: list[ChannelServer]) -> None:
    assistant = StandIn()
    prefix = f"{PREFIX}wechat:"
    for _ in range(2):
        limiter = SenderRateLimiter(2, 60, RedisWindows(REDIS_TEST_URL), prefix)
        servers.append(
            ChannelServer(WeChatInput(WeChatSettings(token="tk"), store=MemoryStore(), limiter=limiter), assistant)
        )
    first, second = (WeChatPusher(server.url, "tk") for server in servers)
    message = {"FromUserName": "o-two", "MsgType": "text", "Content": "甲"}
    assert first.push({**message, "MsgId": 1}).content == "收到：甲"
    assert second.push({**message, "MsgId": 2}).content == "收到：甲"
    assert second.push({**message, "MsgId": 3}).content == TOO_FAST
    assert first.push({**message, "MsgId": 4}).content == TOO_FAST
    assert len(assistant.heard) == 2


def test_the_polite_answer_fits_one_wechat_and_one_weibo_message() -> None:
    assert len(TOO_FAST.encode("utf-8")) <= 2048 and len(TOO_FAST) < 300
    assert "请稍后再试" in TOO_FAST and "please wait a moment" in TOO_FAST
