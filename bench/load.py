"""Load benchmark over REST: our assistant against the stock `rasa init` one, same machine, same run.

    .venv/bin/python -m bench.load [--levels 1,10,50,200] [--seconds 40] [--rounds 4] [--workers 2]
                                   [--sweep-workers 1,2,3 --sweep-level 50]

Starts both assistants side by side:
- stock: `rasa init`'s project (bench/stock.py), trained once, served by one Rasa process
  with its own endpoints (conversations in memory, no action server);
- ours: platform, action server and Rasa server (tools/stack.py) with conversations and
  locks in Redis (--redis-url) and --workers Rasa processes (Sanic workers) on one port.

At each level of concurrent conversations, each assistant in turn, in --rounds rounds
(stock then ours, ours then stock, ...; --seconds shared among them) so that whatever
else runs on the machine over those minutes weighs on both alike (a machine shared with
others can run the same work a third slower for a minute): every conversation is a
sender that sends its scripted messages one after another over /webhooks/rest/webhook,
each as soon as the answer to the last arrived, and starts a new conversation (a new
sender) when its script ends; for --seconds. Ours gets realistic zh/en conversations
(bench/citizens.py: searches with regions, application forms with names, valid fake ID
numbers and mobiles, status checks, problem reports), the stock one its own domain
(greet, mood, affirm/deny, goodbye). The client is aiohttp in one asyncio loop (its own
CPU time is reported: it must stay far from a core). Both are warmed up first.

Figures per level: throughput (messages answered within the window / window), latency
p50/p95/max of every message sent in it (those still in flight at the end are awaited),
errors (non-200, timeouts, empty answers: all must be zero), the ratios ours/stock of
throughput and p95, and where the CPU went: each process's CPU time from /proc/<pid>/stat
(Rasa's workers one by one, action server, platform, redis-server, this client), what the
whole machine spent (other people's work included), and the CPU time the assistant's own
processes spent per message, which that other work changes little. Memory (VmRSS and
Pss from /proc, every process of each assistant, Sanic workers included) at idle and
after the load. Afterwards our Redis keys, SQLite files and logs are scanned for the
personal values sent (bench/pii_scan.py), the errors and warnings our processes logged
are counted by kind (a failed call to the action server is answered all the same, so
only the logs tell), and our Redis keys are deleted.

The issue's bar: ours at least 2x the stock assistant's throughput at 50 conversations,
p95 no worse. --sweep-workers measures ours again at --sweep-level with each number of
Rasa workers (one stack each, all started first, then measured in turn round after round so
that the machine's other work weighs on each alike). Writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
import requests

from bench import proc
from bench.citizens import Citizens, Conversation, scripted
from bench.pii_scan import scan, summary
from bench.stock import CONVERSATIONS as STOCK_CONVERSATIONS
from bench.stock import StockAssistant
from bench.talk import Turn, closed_loop, figures
from tools.stack import ROOT, Stack
from tools.train import ensure_model

HERE = Path(__file__).parent
VAR = ROOT / "var" / "bench" / "load"
REDIS_URL = "redis://127.0.0.1:6379/0"


class Meter:
    """CPU time of the named process trees, this client, Redis and the machine over a stretch."""

    def __init__(self, roots: dict[str, int], redis_url: str = REDIS_URL) -> None:
        self.roots = roots  # followed to their children
        self.singles = {"client": os.getpid()}  # not followed: the servers are this client's children
        redis_server = proc.listening_on(urlsplit(redis_url).port or 6379)
        if redis_server:  # shared: other people's use of it counts too
            self.singles["redis-server"] = redis_server

    def _read(self) -> dict[str, dict[int, float]]:
        seconds = proc.cpu_of(self.roots)
        for name, pid in self.singles.items():
            seconds[name] = {pid: proc.cpu_seconds(pid)}
        return seconds

    def __enter__(self) -> Meter:
        self.wall = time.perf_counter()
        self.before = self._read()
        self.machine = proc.machine_busy_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.wall
        after = self._read()
        self.machine = proc.machine_busy_seconds() - self.machine
        self.used: dict[str, float] = {}
        for name, pids in after.items():
            for index, (pid, seconds) in enumerate(pids.items()):  # the root first, then its children
                label = name if index == 0 else f"{name} child {index}"
                used = seconds - self.before.get(name, {}).get(pid, 0.0)
                if used >= 0.05:
                    self.used[label] = round(used, 2)

    def report(self, messages: int) -> dict[str, Any]:
        return cpu_report(self.used, self.seconds, self.machine, messages, set(self.singles))


def cpu_report(
    used: dict[str, float], seconds: float, machine: float, messages: int, apart: set[str]
) -> dict[str, Any]:
    """CPU seconds `used` by each process over `seconds` of wall time, `machine` the busy
    seconds of the whole machine meanwhile. `assistant_ms_per_message`: the CPU time the
    assistant's own processes spent per message (the processes `apart` — Redis, shared,
    and this client — not counted), which the machine's other work changes little; on a
    machine of its own, one process can answer at most 1000 / that messages a second,
    several processes at most cores times that."""
    measured = sum(used.values())
    assistant = sum(value for name, value in used.items() if name.split()[0] not in apart)
    return {
        "wall_s": round(seconds, 1),
        "assistant_ms_per_message": round(assistant * 1000 / messages, 1) if messages else None,
        "cpu_s": {name: round(value, 2) for name, value in used.items()},
        "cpu_share_of_one_core": {name: round(value / seconds, 3) for name, value in used.items()},
        "cpu_ms_per_message": {name: round(value * 1000 / messages, 1) for name, value in used.items() if messages},
        "machine_busy_s": round(machine, 1),
        "machine_busy_share": round(machine / seconds / (os.cpu_count() or 1), 3),
        "others_s": round(max(0.0, machine - measured), 1),
    }


def run_level(
    url: str,
    conversations: int,
    seconds: float,
    script: Callable[[int], Conversation],
    label: str,
    roots: dict[str, int],
    redis_url: str = REDIS_URL,
) -> dict[str, Any]:
    with Meter(roots, redis_url) as meter:
        turns, start, until = asyncio.run(closed_loop(url, conversations, seconds, script, label))
    result = figures(turns, start, until)
    result["cpu"] = meter.report(result["messages"])
    return result


def run_rounds(
    assistants: dict[str, tuple[str, Callable[[int], Conversation]]],
    roots: dict[str, dict[str, int]],
    conversations: int,
    seconds: float,
    rounds: int,
    redis_url: str = REDIS_URL,
) -> dict[str, dict[str, Any]]:
    """Each assistant for `seconds` at one level, in `rounds` turns of seconds / rounds,
    alternating which goes first (A B, B A, ...): whatever else the machine does over
    those minutes weighs on both alike. Figures over all rounds together."""
    names = list(assistants)
    kept: dict[str, list[tuple[dict[str, Any], list[Turn]]]] = {name: [] for name in names}
    for number in range(rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            url, script = assistants[name]
            with Meter(roots[name], redis_url) as meter:
                turns, start, until = asyncio.run(
                    closed_loop(url, conversations, seconds / rounds, script, f"{name}{number}")
                )
            result = figures(turns, start, until)
            result["cpu"] = meter.report(result["messages"])
            kept[name].append((result, turns))
    return {name: merged(done) for name, done in kept.items()}


def merged(rounds: list[tuple[dict[str, Any], list[Turn]]]) -> dict[str, Any]:
    """One level's rounds as one: throughput over the windows together, latencies and
    errors of every message, CPU summed."""
    turns = [turn for _, taken in rounds for turn in taken]
    windows = sum(result["cpu"]["wall_s"] for result, _ in rounds)
    result = figures(turns, 0.0, 1.0)  # latencies, errors, payloads of all the rounds
    in_window = sum(r["messages_in_window"] for r, _ in rounds)
    result["messages_in_window"] = in_window
    result["window_s"] = round(sum(r["window_s"] for r, _ in rounds), 2)
    result["throughput_per_s"] = round(in_window / result["window_s"], 2)
    result["drain_s"] = max(r["drain_s"] for r, _ in rounds)
    result["rounds"] = [
        {key: r[key] for key in ("throughput_per_s", "p50_ms", "p95_ms", "errors")}
        | {"assistant_ms_per_message": r["cpu"]["assistant_ms_per_message"]}
        for r, _ in rounds
    ]
    used: dict[str, float] = {}
    for r, _ in rounds:
        for name, value in r["cpu"]["cpu_s"].items():
            used[name] = used.get(name, 0.0) + value
    machine = sum(r["cpu"]["machine_busy_s"] for r, _ in rounds)
    result["cpu"] = cpu_report(used, windows, machine, result["messages"], {"client", "redis-server"})
    return result


def stock_script(number: int) -> Conversation:
    return scripted(STOCK_CONVERSATIONS[number % len(STOCK_CONVERSATIONS)])


def eligibility_questions(stack: Stack) -> int:
    view = requests.get(
        f"{stack.processes['platform'].url}/api/v1/services/food-business-licence",
        params={"region": "510107"},
        timeout=10,
    ).json()
    return len(view.get("eligibility_questions") or [])


def memory(roots: dict[str, int]) -> dict[str, Any]:
    """Every process of an assistant (each root and its children) and the totals."""
    trees = proc.memory_of(roots)
    return {
        "rss_mb": round(sum(tree["rss_mb"] for tree in trees.values()), 1),
        "pss_mb": round(sum(tree["pss_mb"] for tree in trees.values()), 1),
        "by_process": trees,
    }


def ours_roots(stack: Stack) -> dict[str, int]:
    return {name: process.process.pid for name, process in stack.processes.items()}


def our_stack(var_dir: Path, redis_url: str, workers: int, action_workers: int) -> Stack:
    shutil.rmtree(var_dir, ignore_errors=True)
    return Stack(var_dir, ensure_model(), redis_url=redis_url, rasa_workers=workers, action_workers=action_workers)


def personal_data_left(stack: Stack, needles: list[str]) -> dict[str, Any]:
    """Our Redis keys, SQLite files (but the platform's own database, which keeps
    applications by design) and logs, scanned for personal numbers and the values sent."""
    sqlite = [path for path in stack.var_dir.glob("*.db") if path.name != "platform.db"]
    logs = sorted(stack.var_dir.glob("*.log"))
    findings = scan(stack.redis_url, stack.key_prefix, sqlite, (), logs, needles)
    where = [f"redis {stack.key_prefix}*", *(str(p.relative_to(ROOT)) for p in sqlite + logs)]
    return {"scanned": where, "values_sent": len(needles), **summary(findings)}


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (ERROR|WARNING|CRITICAL)\s+(\S+)\s+- (.*)")


def log_problems(var_dir: Path) -> dict[str, dict[str, int]]:
    """Errors and warnings each process logged, by kind (quoted names and numbers folded):
    what went wrong inside the assistant even when every answer reached the citizen."""
    found: dict[str, dict[str, int]] = {}
    for path in sorted(var_dir.glob("*.log")):
        with path.open(encoding="utf-8", errors="replace") as log:
            for line in log:
                if match := LOG_LINE.match(line):
                    level, logger, message = match.groups()
                    message = re.sub(r"\d+", "N", re.sub(r"'[^'\s]*'", "'…'", message))
                    kind = f"{level} {logger} - {message[:140]}"
                    counts = found.setdefault(path.name, {})
                    counts[kind] = counts.get(kind, 0) + 1
    return {name: dict(sorted(counts.items(), key=lambda item: -item[1])) for name, counts in found.items()}


def delete_keys(redis_url: str, prefix: str) -> int:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return len(keys)


K = TypeVar("K")


def measure_in_rounds(
    stacks: dict[K, Stack], level: int, seconds: float, rounds: int, warmup: float, redis_url: str, label: str
) -> dict[K, list[dict[str, Any]]]:
    """Started stacks of ours, warmed up, then each measured at `level` conversations for
    seconds / rounds in turn, round after round, each round starting with the next one
    (A B C, B C A, ...), so that the machine's other work weighs on each alike: each
    stack's figures round by round."""
    citizens = {name: Citizens(eligibility_questions(stack)) for name, stack in stacks.items()}
    for name, stack in stacks.items():
        run_level(stack.rasa_url, 10, warmup, citizens[name].conversation, f"{label}{name}-warm", {})
    order = list(stacks)
    measured: dict[K, list[dict[str, Any]]] = {name: [] for name in order}
    for number in range(rounds):
        for name in order[number % len(order) :] + order[: number % len(order)]:
            stack = stacks[name]
            script, roots = citizens[name].conversation, ours_roots(stack)
            result = run_level(
                stack.rasa_url, level, seconds / rounds, script, f"{label}{name}-{number}", roots, redis_url
            )
            measured[name].append(result)
            cpu = result["cpu"]
            print(
                f"{label} {name} round {number}: {result['throughput_per_s']} msg/s p95 {result['p95_ms']} ms "
                f"CPU {cpu['assistant_ms_per_message']} ms/msg, others {cpu['others_s']} s, errors {result['errors']}",
                flush=True,
            )
    return measured


