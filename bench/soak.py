"""Soak test: many long conversations at once on our full assistant, then every tracker checked.

    .venv/bin/python -m bench.soak [--conversations 200] [--messages 20] [--workers 2]

Starts platform, action server and Rasa server (tools/stack.py) with conversations and
locks in Redis and --workers Rasa processes (Sanic workers) on one port. Then
--conversations senders at once, each sending --messages messages one after another over
/webhooks/rest/webhook (aiohttp, one asyncio loop): an application form with a name, a
valid fake ID number and a mobile number, its status check, a problem report with a
mobile number, then searches (bench/citizens.py). Each message carries metadata
{"bench_turn": n}. Every message must be answered: no non-200, no timeout, no empty answer.

Then every conversation's tracker is read through Rasa's API (the token-protected
GET /conversations/{sender}/tracker, which reads the Redis tracker store) and checked:
- its user messages are exactly the messages sent: each once, in the order sent (by
  `bench_turn`), each with the text sent or the form the redacting store keeps (numbers
  replaced, an answer to a personal question as "[redacted]");
- each is followed, before the next, by as many bot messages as the REST answer had,
  with the same texts (as stored: personal numbers replaced).

Lastly our Redis keys, SQLite files (but the platform's database) and logs are scanned for
the personal values sent (bench/pii_scan.py), the errors and warnings our processes logged
are counted by kind (a failed call to the action server still gets the citizen an answer),
and our Redis keys are deleted. Also: the receipts the conversations reached, CPU time per
process, memory before and after. Writes bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp

from bench.citizens import Citizens
from bench.load import (
    REDIS_URL,
    VAR,
    Meter,
    delete_keys,
    eligibility_questions,
    log_problems,
    memory,
    our_stack,
    ours_roots,
    personal_data_left,
    print_log_problems,
    run_level,
)
from bench.talk import RUN, Turn, client_session, converse, figures
from bot.privacy import redact_text
from tools.stack import ROOT, Stack

HERE = Path(__file__).parent
REDACTED = "[redacted]"
STORED_FORMS = "sent text, its numbers replaced, or [redacted]"


async def talk(stack: Stack, citizens: Citizens, conversations: int, messages: int) -> list[list[Turn]]:
    async with client_session(conversations) as session:
        return list(
            await asyncio.gather(
                *(
                    converse(
                        session,
                        stack.rasa_url,
                        f"{RUN}-soak-{number}",
                        citizens.long_conversation(number, messages),
                        limit=messages,
                        tag=True,
                    )
                    for number in range(conversations)
                )
            )
        )


async def trackers(stack: Stack, senders: list[str]) -> dict[str, dict[str, Any] | str]:
    """Each sender's tracker, or why it could not be read."""
    limit = asyncio.Semaphore(8)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def read(sender: str) -> dict[str, Any] | str:
            async with (
                limit,
                session.get(
                    f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}
                ) as response,
            ):
                if response.status != 200:
                    return f"HTTP {response.status}"
                tracker: dict[str, Any] = await response.json()
                return tracker

        found = await asyncio.gather(*(read(sender) for sender in senders))
    return dict(zip(senders, found, strict=True))


def stored_forms(text: str) -> set[str]:
    return {text, redact_text(text), REDACTED}


def check(turns: list[Turn], tracker: dict[str, Any] | str) -> list[str]:
    """What is wrong with one conversation's tracker, given what was sent and answered."""
    if isinstance(tracker, str):
        return [f"tracker not read: {tracker}"]
    events = [event for event in tracker.get("events") or [] if event.get("event") in ("user", "bot")]
    problems: list[str] = []
    numbers = [(event.get("metadata") or {}).get("bench_turn") for event in events if event["event"] == "user"]
    if numbers != list(range(len(turns))):
        problems.append(f"user messages by turn: {numbers}, sent 0..{len(turns) - 1}")
    positions = [index for index, event in enumerate(events) if event["event"] == "user"]
    for turn, start, end in zip(turns, positions, [*positions[1:], len(events)], strict=False):
        stored = events[start].get("text") or ""
        if stored not in stored_forms(turn.text):
            problems.append(f"turn {turn.number}: user text stored as {stored[:30]!r}, not the {STORED_FORMS}")
        bots = [event.get("text") or "" for event in events[start + 1 : end]]
        answered = [answer.get("text") or "" for answer in turn.answers]
        if not bots:
            problems.append(f"turn {turn.number}: no bot message follows")
        elif len(bots) != len(answered):
            problems.append(f"turn {turn.number}: {len(bots)} bot messages stored, {len(answered)} answered")
        elif any(bot not in stored_forms(text) - {REDACTED} for bot, text in zip(bots, answered, strict=True)):
            problems.append(f"turn {turn.number}: bot texts stored differ from those answered")
    return problems


