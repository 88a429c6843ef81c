"""What the benchmarks read from /proc (Linux): process trees, memory and CPU time.

A server started as one process may serve from several (Sanic workers, a
multiprocessing resource tracker): `tree` finds them all, `memory` reads each one's
resident set (VmRSS) and proportional set (Pss: shared pages divided among the processes
sharing them, so forked workers are not counted twice), `cpu_seconds` its user and system
time. `machine_busy_seconds` is the time all CPUs spent not idle, whoever used it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    raw = (PROC / str(pid) / "stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, …


def tree(pid: int) -> list[int]:
    """`pid` and every process descended from it, parents before children."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parents.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, ValueError):
                continue  # gone meanwhile
    found, queue = [], [pid]
    while queue:
        current = queue.pop(0)
        found.append(current)
        queue.extend(sorted(parents.get(current, [])))
    return found


def listening_on(port: int) -> int | None:
    """The process with a TCP socket listening on `port` (e.g. the Redis server of a URL)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue
    return None


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def memory(pid: int) -> dict[str, float]:
    """VmRSS and Pss of one process, in MB."""
    figures = {"rss_mb": _kb(PROC / str(pid) / "status", "VmRSS:") / 1024}
    figures["pss_mb"] = _kb(PROC / str(pid) / "smaps_rollup", "Pss:") / 1024
    return {key: round(value, 1) for key, value in figures.items()}


def _kb(path: Path, label: str) -> float:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(label):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def describe(pid: int) -> str:
    """A short name of the process for tables: its command line, shortened."""
    try:
        argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [word.decode(errors="replace") for word in argv if word]
    if "-m" in words:
        words = words[words.index("-m") + 1 :]
    elif words:
        words = [Path(words[0]).name, *words[1:]]
    return " ".join(words)[:60]


def memory_of(roots: dict[str, int]) -> dict[str, Any]:
    """Memory of every process of each named tree, and each tree's totals."""
    result: dict[str, Any] = {}
    for name, root in roots.items():
        processes: list[dict[str, Any]] = []
        for pid in tree(root):
            try:
                processes.append({"pid": pid, "command": describe(pid), **memory(pid)})
            except OSError:
                continue
        result[name] = {
            "processes": processes,
            "rss_mb": round(sum(p["rss_mb"] for p in processes), 1),
            "pss_mb": round(sum(p["pss_mb"] for p in processes), 1),
        }
    return result


def cpu_of(roots: dict[str, int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far of every process of each named tree."""
    result: dict[str, dict[int, float]] = {}
    for name, root in roots.items():
        result[name] = {}
        for pid in tree(root):
            try:
                result[name][pid] = cpu_seconds(pid)
            except (OSError, ValueError):
                continue
    return result


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle (nor waiting for I/O) since boot."""
    fields = [int(value) for value in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS
