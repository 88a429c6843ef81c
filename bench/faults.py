"""Faults under load (issue "Production readiness"): a Rasa worker, the action server, the
platform and Redis are each killed in the middle of a load of conversations; the
assistant must recover, answer politely meanwhile and lose no report or application.

    .venv/bin/python -m bench.faults [--citizens 24] [--faults rasa_worker,redis] [--outage 10]

One stack (tools/stack.py) with a private, persistent Redis (tools/redis_server.py: a
redis-server of this run's own on a free port) and 2 Rasa worker processes. For each
fault in turn, a round: `--citizens` citizens (bench/patient_citizens.py: applications
and problem reports, Chinese and English) start over `--ramp` seconds; `--fault-at`
seconds in, the fault:

- rasa_worker: SIGKILL of one of Rasa's two Sanic workers, caught running (handling a
  message) if it can be within 3 s (Sanic 21.12 does not start another: the other serves
  on; Rasa is restarted after the round for the next one);
- action_server / platform: SIGKILL, then, `--outage` seconds later, started again;
- redis: SIGKILL of the redis-server, then started again on its files.

Each citizen reads every answer and goes on as a person would: a polite "try again"
makes them wait 2.5-5 s and say it again (a 429 of the rate limit: its Retry-After, or
10 s); a connection reset is retried at once, once (as
WeChat retries a push); the assistant's "say continue" gets "continue"; an answer that
asks nothing they can answer gets the message again, and after three of those in a row
they start over. After the round, the reports kept in the action server's outbox are
given time to be filed and told.

Figures per fault: (a) every answer, by kind: normal, polite (bot/channels/rest.py's
NO_ANSWER and the POLITE_RESPONSES of bench/patient_citizens.py), or bad: 5xx, 4xx,
empty, no answer after the one retry, no answer within the timeout; answers slower
than 30 s; answers that asked nothing the citizen could answer (stalls); tracebacks and
ERROR lines in the logs of the round. (b) citizens who finished their flow. (c) each
application and report a citizen confirmed, on the platform (its database) exactly once,
and the citizen told its number exactly once (the receipts in the conversation's
tracker). (d) recovery: seconds from the restore (the kill, for a worker: nothing is
restored) to the first normal answer to a message sent after it (for the platform: the
first answer holding what only the platform gives: a card or a receipt), and to the last
answer that was not normal (or slower than 30 s).

A fault passes when no answer was bad, slow or asked nothing, every citizen finished,
and nothing was lost, duplicated, left untold or told twice. Noted without failing: a
receipt a citizen read in an answer that is not in the conversation's tracker (the turn
was answered while Redis died, and Rasa's FailSafeTrackerStore kept it in memory only).
Prints a table per fault; writes bench/results/faults.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

from bench.fault_checks import CHECKS, verdicts, wait_for_the_outbox, where_it_stands
from bench.log_scan import LogWatch
from bench.patient_citizens import PLATFORM_CUSTOMS, Answers, Citizen, Responses, citizens, customs, is_polite
from bench.search import percentile
from bot.channels.rest import NO_ANSWER
from tools.redis_server import RedisServer
from tools.stack import ROOT, Command, Process, Stack
from tools.train import ensure_model

HERE = Path(__file__).parent
FAULTS = ("rasa_worker", "action_server", "platform", "redis")
REQUEST_TIMEOUT = 120.0  # longer than Rasa's 60 s conversation lock: a hang is measured, not cut
SLOW_SECONDS = 30.0
RETRY_PAUSE = 2.5  # seconds, and as much again at random: about 16 tries a minute


class FaultStack(Stack):
    """The project's stack; a process started again logs to a fresh file, the old one kept."""

    def start(self) -> FaultStack:
        # Stack.start leaves running what it started when a later process fails to come up.
        try:
            super().start()
        except BaseException:
            self.stop()
            raise
        return self

    def start_process(self, command: Command) -> Process:
        log = self.var_dir / f"{command.name}.log"
        if log.exists():
            runs = len(list(self.var_dir.glob(f"{command.name}.*.log")))
            log.rename(self.var_dir / f"{command.name}.{runs + 1}.log")
        return super().start_process(command)


