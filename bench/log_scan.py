"""What the processes' logs said during a stretch of time: tracebacks and ERROR lines.

`LogWatch.mark()` notes how far each log file of a directory has been written; `since()`
reads what was written after, in every log, including a file renamed since (found by its
inode) and files new since. Lines are reduced to a shape (numbers, ports and ids made
`N`) so that the same failure from many conversations is counted as one kind.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

NUMBERS = re.compile(r"\d+")
HEX_IDS = re.compile(r"\b[0-9a-f]{8,}\b")
ERROR_LINE = re.compile(r"\bERROR\b\s*(.*)")
CHAINED = ("During handling", "The above exception")


def shape(line: str) -> str:
    """The line with what varies from one occurrence to the next replaced by N."""
    return NUMBERS.sub("N", HEX_IDS.sub("N", line.strip()))[:200]


@dataclass
class LogReport:
    tracebacks: Counter[str] = field(default_factory=Counter)
    """Per kind (the exception line that ends the traceback): how many."""
    errors: Counter[str] = field(default_factory=Counter)
    """ERROR lines (logger and message) per kind."""
    tracebacks_per_file: Counter[str] = field(default_factory=Counter)

    def as_dict(self, top: int = 12) -> dict[str, object]:
        return {
            "tracebacks": sum(self.tracebacks.values()),
            "tracebacks_per_log": dict(self.tracebacks_per_file),
            "traceback_kinds": dict(self.tracebacks.most_common(top)),
            "error_lines": sum(self.errors.values()),
            "error_kinds": dict(self.errors.most_common(top)),
        }


def read_log(text: str, name: str, report: LogReport) -> None:
    """Counts each traceback once, by the exception that ends it (the last of a chain)."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("Traceback (most recent call last)"):
            index += 1
            # Frames are indented; the exception line is the first that is not.
            while index < len(lines) and (not lines[index].strip() or lines[index][:1].isspace()):
                index += 1
            if index >= len(lines):
                report.tracebacks["(traceback cut off)"] += 1
                report.tracebacks_per_file[name] += 1
                break
            following = next((later for later in lines[index + 1 :] if later.strip()), "")
            if not following.startswith(CHAINED):
                report.tracebacks[shape(lines[index])] += 1
                report.tracebacks_per_file[name] += 1
            index += 1
            continue
        found = ERROR_LINE.search(line)
        if found:
            report.errors[shape(found.group(1))] += 1
        index += 1


class LogWatch:
    def __init__(self, directory: Path, pattern: str = "*.log*") -> None:
        self.directory = directory
        self.pattern = pattern
        self._marks: dict[int, int] = {}

    def mark(self) -> None:
        self._marks = {path.stat().st_ino: path.stat().st_size for path in self.directory.glob(self.pattern)}

    def since(self) -> LogReport:
        report = LogReport()
        for path in sorted(self.directory.glob(self.pattern)):
            start = self._marks.get(path.stat().st_ino, 0)
            with path.open("rb") as log:
                log.seek(start)
                text = log.read().decode("utf-8", errors="replace")
            read_log(text, path.name.split(".")[0], report)
        return report
