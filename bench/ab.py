"""A/B of our assistant under load: one stack per variant (environment overrides), all
started first, then measured in turn round after round at one level.

    .venv/bin/python -m bench.ab --variant base= --variant nofreeze=ZW_GC_FREEZE=0 [--level 50]
"""

from __future__ import annotations

import argparse
import shutil

from bench.citizens import Citizens
from bench.load import REDIS_URL, VAR, delete_keys, eligibility_questions, ours_roots, run_level
from tools.stack import Stack
from tools.train import ensure_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", required=True, help="name=VAR=value,VAR=value")
    parser.add_argument("--level", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    stacks: dict[str, Stack] = {}
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        env = dict(item.split("=", 1) for item in rest.split(",") if item)
        var_dir = VAR / f"ab-{name}"
        shutil.rmtree(var_dir, ignore_errors=True)
        stacks[name] = Stack(var_dir, ensure_model(), redis_url=REDIS_URL, rasa_workers=args.workers, env=env)
    results: dict[str, list[dict]] = {name: [] for name in stacks}
    try:
        for stack in stacks.values():
            stack.start()
        citizens = {name: Citizens(eligibility_questions(stack)) for name, stack in stacks.items()}
        for name, stack in stacks.items():
            run_level(stack.rasa_url, 10, 10, citizens[name].conversation, f"{name}-warm", {})
        names = list(stacks)
        for number in range(args.rounds):
            for name in names[number % len(names) :] + names[: number % len(names)]:
                stack = stacks[name]
                result = run_level(
                    stack.rasa_url, args.level, args.seconds, citizens[name].conversation, name, ours_roots(stack)
                )
                results[name].append(result)
                cpu = result["cpu"]
                print(
                    f"{name:<10} round {number}: {result['throughput_per_s']} msg/s p95 {result['p95_ms']} ms "
                    f"CPU {cpu['assistant_ms_per_message']} ms/msg {cpu['cpu_ms_per_message']} "
                    f"others {cpu['others_s']} s errors {result['errors']}",
                    flush=True,
                )
    finally:
        for stack in stacks.values():
            stack.stop()
            delete_keys(REDIS_URL, stack.key_prefix)
    for name, done in results.items():
        tp = sum(r["throughput_per_s"] for r in done) / len(done)
        cpu = sum(r["cpu"]["assistant_ms_per_message"] for r in done) / len(done)
        print(f"{name:<10} mean {tp:.1f} msg/s, CPU {cpu:.1f} ms/msg")


if __name__ == "__main__":
    main()
