"""Assistant benchmark over REST: first answers, offices, latency, NLU cross-validation, training.

    make bench   (or: .venv/bin/python -m bench.assistant [--skip-cv] [--skip-training])

Starts platform, action server and Rasa server (tools/stack.py) on the current model and
sends every held-out first message of bench/queries/assistant.yml as a new conversation:

- top-1: the first answer is a `service_card` with a right id;
- top-3: a right id is on the card or among the `service_candidates` of that answer;
- office: for messages naming a region, the first answer is a card with a right id and
  the office the platform resolves for that item in that region (same region code and
  department); office_of_card: the same for whatever item the card shows, i.e. whether
  the region was understood and carried to the office.

Then message latency p50/p95 with 1 and with 10 conversations at once, 5-fold intent
cross-validation F1 per language (models trained on the folds, never on the held-out
set), and the time `rasa train` takes from scratch. Writes bench/results/assistant.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
import yaml

from backend.catalogue import sources
from bench.search import expected_ids, percentile
from tools.stack import ROOT, Stack
from tools.train import ensure_model

HERE = Path(__file__).parent
FOLLOW_UPS = {
    "zh": ["要带什么材料", "收费吗", "多久能办好", "谢谢"],
    "en": ["what documents do I need", "is there a fee", "how long does it take", "thanks"],
}
CJK = re.compile(r"[\u3400-\u9fff]")


def first_answers(stack: Stack, cases: list[dict[str, Any]], local_names: dict[str, str]) -> dict[str, Any]:
    platform_url = stack.processes["platform"].url
    per_lang: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    latencies: list[float] = []
    misses: list[dict[str, Any]] = []
    for number, case in enumerate(cases):
        want = expected_ids(case, local_names)
        started = time.perf_counter()
        answers = stack.say(f"bench-first-{number}", case["text"])
        latencies.append(time.perf_counter() - started)
        customs = [a["custom"] for a in answers if isinstance(a.get("custom"), dict)]
        card = next((c for c in customs if c.get("type") == "service_card"), None)
        first = customs[0] if customs else None
        offered = {c["id"] for c in customs if c.get("type") == "service_candidates" for c in c["candidates"]}
        stats = per_lang[case["lang"]]
        stats["messages"] += 1
        top1 = first is not None and first.get("type") == "service_card" and first["service"]["id"] in want
        stats["top1"] += top1
        stats["top3"] += bool(({card["service"]["id"]} if card else set()) | offered) and bool(
            (({card["service"]["id"]} if card else set()) | offered) & want
        )
        if case.get("region"):
            stats["with_region"] += 1
            office_ok = (
                first is not None and first.get("type") == "service_card" and _office_matches(platform_url, first, case)
            )
            stats["office"] += top1 and office_ok
            stats["with_region_card"] += first is not None and first.get("type") == "service_card"
            stats["office_of_card"] += office_ok
            if top1 and not office_ok:
                misses.append({"text": case["text"], "region": case["region"], "office": card and card["office"]})
        if not top1:
            misses.append(
                {
                    "text": case["text"],
                    "expect": sorted(want),
                    "got": first
                    and (
                        first.get("service", {}).get("id")
                        or [c["id"] for c in first.get("candidates", [])]
                        or first.get("type")
                    ),
                    "answer": None if first else answers[0].get("text", "")[:60] if answers else None,
                }
            )
    accuracy = {
        lang: {
            "messages": s["messages"],
            "top1": round(s["top1"] / s["messages"], 4),
            "top3": round(s["top3"] / s["messages"], 4),
            "with_region": s["with_region"],
            "office": round(s["office"] / s["with_region"], 4) if s["with_region"] else None,
            "office_of_card": round(s["office_of_card"] / s["with_region_card"], 4) if s["with_region_card"] else None,
        }
        for lang, s in sorted(per_lang.items())
    }
    return {"accuracy": accuracy, "latency_1": _latency(latencies), "misses": misses}


def _office_matches(platform_url: str, card: dict[str, Any], case: dict[str, Any]) -> bool:
    office = card.get("office")
    if not office:
        return False
    expected = requests.get(
        f"{platform_url}/api/v1/services/{card['service']['id']}",
        params={"region": case["region"], "lang": case["lang"]},
        timeout=10,
    ).json()["office"]
    return bool(expected) and (office["region_code"], office["department"]) == (
        expected["region_code"],
        expected["department"],
    )


def concurrent_latency(stack: Stack, cases: list[dict[str, Any]], conversations: int = 10) -> dict[str, Any]:
    """`conversations` at once, each a first message then four follow-ups."""
    chosen = random.Random(7).sample(cases, min(len(cases), conversations * 6))
    latencies: list[float] = []

    def converse(index: int, case: dict[str, Any]) -> list[float]:
        timings = []
        for message in [case["text"], *FOLLOW_UPS[case["lang"]]]:
            started = time.perf_counter()
            answers = stack.say(f"bench-load-{index}", message, timeout=60)
            timings.append(time.perf_counter() - started)
            if not answers:
                raise RuntimeError(f"no answer to {message!r}")
        return timings

    started = time.perf_counter()
    with ThreadPoolExecutor(conversations) as pool:
        for timings in pool.map(converse, range(len(chosen)), chosen):
            latencies.extend(timings)
    elapsed = time.perf_counter() - started
    return {
        **_latency(latencies),
        "conversations_at_once": conversations,
        "messages_per_s": round(len(latencies) / elapsed, 1),
    }


def _latency(values: list[float]) -> dict[str, Any]:
    return {
        "messages": len(values),
        "p50_ms": round(percentile(values, 0.5) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
    }


def cross_validation(folds: int = 5, config: Path = ROOT / "config.yml") -> dict[str, Any]:
    """Intent F1 per language over `folds` stratified folds of data/nlu."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    data = load_data(str(ROOT / "data" / "nlu"))
    examples = [e for e in data.training_examples if e.get("text")]
    labels = [e.get("intent") for e in examples]
    truth: dict[str, list[str]] = defaultdict(list)
    predicted: dict[str, list[str]] = defaultdict(list)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=42)
    with tempfile.TemporaryDirectory() as work:
        for fold, (train_index, test_index) in enumerate(splitter.split(examples, labels)):
            fold_dir = Path(work) / f"fold{fold}"
            fold_dir.mkdir()
            train = TrainingData([examples[i] for i in train_index])
            (fold_dir / "nlu.yml").write_text(RasaYAMLWriter().dumps(train), encoding="utf-8")
            model = _train_nlu(fold_dir, config)
            texts = [examples[i].get("text") for i in test_index]
            for index, intent in zip(test_index, _parse(model, texts), strict=True):
                lang = "zh" if CJK.search(examples[index].get("text")) else "en"
                truth[lang].append(labels[index])
                predicted[lang].append(intent)
    return {
        lang: {
            "examples": len(truth[lang]),
            "f1_macro": round(float(f1_score(truth[lang], predicted[lang], average="macro")), 4),
            "f1_weighted": round(float(f1_score(truth[lang], predicted[lang], average="weighted")), 4),
            "f1_by_intent": {
                intent: round(float(score), 3)
                for intent, score in zip(
                    sorted(set(truth[lang])),
                    f1_score(truth[lang], predicted[lang], labels=sorted(set(truth[lang])), average=None),
                    strict=True,
                )
            },
        }
        for lang in sorted(truth)
    }


