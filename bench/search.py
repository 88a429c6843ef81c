"""Search benchmark: accuracy on the held-out query set, and latency over the full catalogue.

    make bench            (or: .venv/bin/python -m bench.search [--queries FILE] [--url URL])

Prints top-1/top-3 accuracy per language and p50/p95 latency, and writes them to
bench/results/search.json. The held-out queries (bench/queries/heldout.yml) were written
apart from the search data; nothing was tuned on them.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from backend.catalogue import sources

HERE = Path(__file__).parent
LATENCY_ROUNDS = 5


def expected_ids(case: dict[str, Any], local_names: dict[str, str]) -> set[str]:
    return {local_names[e[5:]] if e.startswith("name:") else e for e in case["expect"]}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(queries_path: Path) -> dict[str, Any]:
    catalogue = sources.catalogue_from_files()
    cases = yaml.safe_load(queries_path.read_text(encoding="utf-8"))["queries"]
    local_names = {i.content["name"]["zh"]: i.id for i in catalogue.items.values() if i.source == "local"}
    per_lang: dict[str, dict[str, Any]] = {}
    misses: list[dict[str, Any]] = []
    for case in cases:
        stats = per_lang.setdefault(case["lang"], {"queries": 0, "top1": 0, "top3": 0})
        want = expected_ids(case, local_names)
        got = [hit.item.id for hit in catalogue.find_services(case["q"], limit=3)]
        stats["queries"] += 1
        stats["top1"] += bool(got) and got[0] in want
        stats["top3"] += bool(set(got) & want)
        if not got or got[0] not in want:
            misses.append({"q": case["q"], "expect": sorted(want), "got": got})
    accuracy = {
        lang: {
            "queries": s["queries"],
            "top1": round(s["top1"] / s["queries"], 4),
            "top3": round(s["top3"] / s["queries"], 4),
        }
        for lang, s in sorted(per_lang.items())
    }
    # Latency: the whole answer of GET /services (search + views with office) in-process.
    region = catalogue.regions.get("510107")
    timings: list[float] = []
    for _ in range(LATENCY_ROUNDS):
        for case in cases:
            started = time.perf_counter()
            for hit in catalogue.find_services(case["q"], region, limit=10):
                catalogue.service_view(hit.item, case["lang"], region)
            timings.append((time.perf_counter() - started) * 1000)
    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "catalogue_items": len(catalogue.items),
        "queries_file": str(queries_path.relative_to(HERE.parent)),
        "accuracy": accuracy,
        "latency_ms": {
            "searches": len(timings),
            "p50": round(statistics.median(timings), 3),
            "p95": round(percentile(timings, 0.95), 3),
            "max": round(max(timings), 3),
        },
        "misses": misses,
    }


def http_latency(url: str, cases: list[dict[str, Any]]) -> dict[str, float]:
    """Latency of GET /api/v1/services on a running platform, one request at a time."""
    import requests

    timings: list[float] = []
    with requests.Session() as session:
        for case in cases:
            started = time.perf_counter()
            answer = session.get(f"{url}/api/v1/services", params={"q": case["q"], "region": "510107"}, timeout=10)
            answer.raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return {
        "requests": len(timings),
        "p50": round(statistics.median(timings), 3),
        "p95": round(percentile(timings, 0.95), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=HERE / "queries" / "heldout.yml")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "search.json")
    parser.add_argument("--url", help="also time GET /api/v1/services on this running platform")
    args = parser.parse_args()
    result = run(args.queries.resolve())
    if args.url:
        cases = yaml.safe_load(args.queries.read_text(encoding="utf-8"))["queries"]
        result["http_latency_ms"] = http_latency(args.url.rstrip("/"), cases)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"catalogue: {result['catalogue_items']} items; queries: {args.queries}")
    for lang, acc in result["accuracy"].items():
        print(f"  {lang}: {acc['queries']} queries  top-1 {acc['top1']:.1%}  top-3 {acc['top3']:.1%}")
    lat = result["latency_ms"]
    print(f"  latency over {lat['searches']} searches: p50 {lat['p50']} ms  p95 {lat['p95']} ms  max {lat['max']} ms")
    if "http_latency_ms" in result:
        http = result["http_latency_ms"]
        print(f"  over HTTP, {http['requests']} requests: p50 {http['p50']} ms  p95 {http['p95']} ms")
    print(f"  misses: {len(result['misses'])} (listed in {args.out})")


if __name__ == "__main__":
    main()