def rasa_workers(stack: Stack) -> list[int]:
    """The Sanic worker processes Rasa's main process forked (same command line)."""
    main = stack.processes["rasa"].process.pid
    proc = Path("/proc")
    command = (proc / str(main) / "cmdline").read_bytes()
    children = [
        int(child)
        for task in (proc / str(main) / "task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return sorted(pid for pid in children if _cmdline(pid) == command and _state(pid) not in ("Z", ""))


def busy_worker(workers: list[int], patience: float = 3.0) -> tuple[int, bool]:
    """A worker caught running (handling a message, most likely), else the first; and
    whether it was running."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        for pid in workers:
            if _state(pid) == "R":
                return pid, True
        time.sleep(0.005)
    return workers[0], False


def _state(pid: int) -> str:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return ""
    return stat[stat.rindex(")") + 2 :].split()[0]


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


@dataclass
class Exchange:
    answers: Answers | None
    outcome: str  # "answered", "rate_limited", "transport", "timeout", "http_5xx", "http_4xx", "empty"
    detail: str = ""
    retried: bool = False


def exchange(rasa_url: str, sender: str, message: str, timeout: float = REQUEST_TIMEOUT) -> Exchange:
    """One message over REST; a connection that fails (a reset, say) is tried again once."""
    retried = False
    for attempt in range(2):
        try:
            answer = requests.post(
                f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=timeout
            )
        except requests.Timeout:
            return Exchange(None, "timeout", f"no answer within {timeout:.0f} s", retried)
        except requests.RequestException as error:
            if attempt == 0:
                retried = True
                continue
            return Exchange(None, "transport", type(error).__name__, retried)
        if answer.status_code == 429:
            # Too many messages from one sender: a polite answer, and how long to wait.
            return Exchange(_list_or_none(answer), "rate_limited", answer.headers.get("Retry-After", ""), retried)
        if answer.status_code >= 500:
            return Exchange(None, "http_5xx", f"HTTP {answer.status_code}: {answer.text[:80]}", retried)
        if answer.status_code != 200:
            return Exchange(None, "http_4xx", f"HTTP {answer.status_code}: {answer.text[:80]}", retried)
        try:
            answers = answer.json()
        except ValueError:
            return Exchange(None, "http_5xx", f"not JSON: {answer.text[:80]}", retried)
        if not answers or not all(_says_something(one) for one in answers):
            return Exchange(None, "empty", json.dumps(answers, ensure_ascii=False)[:80], retried)
        return Exchange(answers, "answered", "", retried)
    raise AssertionError("unreachable")


def _list_or_none(answer: requests.Response) -> Answers | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    return body if isinstance(body, list) and body and all(_says_something(one) for one in body) else None


def _says_something(answer: Any) -> bool:
    return isinstance(answer, dict) and any(answer.get(key) for key in ("text", "custom", "image", "buttons"))


@dataclass
class Turn:
    sender: str
    sent: float
    answered: float
    kind: str  # "normal", "polite", or the Exchange outcome that went wrong
    retried: bool = False
    platform_answer: bool = False
    stalled: bool = False
    detail: str = ""
    state: dict[str, Any] | None = None


@dataclass
class Round:
    stack: Stack
    responses: Responses
    deadline: float
    think: float
    started: float = field(default_factory=time.monotonic)
    turns: list[Turn] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0

    def now(self) -> float:
        return time.monotonic() - self.started

    def wait_for_messages_in_flight(self, count: int, patience: float = 5.0) -> None:
        deadline = time.monotonic() + patience
        while self.in_flight < count and time.monotonic() < deadline:
            time.sleep(0.002)

    def converse(self, citizen: Citizen, start_after: float) -> None:
        rng = random.Random(citizen.sender)
        time.sleep(start_after)
        message: str | None = citizen.first()
        while message is not None and self.now() < self.deadline:
            sent = self.now()
            with self.lock:
                self.in_flight += 1
            said = exchange(self.stack.rasa_url, citizen.sender, message)
            with self.lock:
                self.in_flight -= 1
            turn = Turn(citizen.sender, sent, self.now(), said.outcome, said.retried, detail=said.detail)
            pause = RETRY_PAUSE + rng.uniform(0, RETRY_PAUSE)
            if said.outcome == "rate_limited" and said.answers is not None:
                turn.kind, turn.detail = "polite", "rate limited"
                pause = max(pause, float(said.detail or 0) if said.detail.isdigit() else 10.0)
            elif said.answers is not None:
                stalls = citizen.stalls
                turn.kind = "polite" if is_polite(said.answers, self.responses) else "normal"
                turn.platform_answer = bool(PLATFORM_CUSTOMS & set(customs(said.answers)))
                message = citizen.reply(said.answers, self.responses)
                turn.stalled = citizen.stalls > stalls
                if turn.kind == "polite":
                    turn.detail = _polite_kind(said.answers, self.responses)
                elif turn.stalled:
                    turn.detail = _what_was_said(said.answers, self.responses)
                    if citizen.stalls == 1:  # the first time: where the conversation stood
                        turn.state = where_it_stands(self.stack, citizen.sender)
                else:
                    pause = rng.uniform(0.5, 1.5) * self.think
            with self.lock:
                self.turns.append(turn)
            time.sleep(pause)


def _polite_kind(answers: Answers, responses: Responses) -> str:
    if any((answer.get("text") or "").strip() == NO_ANSWER for answer in answers):
        return "NO_ANSWER"
    return ",".join(
        name for name in responses.names(answers) if "unavailable" in name or "fail" in name or "queued" in name
    )


def _what_was_said(answers: Answers, responses: Responses) -> str:
    names = responses.names(answers)
    return ",".join(names) if names else " | ".join((a.get("text") or "")[:60] for a in answers)


# The faults: inject, then restore (a killed Rasa worker is not: the other one serves on).


def inject(fault: str, stack: Stack, redis: RedisServer) -> dict[str, Any]:
    if fault == "rasa_worker":
        workers = rasa_workers(stack)
        if len(workers) < 2:
            raise RuntimeError(f"expected 2 Rasa workers, found {workers}")
        victim, busy = busy_worker(workers)
        os.kill(victim, signal.SIGKILL)
        time.sleep(0.1)  # gone from /proc's point of view
        return {"killed_pid": victim, "killed_while_running": busy, "workers_left": len(rasa_workers(stack))}
    if fault == "redis":
        redis.kill()
        return {}
    process = stack.processes["actions" if fault == "action_server" else "platform"].process
    process.send_signal(signal.SIGKILL)
    process.wait()
    return {}


def restore(fault: str, stack: Stack, redis: RedisServer) -> None:
    if fault == "redis":
        redis.start()
    elif fault in ("action_server", "platform"):
        stack.restart("actions" if fault == "action_server" else "platform")


# A round: load, fault, restore, checks.


def run_round(
    stack: Stack, redis: RedisServer, fault: str, people: list[Citizen], options: argparse.Namespace
) -> dict[str, Any]:
    watch = LogWatch(stack.var_dir)
    watch.mark()
    plan = Round(stack, Responses(), deadline=options.ramp + options.patience, think=options.think)
    rng = random.Random(fault)
    starts = sorted(rng.uniform(0, options.ramp) for _ in people)
    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        running = [pool.submit(plan.converse, citizen, start) for citizen, start in zip(people, starts, strict=True)]
        time.sleep(options.fault_at)
        plan.wait_for_messages_in_flight(2)  # mid-load: some turns under way when it strikes
        injected = inject(fault, stack, redis)
        fault_at = plan.now()
        if fault != "rasa_worker":
            time.sleep(options.outage)
        restore_at = plan.now()
        restore(fault, stack, redis)
        restored_at = plan.now()
        for future in running:
            future.result()
    queued = [citizen for citizen in people if citizen.queued]
    outbox_seconds = wait_for_the_outbox(stack, queued, options.settle)
    time.sleep(3)  # a duplicate filing or notice would show by now
    summary = summarise(fault, plan.turns, people, restore_at, fault == "platform")
    summary["timeline"] = {
        "fault_at": round(fault_at, 1),
        "restore_at": round(restore_at, 1),
        "restored_at": round(restored_at, 1),
        "round_seconds": round(plan.now(), 1),
        "outbox_wait_seconds": round(outbox_seconds, 1) if queued else None,
        **injected,
    }
    summary["checks"] = verdicts(stack, people)
    summary["logs"] = watch.since().as_dict()
    summary["passed"] = passed(summary)
    return summary


def summarise(
    fault: str, turns: list[Turn], people: list[Citizen], restore_at: float, needs_platform: bool
) -> dict[str, Any]:
    kinds = Counter(turn.kind for turn in turns)
    bad = [turn for turn in turns if turn.kind not in ("normal", "polite")]
    latencies = [turn.answered - turn.sent for turn in turns]
    after = [turn for turn in turns if turn.sent >= restore_at]
    recovered = [
        turn.answered - restore_at
        for turn in after
        if turn.kind == "normal" and (turn.platform_answer or not needs_platform)
    ]
    not_normal = [
        turn.answered - restore_at
        for turn in turns
        if (turn.kind != "normal" or turn.answered - turn.sent > SLOW_SECONDS) and turn.answered > restore_at
    ]
    return {
        "fault": fault,
        "citizens": len(people),
        "applications": sum(citizen.flow == "application" for citizen in people),
        "reports": sum(citizen.flow == "report" for citizen in people),
        "turns": len(turns),
        "answers": {kind: kinds.get(kind, 0) for kind in ("normal", "polite")}
        | {kind: count for kind, count in kinds.items() if kind not in ("normal", "polite")},
        "polite_kinds": dict(Counter(turn.detail for turn in turns if turn.kind == "polite")),
        "retried_after_a_reset": sum(turn.retried for turn in turns),
        "bad_answers": [
            {"sender": turn.sender, "at": round(turn.sent, 1), "kind": turn.kind, "detail": turn.detail}
            for turn in bad[:20]
        ],
        "stalls": sum(turn.stalled for turn in turns),
        "started_over": sum(citizen.restarts for citizen in people),
        "stall_examples": [
            {"sender": turn.sender, "at": round(turn.sent, 1), "answer": turn.detail}
            | ({"conversation": turn.state} if turn.state else {})
            for turn in turns
            if turn.stalled
        ][:10],
        "latency_seconds": {
            "p50": round(percentile(latencies, 0.5), 2) if latencies else None,
            "p95": round(percentile(latencies, 0.95), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
        "slow_answers": [
            {"sender": turn.sender, "at": round(turn.sent, 1), "seconds": round(turn.answered - turn.sent, 1)}
            for turn in turns
            if turn.answered - turn.sent > SLOW_SECONDS
        ],
        "finished": sum(citizen.done for citizen in people),
        "receipts_in_answers": sum(citizen.receipt is not None for citizen in people),
        "reports_queued": sum(citizen.queued is not None for citizen in people),
        "recovery_seconds": round(min(recovered), 1) if recovered else None,
        "all_clear_seconds": round(max(not_normal), 1) if not_normal else 0.0,
    }


def passed(summary: dict[str, Any]) -> bool:
    checks = summary["checks"]
    return (
        not summary["bad_answers"]
        and not summary["stalls"]
        and not summary["slow_answers"]
        and summary["finished"] == summary["citizens"]
        and not any(checks[name] for name in CHECKS)
    )


def show(summary: dict[str, Any]) -> None:
    answers, checks, timeline = summary["answers"], summary["checks"], summary["timeline"]
    bad = sum(count for kind, count in answers.items() if kind not in ("normal", "polite"))
    rows = [
        (
            "citizens (applications / reports)",
            f"{summary['citizens']} ({summary['applications']} / {summary['reports']})",
        ),
        (
            "fault at / restore at / up at (s)",
            f"{timeline['fault_at']} / {timeline['restore_at']} / {timeline['restored_at']}",
        ),
        ("answers: normal / polite / bad", f"{answers['normal']} / {answers['polite']} / {bad}"),
        ("polite answers by kind", ", ".join(f"{k or '?'} {v}" for k, v in summary["polite_kinds"].items()) or "-"),
        ("resets retried once", summary["retried_after_a_reset"]),
        ("stalls (answer asked nothing) / started over", f"{summary['stalls']} / {summary['started_over']}"),
        ("latency p50 / p95 / max (s)", " / ".join(str(v) for v in summary["latency_seconds"].values())),
        (f"answers slower than {SLOW_SECONDS:.0f} s", len(summary["slow_answers"])),
        ("finished their flow", f"{summary['finished']} / {summary['citizens']}"),
        ("reports kept for later (filed after s)", f"{summary['reports_queued']} ({timeline['outbox_wait_seconds']})"),
        (
            "lost / duplicated / not told / told twice",
            " / ".join(str(len(checks[name])) for name in ("lost", "duplicated", "not_told", "told_twice")),
        ),
        ("receipts seen but not in the conversation", len(checks["receipt_missing_from_conversation"])),
        ("recovery: first normal / all clear (s)", f"{summary['recovery_seconds']} / {summary['all_clear_seconds']}"),
        ("tracebacks / ERROR lines in logs", f"{summary['logs']['tracebacks']} / {summary['logs']['error_lines']}"),
        ("passed", "yes" if summary["passed"] else "NO"),
    ]
    print(f"\n== {summary['fault']} ==")
    for label, value in rows:
        print(f"  {label:<44} {value}")
    for turn in summary["bad_answers"]:
        print(f"  bad answer: {turn}")
    for turn in summary["stall_examples"]:
        print(f"  answer that asked nothing: {turn}")
    for turn in summary["slow_answers"][:10]:
        print(f"  slow answer: {turn}")
    for name, found in checks.items():
        for item in found[:10]:
            print(f"  {name}: {item}")
    for kind, count in summary["logs"]["traceback_kinds"].items():
        print(f"  traceback x{count}: {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=24, help="conversations per fault")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, of {', '.join(FAULTS)}")
    parser.add_argument("--ramp", type=float, default=30.0, help="citizens start over this many seconds")
    parser.add_argument("--fault-at", type=float, default=15.0, help="seconds into the round")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds from the kill to the restart")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a citizen's messages, s")
    parser.add_argument("--patience", type=float, default=300.0, help="seconds a citizen keeps trying after the ramp")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds for kept reports to be filed and told")
    parser.add_argument(
        "--volatile-redis", action="store_true", help="Redis without its append-only file: a restart forgets"
    )
    parser.add_argument("--database-url", help="the platform's database (default: SQLite in the run's directory)")
    parser.add_argument(
        "--workdir", type=Path, help="keep the stack's files and logs here (default: a temporary directory)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "faults.json")
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so that every process started here is stopped.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(f"stopped by signal {number}"))
    faults = [name.strip() for name in args.faults.split(",") if name.strip()]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    run = uuid.uuid4().hex[:6]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="zw-faults-") as temporary:
        work = args.workdir or Path(temporary)
        with (
            RedisServer(work / "redis", persistent=not args.volatile_redis) as redis,
            stack_for(work / "var", redis, args.database_url) as stack,
        ):
            warm_up(stack)
            for number, fault in enumerate(faults):
                if number and faults[number - 1] == "rasa_worker":
                    stack.restart("rasa")  # Sanic does not replace a killed worker
                    warm_up(stack)
                people = citizens(f"{fault.replace('_', '')}{number}{run}", args.citizens)
                summary = run_round(stack, redis, fault, people, args)
                results.append(summary)
                show(summary)
    result = {
        "faults": results,
        "measured": {
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}",
            "stack": "platform (SQLite unless --database-url), action server (1 worker), Rasa (2 Sanic workers),"
            f" a private Redis ({'no persistence' if args.volatile_redis else 'append-only file, fsync always'})",
            "options": {
                key: value for key, value in vars(args).items() if key not in ("out", "workdir", "database_url")
            },
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    print("ALL PASSED" if all(summary["passed"] for summary in results) else "SOME FAULTS FAILED (see above)")


def stack_for(var_dir: Path, redis: RedisServer, database_url: str | None) -> FaultStack:
    # Reports kept in the outbox are tried again every 5 s at most, so that a round ends soon.
    env = {"ZW_OUTBOX_MAX_DELAY": "5"}
    return FaultStack(var_dir, ensure_model(), database_url, redis_url=redis.url, rasa_workers=2, env=env)


def warm_up(stack: Stack) -> None:
    """The first message each worker handles is slow (the model's graph warms up)."""
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda number: stack.say(f"warm-up-{number}", "你好" if number % 2 else "hello"), range(6)))


if __name__ == "__main__":
    main()
