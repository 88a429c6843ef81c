"""A/B of our assistant under load: one stack per variant (environment overrides), all
started first, then measured in turn round after round at one level (bench/load.py's
measure_in_rounds, as its worker sweep).

    .venv/bin/python -m bench.ab --variant base= --variant nofreeze=ZW_GC_FREEZE=0 [--level 50]
"""

from __future__ import annotations

import argparse
import shutil

from bench.load import REDIS_URL, VAR, delete_keys, measure_in_rounds
from tools.stack import Stack
from tools.train import ensure_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", required=True, help="name=VAR=value,VAR=value")
    parser.add_argument("--level", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured per variant, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    stacks: dict[str, Stack] = {}
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        env = dict(item.split("=", 1) for item in rest.split(",") if item)
        var_dir = VAR / f"ab-{name}"
        shutil.rmtree(var_dir, ignore_errors=True)
        stacks[name] = Stack(var_dir, ensure_model(), redis_url=REDIS_URL, rasa_workers=args.workers, env=env)
    try:
        for stack in stacks.values():
            stack.start()
        results = measure_in_rounds(stacks, args.level, args.seconds, args.rounds, args.warmup, REDIS_URL, "ab-")
    finally:
        for stack in stacks.values():
            stack.stop()
            delete_keys(REDIS_URL, stack.key_prefix)
    for name, done in results.items():
        throughput = sum(r["throughput_per_s"] for r in done) / len(done)
        cpu = sum(r["cpu"]["assistant_ms_per_message"] or 0 for r in done) / len(done)
        print(f"{name:<10} mean {throughput:.1f} msg/s, CPU {cpu:.1f} ms/msg")


if __name__ == "__main__":
    main()
