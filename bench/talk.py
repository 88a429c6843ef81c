"""Talking to an assistant over its REST channel from one asyncio loop (aiohttp), for the
load and soak benchmarks: many senders at once, each sending its messages one after another.

- `converse`: one sender's conversation (bench/citizens.py generators), message by message;
- `closed_loop`: so many senders at once for so many seconds, each starting a new
  conversation (a new sender) when its script ends;
- `figures`: throughput, latency percentiles, errors (non-200, timeouts, empty answers)
  and the custom payloads the conversations reached.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.citizens import Answers, Conversation, is_empty
from bench.search import percentile

RUN = uuid.uuid4().hex[:6]  # senders are this run's own
TIMEOUT = 120.0  # seconds a message may take before it counts as timed out


@dataclass
class Turn:
    """One message and its answer."""

    sender: str
    number: int  # its place in the conversation, from 0
    text: str
    started: float
    finished: float = 0.0
    answers: Answers = field(default_factory=list)
    error: str | None = None  # "HTTP 500", "timeout", "empty", or the client's exception

    @property
    def latency(self) -> float:
        return self.finished - self.started


async def say(session: aiohttp.ClientSession, url: str, turn: Turn, metadata: dict[str, Any] | None = None) -> Turn:
    body: dict[str, Any] = {"sender": turn.sender, "message": turn.text}
    if metadata:
        body["metadata"] = metadata
    try:
        async with session.post(url + "/webhooks/rest/webhook", json=body) as response:
            payload = await response.read()
            if response.status != 200:
                turn.error = f"HTTP {response.status}"
            else:
                turn.answers = json.loads(payload)
                if is_empty(turn.answers):
                    turn.error = "empty"
    except asyncio.TimeoutError:
        turn.error = "timeout"
    except (aiohttp.ClientError, ValueError) as error:
        turn.error = type(error).__name__
    turn.finished = time.perf_counter()
    return turn


async def converse(
    session: aiohttp.ClientSession,
    url: str,
    sender: str,
    conversation: Conversation,
    until: float = float("inf"),
    limit: int | None = None,
    tag: bool = False,
) -> list[Turn]:
    """One sender's messages one after another until the script ends, `limit` messages
    are sent, or `until` (perf_counter) has passed. A failed message ends the conversation
    (what follows would answer a question not asked). `tag`: each message carries
    metadata {"bench_turn": its number}, so that a tracker can be checked against it."""
    turns: list[Turn] = []
    try:
        text = next(conversation)
        while time.perf_counter() < until and (limit is None or len(turns) < limit):
            turn = Turn(sender, len(turns), text, time.perf_counter())
            turns.append(await say(session, url, turn, {"bench_turn": turn.number} if tag else None))
            if turn.error:
                break
            text = conversation.send(turn.answers)
    except StopIteration:
        pass
    finally:
        conversation.close()
    return turns


def client_session(connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections + 10)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=TIMEOUT))


async def closed_loop(
    url: str, conversations: int, seconds: float, script: Callable[[int], Conversation], label: str
) -> tuple[list[Turn], float, float]:
    """`conversations` senders at once for `seconds`: (turns, start, end of the window)."""
    async with client_session(conversations) as session:
        start = time.perf_counter()
        until = start + seconds

        async def slot(index: int) -> list[Turn]:
            turns: list[Turn] = []
            number = index
            while time.perf_counter() < until:
                sender = f"{RUN}-{label}-{conversations}-{number}"
                turns += await converse(session, url, sender, script(number), until)
                number += conversations
            return turns

        results = await asyncio.gather(*(slot(index) for index in range(conversations)))
    return [turn for turns in results for turn in turns], start, until


def figures(turns: list[Turn], start: float, until: float) -> dict[str, Any]:
    """Throughput counts the messages answered between `start` and `until`; latencies and
    errors every message (those in flight at `until` were awaited)."""
    in_window = [turn for turn in turns if turn.error is None and turn.finished <= until]
    latencies = [turn.latency for turn in turns if turn.error is None]
    errors: dict[str, int] = {}
    payloads: dict[str, int] = {}  # what the conversations reached: cards, receipts, statuses
    for turn in turns:
        if turn.error:
            errors[turn.error] = errors.get(turn.error, 0) + 1
        for answer in turn.answers:
            custom = answer.get("custom")
            if isinstance(custom, dict) and custom.get("type"):
                payloads[custom["type"]] = payloads.get(custom["type"], 0) + 1

    def ms(share: float) -> float | None:
        return round(percentile(latencies, share) * 1000, 1) if latencies else None

    return {
        "messages": len(turns),
        "messages_in_window": len(in_window),
        "conversations": len({turn.sender for turn in turns}),
        "window_s": round(until - start, 2),
        "throughput_per_s": round(len(in_window) / (until - start), 2),
        "p50_ms": ms(0.5),
        "p95_ms": ms(0.95),
        "max_ms": ms(1.0),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "drain_s": round(max((turn.finished for turn in turns), default=until) - until, 1),
        "payloads": dict(sorted(payloads.items())),
    }
