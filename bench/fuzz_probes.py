"""What the fuzz benchmark (bench/fuzz.py) sends and how it counts: a `Probe` is one
request (HTTP, or raw bytes on a socket for what an HTTP client will not send), an
`Outcome` its status or the lack of one; `tally` counts them by endpoint and status and
keeps the failures (a 5xx, no answer) and, for hand-made probes that say what a correct
answer is, the surprises. Process logs are read for tracebacks and ERROR lines written
while the fuzz ran, and each process's CPU is sampled when idle: one that keeps busy
with nobody talking to it is stuck in a loop.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

T = TypeVar("T")
TIMEOUT = 30.0


@dataclass(frozen=True)
class Probe:
    endpoint: str  # rest, wechat, wechat-aes, weibo, platform, open311, uploads, http
    process: str  # rasa or platform
    method: str
    path: str
    body: bytes = b""
    query: str = ""  # already percent-encoded
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as it is on a socket instead
    kind: str = ""
    expect: frozenset[int] | None = None  # hand-made probes: the statuses of a right answer


@dataclass(frozen=True)
class Outcome:
    probe: Probe
    status: int | None
    seconds: float
    error: str | None = None
    body: bytes = b""


def draw(strategy: st.SearchStrategy[T], count: int, at: int) -> list[T]:
    """`count` examples of `strategy`, the same ones for the same seed `at`."""
    found: list[T] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(at)
    @given(strategy)
    def collect(example: T) -> None:
        found.append(example)

    collect()
    return found


def send(probe: Probe, urls: dict[str, str]) -> Outcome:
    base = urls[probe.process]
    started = time.perf_counter()
    if probe.raw is not None:
        return _send_raw(probe, base, started)
    url = base + probe.path + (f"?{probe.query}" if probe.query else "")
    try:
        answer = requests.request(
            probe.method, url, data=probe.body, headers=probe.headers, timeout=TIMEOUT, allow_redirects=False
        )
    except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeEncodeError) as error:
        return Outcome(probe, None, 0.0, f"not sent: {type(error).__name__}")
    except requests.RequestException as error:
        return Outcome(probe, None, time.perf_counter() - started, type(error).__name__)
    return Outcome(probe, answer.status_code, time.perf_counter() - started, body=answer.content[:2000])


def _send_raw(probe: Probe, base: str, started: float) -> Outcome:
    host, port = base.split("//")[1].split(":")
    assert probe.raw is not None
    try:
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(probe.raw)
            answer = connection.recv(4096)
    except OSError as error:
        return Outcome(probe, None, time.perf_counter() - started, type(error).__name__)
    found = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    status = int(found.group(1)) if found else None
    return Outcome(probe, status, time.perf_counter() - started, None if found else "no status line", answer[:2000])


def send_all(probes: Iterable[Probe], urls: dict[str, str], workers: int = 4) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda probe: send(probe, urls), probes))


def failed(outcome: Outcome) -> bool:
    """A 5xx, or no answer at all (to a request that went out)."""
    if outcome.status is None:
        return not (outcome.error or "").startswith("not sent")
    return outcome.status >= 500


def tally(outcomes: list[Outcome]) -> dict[str, Any]:
    by_endpoint: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        status = str(outcome.status) if outcome.status is not None else f"no answer ({outcome.error})"
        by_endpoint.setdefault(outcome.probe.endpoint, Counter())[status] += 1
    surprises = [o for o in outcomes if o.probe.expect is not None and o.status not in o.probe.expect]
    return {
        "requests": len(outcomes),
        "by_endpoint": {
            name: {"requests": sum(counts.values()), "statuses": dict(sorted(counts.items()))}
            for name, counts in sorted(by_endpoint.items())
        },
        "statuses": dict(sorted(sum(by_endpoint.values(), Counter()).items())),
        "failures": [describe(o) for o in outcomes if failed(o)][:30],
        "failure_count": sum(1 for o in outcomes if failed(o)),
        "surprises": [describe(o) for o in surprises][:30],
        "surprise_count": len(surprises),
    }


def describe(outcome: Outcome) -> dict[str, Any]:
    probe = outcome.probe
    sent = probe.raw if probe.raw is not None else probe.body
    return {
        "endpoint": probe.endpoint,
        "kind": probe.kind,
        "request": f"{probe.method} {probe.path}{'?' + probe.query[:200] if probe.query else ''}",
        "sent": repr(sent[:300]),
        "status": outcome.status,
        "error": outcome.error,
        "expected": sorted(probe.expect) if probe.expect is not None else None,
        "answer": repr(outcome.body[:300]),
    }


# --- The processes after the fuzz ----------------------------------------------------------

_ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b")


def log_problems(log: Path, since: int) -> dict[str, Any]:
    """Tracebacks and ERROR lines written to `log` after byte `since`."""
    with log.open("rb") as handle:
        handle.seek(since)
        written = handle.read().decode("utf-8", errors="replace")
    errors = [line.strip() for line in written.splitlines() if _ERROR_LINE.search(line)]
    exceptions = re.findall(r"^\w*(?:Error|Exception)\b.*$", written, flags=re.MULTILINE)
    return {
        "tracebacks": written.count("Traceback (most recent call last)"),
        "error_lines": len(errors),
        "samples": sorted({line[:240] for line in errors})[:10],
        "exceptions": sorted({line[:240] for line in exceptions})[:10],
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pids: dict[str, int], seconds: float = 3.0) -> dict[str, float]:
    """CPU seconds each process used in `seconds` with nobody talking to it."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(seconds)
    return {name: round(cpu_seconds(pid) - before[name], 2) for name, pid in pids.items()}