def _train_nlu(fold_dir: Path, config: Path) -> Path:
    command = [sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config)]
    command += ["--nlu", str(fold_dir / "nlu.yml"), "--out", str(fold_dir), "--fixed-model-name", "nlu"]
    subprocess.run(
        command, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    )
    return fold_dir / "nlu.tar.gz"


def _parse(model: Path, texts: list[str]) -> list[str]:
    import asyncio
    import logging

    from rasa.core.agent import load_agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # parsing in-process would log every text at debug level
    agent = asyncio.run(load_agent(str(model)))
    return [asyncio.run(agent.parse_message(text))["intent"]["name"] for text in texts]


def training_time() -> float:
    """Seconds `rasa train` takes with an empty cache, into a throw-away directory."""
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "RASA_CACHE_DIRECTORY": str(Path(work) / "cache")}
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "rasa", "train", "--out", work, "--force"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env=env,
        )
        return round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=Path, default=HERE / "queries" / "assistant.yml")
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    args.messages = args.messages.resolve()
    catalogue = sources.catalogue_from_files()
    local_names = {i.content["name"]["zh"]: i.id for i in catalogue.items.values() if i.source == "local"}
    loaded = yaml.safe_load(args.messages.read_text(encoding="utf-8"))
    # the search sets (tests/data/search_dev.yml) serve as development sets: 'q' is the text
    cases = [{"text": case.get("text") or case["q"], **case} for case in loaded.get("messages") or loaded["queries"]]
    with tempfile.TemporaryDirectory() as work, Stack(Path(work), ensure_model()) as stack:
        result: dict[str, Any] = first_answers(stack, cases, local_names)
        result["latency_10"] = concurrent_latency(stack, cases)
    if not args.skip_cv:
        result["intent_cv"] = cross_validation()
    if not args.skip_training:
        result["training_seconds"] = training_time()
    result["measured"] = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}",
        "messages_file": str(args.messages.relative_to(ROOT)),
    }
    out = (
        HERE
        / "results"
        / ("assistant.json" if args.messages.parent == HERE / "queries" else f"assistant-{args.messages.stem}.json")
    )
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for lang, acc in result["accuracy"].items():
        print(
            f"{lang}: {acc['messages']} first messages  top-1 {acc['top1']:.1%}  top-3 {acc['top3']:.1%}  "
            + (
                f"office {acc['office']:.1%} of {acc['with_region']} naming a region "
                f"(office of the card shown {acc['office_of_card']:.1%})"
                if acc["office"] is not None
                else ""
            )
        )
    for key in ("latency_1", "latency_10"):
        lat = result[key]
        print(f"{key}: p50 {lat['p50_ms']} ms  p95 {lat['p95_ms']} ms over {lat['messages']} messages")
    for lang, cv in result.get("intent_cv", {}).items():
        scores = f"F1 macro {cv['f1_macro']:.3f}  weighted {cv['f1_weighted']:.3f}"
        print(f"intent CV {lang}: {scores} ({cv['examples']} examples)")
    if "training_seconds" in result:
        print(f"training from scratch: {result['training_seconds']} s")
    print(f"misses: {len(result['misses'])}; written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