def outcomes(conversations: list[list[Turn]]) -> dict[str, int]:
    """How many conversations reached each receipt: the flows completed under load."""
    counts = {"application_receipt": 0, "complaint_receipt": 0, "application_status": 0}
    for turns in conversations:
        kinds = {
            (answer.get("custom") or {}).get("type")
            for turn in turns
            for answer in turn.answers
            if isinstance(answer.get("custom"), dict)
        }
        for kind in counts:
            counts[kind] += kind in kinds
    return counts


def soak(args: argparse.Namespace) -> dict[str, Any]:
    stack = our_stack(VAR.parent / "soak", args.redis_url, args.workers, args.action_workers)
    result: dict[str, Any] = {"conversations": args.conversations, "messages_each": args.messages}
    citizens: Citizens | None = None
    try:
        stack.start()
        roots = ours_roots(stack)
        citizens = Citizens(eligibility_questions(stack))
        warm = run_level(stack.rasa_url, 10, args.warmup, citizens.conversation, "soak-warm", roots)
        print(f"warm-up: {warm['messages']} messages, errors {warm['errors']}")
        result["memory_idle"] = memory(roots)
        with Meter(roots) as meter:
            started = time.perf_counter()
            conversations = asyncio.run(talk(stack, citizens, args.conversations, args.messages))
            ended = time.perf_counter()
        result["memory_after"] = memory(roots)
        turns = [turn for turns in conversations for turn in turns]
        result.update(figures(turns, started, ended), messages_expected=args.conversations * args.messages)
        result.update(wall_s=round(ended - started, 1), flows_completed=outcomes(conversations))
        result["cpu"] = meter.report(len(turns))
        print(
            f"{len(turns)} messages in {ended - started:.0f} s ({result['throughput_per_s']} msg/s)  "
            f"p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  max {result['max_ms']} ms  "
            f"errors {result['errors']} {result['error_kinds'] or ''}"
        )
        senders = [turns[0].sender for turns in conversations if turns]
        read = asyncio.run(trackers(stack, senders))
        problems = {turns[0].sender: check(turns, read[turns[0].sender]) for turns in conversations if turns}
        wrong = {sender: found for sender, found in problems.items() if found}
        result["trackers"] = {
            "checked": len(problems),
            "consistent": len(problems) - len(wrong),
            "with_problems": len(wrong),
            "user_messages_stored": sum(
                1
                for tracker in read.values()
                if isinstance(tracker, dict)
                for event in tracker.get("events") or []
                if event.get("event") == "user"
            ),
            "problems": dict(list(wrong.items())[:20]),
        }
    finally:
        stack.stop()
        try:
            if citizens is not None:
                result["personal_data_left"] = personal_data_left(stack, citizens.people.needles())
                result["logged_problems"] = log_problems(stack.var_dir)
        finally:
            result["redis_keys_deleted"] = delete_keys(args.redis_url, stack.key_prefix)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=20, help="messages in each conversation")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of 10 conversations before")
    parser.add_argument("--workers", type=int, default=2, help="Rasa processes (SANIC_WORKERS)")
    parser.add_argument("--action-workers", type=int, default=1)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", REDIS_URL))
    args = parser.parse_args()
    result = soak(args)
    result["measured"] = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}",
        "assistant": f"platform, action server ({args.action_workers} worker), Rasa with {args.workers} workers; "
        f"Redis tracker and lock stores ({args.redis_url})",
        "client": "aiohttp, one asyncio loop",
        "load_average_after": os.getloadavg(),
    }
    out = HERE / "results" / "soak.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    checked, left = result["trackers"], result["personal_data_left"]
    print(
        f"trackers: {checked['consistent']} of {checked['checked']} consistent "
        f"({checked['user_messages_stored']} user messages stored, {result['messages']} sent); "
        f"flows completed {result['flows_completed']}"
    )
    print(f"personal data left: {left['findings']} finding(s) {left['by_kind']} ({left['values_sent']} values sent)")
    for sender, problems in checked["problems"].items():
        print(f"  {sender}: {'; '.join(problems[:3])}")
    print("logged by our processes:")
    print_log_problems(result["logged_problems"])
    print(f"memory: idle {result['memory_idle']['rss_mb']} MB RSS, after {result['memory_after']['rss_mb']} MB RSS")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
