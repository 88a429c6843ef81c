"""Problem-report benchmark: category, request type and emergencies on a held-out set.

    make bench            (or: .venv/bin/python -m bench.complaints [--reports FILE])

Prints, per language, the share of reports whose category (and request type) the
classifier gets right, emergency recall (emergencies answered with the right number) and
false emergencies (ordinary reports taken for emergencies), and the time per message;
writes them to bench/results/complaints.json. The held-out reports
(bench/queries/complaints.yml) were written from the contract alone, apart from and
before the classifier's cues (data/complaints/); nothing was tuned on them.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from backend.complaints.classify import classify
from backend.complaints.emergency import emergency_number
from bench.search import percentile

HERE = Path(__file__).parent
BAR = 0.9
COUNTS = ("reports", "category", "request_type", "emergencies", "emergencies_right", "false_emergencies")


def run(reports_path: Path) -> dict[str, Any]:
    reports = yaml.safe_load(reports_path.read_text(encoding="utf-8"))["reports"]
    per_lang: dict[str, dict[str, int]] = {}
    misses: list[dict[str, Any]] = []
    timings: list[float] = []
    for report in reports:
        stats = per_lang.setdefault(
            report["lang"],
            {
                "reports": 0,
                "category": 0,
                "request_type": 0,
                "emergencies": 0,
                "emergencies_right": 0,
                "false_emergencies": 0,
            },
        )
        started = time.perf_counter()
        number = emergency_number(report["text"])
        found = classify(report["text"])
        timings.append((time.perf_counter() - started) * 1000)
        if "emergency" in report:
            stats["emergencies"] += 1
            stats["emergencies_right"] += number == report["emergency"]
            if number != report["emergency"]:
                misses.append({"text": report["text"], "expect": f"emergency {report['emergency']}", "got": number})
            continue
        stats["reports"] += 1
        stats["false_emergencies"] += number is not None
        stats["category"] += found.category == report["category"]
        stats["request_type"] += found.request_type == report["request_type"]
        if found.category != report["category"] or number is not None:
            got = f"emergency {number}" if number else found.category
            misses.append({"text": report["text"], "expect": report["category"], "got": got})
    accuracy = {
        lang: {
            "reports": s["reports"],
            "category": round(s["category"] / s["reports"], 4),
            "request_type": round(s["request_type"] / s["reports"], 4),
            "emergencies": s["emergencies"],
            "emergency_recall": round(s["emergencies_right"] / s["emergencies"], 4) if s["emergencies"] else None,
            "false_emergencies": s["false_emergencies"],
        }
        for lang, s in sorted(per_lang.items())
    }
    return {
        "accuracy": accuracy,
        "bar": BAR,
        "latency_ms": {"p50": round(percentile(timings, 0.5), 3), "p95": round(percentile(timings, 0.95), 3)},
        "misses": misses,
        "measured": {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=HERE / "queries" / "complaints.yml")
    args = parser.parse_args()
    results = run(args.reports)
    for lang, figures in results["accuracy"].items():
        verdict = "meets" if figures["category"] >= BAR else "BELOW"
        print(
            f"{lang}: {figures['reports']} reports  category {figures['category']:.1%} ({verdict} the {BAR:.0%} bar)  "
            f"request type {figures['request_type']:.1%}  emergencies {figures['emergencies']} "
            f"recall {figures['emergency_recall']:.1%}  false emergencies {figures['false_emergencies']}"
        )
    latency = results["latency_ms"]
    print(f"classification: p50 {latency['p50']} ms  p95 {latency['p95']} ms per message")
    out = HERE / "results" / "complaints.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"misses: {len(results['misses'])}; written to {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