def sweep(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Ours at --sweep-level with each number of Rasa workers: all the stacks started at
    once, then measured in turn, round after round (each round in another order), so that
    the machine's other work weighs on each alike; the rounds' figures and their means."""
    stacks = {
        workers: our_stack(VAR / f"ours-{workers}w", args.redis_url, workers, args.action_workers)
        for workers in args.sweep_workers
    }
    results = []
    try:
        for stack in stacks.values():
            stack.start()
        rounds = measure_in_rounds(
            stacks, args.sweep_level, args.sweep_seconds, args.sweep_rounds, args.warmup, args.redis_url, "sweep"
        )
        for workers, stack in stacks.items():
            done = rounds[workers]
            results.append(
                {
                    "workers": workers,
                    "throughput_per_s": round(sum(r["throughput_per_s"] for r in done) / len(done), 2),
                    "p50_ms": round(sum(r["p50_ms"] or 0 for r in done) / len(done), 1),
                    "p95_ms": round(sum(r["p95_ms"] or 0 for r in done) / len(done), 1),
                    "errors": sum(r["errors"] for r in done),
                    "assistant_ms_per_message": round(
                        sum(r["cpu"]["assistant_ms_per_message"] or 0 for r in done) / len(done), 1
                    ),
                    "memory": memory(ours_roots(stack)),
                    "rounds": done,
                }
            )
    finally:
        for stack in stacks.values():
            stack.stop()
            delete_keys(args.redis_url, stack.key_prefix)
    for result in results:
        print(
            f"sweep: {result['workers']} Rasa worker(s) at {args.sweep_level}: {result['throughput_per_s']} msg/s  "
            f"p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  (means of {args.sweep_rounds} rounds: "
            f"{[r['throughput_per_s'] for r in rounds[result['workers']]]})  "
            f"CPU {result['assistant_ms_per_message']} ms/msg  RSS {result['memory']['rss_mb']} MB  "
            f"errors {result['errors']}"
        )
    return results


def table(levels: list[dict[str, Any]]) -> list[str]:
    lines = [
        "conversations | stock msg/s | ours msg/s | ratio | stock p50 / p95 ms | ours p50 / p95 ms | p95 ratio"
        " | errors stock / ours",
        "---|---|---|---|---|---|---|---",
    ]
    for level in levels:
        stock, ours = level["stock"], level["ours"]
        lines.append(
            f"{level['conversations']} | {stock['throughput_per_s']} | {ours['throughput_per_s']} | "
            f"{level['throughput_ratio']} | {stock['p50_ms']} / {stock['p95_ms']} | "
            f"{ours['p50_ms']} / {ours['p95_ms']} | {level['p95_ratio']} | {stock['errors']} / {ours['errors']}"
        )
    return lines


def cpu_lines(levels: list[dict[str, Any]]) -> list[str]:
    lines = []
    for level in levels:
        for name in ("stock", "ours"):
            cpu = level[name]["cpu"]
            shares = ", ".join(
                f"{process} {share:.0%} ({cpu['cpu_ms_per_message'].get(process, 0)} ms/msg)"
                for process, share in sorted(cpu["cpu_share_of_one_core"].items())
            )
            lines.append(
                f"{level['conversations']:>3} {name:<5} CPU (share of one core, per message): {shares}; "
                f"machine {cpu['machine_busy_share']:.0%} of all cores, others {cpu['others_s']} s"
            )
    return lines


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Both assistants started, warmed up and loaded level by level; then ours scanned."""
    result: dict[str, Any] = {"levels": []}
    stack = our_stack(VAR / "ours", args.redis_url, args.workers, args.action_workers)
    stock = StockAssistant(VAR / "stock")
    citizens: Citizens | None = None
    try:
        with ThreadPoolExecutor(2) as pool:  # both load their models at once
            starting: list[Future[Any]] = [pool.submit(stack.start), pool.submit(stock.start)]
            for started in starting:
                started.result()
        roots = {"stock": {"stock": stock.process.process.pid}, "ours": ours_roots(stack)}
        result["memory_idle"] = {name: memory(tree) for name, tree in roots.items()}
        citizens = Citizens(eligibility_questions(stack))
        assistants: dict[str, tuple[str, Callable[[int], Conversation]]] = {
            "stock": (stock.url, stock_script),
            "ours": (stack.rasa_url, citizens.conversation),
        }
        for name, (url, script) in assistants.items():
            warm = run_level(url, 10, args.warmup, script, f"{name}-warm", roots[name])
            print(f"warm-up {name}: {warm['messages']} messages, errors {warm['errors']}")
        for conversations in args.levels:
            level: dict[str, Any] = {"conversations": conversations}
            level.update(run_rounds(assistants, roots, conversations, args.seconds, args.rounds, args.redis_url))
            for name in assistants:
                print(
                    f"{conversations:>3} {name:<5} {level[name]['throughput_per_s']:>6} msg/s  "
                    f"p50 {level[name]['p50_ms']} ms  p95 {level[name]['p95_ms']} ms  "
                    f"errors {level[name]['errors']} {level[name]['error_kinds'] or ''}"
                )
            stock_tp, ours_tp = level["stock"]["throughput_per_s"], level["ours"]["throughput_per_s"]
            level["throughput_ratio"] = round(ours_tp / stock_tp, 2) if stock_tp else None
            stock_p95, ours_p95 = level["stock"]["p95_ms"], level["ours"]["p95_ms"]
            level["p95_ratio"] = round(ours_p95 / stock_p95, 2) if stock_p95 and ours_p95 else None
            result["levels"].append(level)
        result["memory_after_load"] = {name: memory(tree) for name, tree in roots.items()}
    finally:
        stock.stop()
        stack.stop()
        try:
            if citizens is not None:  # logs complete now that the processes are gone
                result["personal_data_left"] = personal_data_left(stack, citizens.people.needles())
                result["logged_problems"] = log_problems(stack.var_dir)
        finally:
            result["redis_keys_deleted"] = delete_keys(args.redis_url, stack.key_prefix)
    at_50 = next((level for level in result["levels"] if level["conversations"] == 50), None)
    if at_50:
        throughput, p95 = at_50["throughput_ratio"], at_50["p95_ratio"]
        met = throughput is not None and throughput >= 2 and p95 is not None and p95 <= 1
        result["bar"] = {"throughput_ratio_at_50": throughput, "p95_ratio_at_50": p95, "met": met}
    return result


def show(result: dict[str, Any]) -> None:
    print("\n".join(table(result["levels"])))
    print("\n".join(cpu_lines(result["levels"])))
    for moment in ("memory_idle", "memory_after_load"):
        totals = {name: f"{m['rss_mb']} MB RSS / {m['pss_mb']} MB PSS" for name, m in result[moment].items()}
        print(f"{moment}: " + "; ".join(f"{name} {total}" for name, total in totals.items()))
    left = result["personal_data_left"]
    print(f"personal data left: {left['findings']} finding(s) {left['by_kind']} ({left['values_sent']} values sent)")
    print_log_problems(result["logged_problems"])
    if "bar" in result:
        bar = result["bar"]
        print(
            f"BAR at 50 conversations: throughput ours/stock {bar['throughput_ratio_at_50']} (>= 2), "
            f"p95 ours/stock {bar['p95_ratio_at_50']} (<= 1): {'met' if bar['met'] else 'MISSED'}"
        )


def print_log_problems(problems: dict[str, dict[str, int]]) -> None:
    for name, kinds in problems.items():
        for kind, count in list(kinds.items())[:5]:
            print(f"  {name}: {count} x {kind}")
    if not problems:
        print("  no errors or warnings logged by our processes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,10,50,200", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=40.0, help="measured window per level and assistant")
    parser.add_argument("--rounds", type=int, default=4, help="each level's window shared among so many rounds")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of 10 conversations before measuring")
    parser.add_argument("--workers", type=int, default=2, help="our Rasa processes (SANIC_WORKERS)")
    parser.add_argument("--action-workers", type=int, default=1)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", REDIS_URL))
    parser.add_argument("--sweep-workers", default="", type=lambda s: [int(x) for x in s.split(",") if x])
    parser.add_argument("--sweep-level", type=int, default=50)
    parser.add_argument("--sweep-seconds", type=float, default=60.0, help="measured per number of workers")
    parser.add_argument("--sweep-rounds", type=int, default=3, help="--sweep-seconds shared among so many rounds")
    args = parser.parse_args()
    result = compare(args)
    if args.sweep_workers:
        result["worker_sweep"] = sweep(args)
    result["measured"] = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}",
        "seconds_per_level": args.seconds,
        "ours": f"platform, action server ({args.action_workers} worker), Rasa with {args.workers} workers; "
        f"Redis tracker and lock stores ({args.redis_url})",
        "stock": "rasa init project, one Rasa process, in-memory tracker store",
        "client": "aiohttp, one asyncio loop",
        "load_average_after": os.getloadavg(),
    }
    out = HERE / "results" / "load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    show(result)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
