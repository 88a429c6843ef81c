"""Where a long conversation's time goes: cProfile of 20 messages after `--messages` of
one conversation, in this process (Rasa's Agent), for the stock `rasa init` assistant
(its in-memory store) or ours (the redacting, windowed store over SQLite, with the
action server and platform of a real stack).

    .venv/bin/python -m bench.profile_turns --assistant stock --messages 200
    .venv/bin/python -m bench.profile_turns --assistant ours --messages 200

Prints the functions with the most cumulative time and writes them to
bench/results/profile-<assistant>.txt. A profiler slows everything about twice; what
matters is the share of each part.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog
from rasa.core.agent import load_agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.utils import AvailableEndpoints

from bench.conversation_length import OURS, STOCK
from bench.stock import stock_model
from tools.stack import Stack, write_endpoints
from tools.train import ensure_model

HERE = Path(__file__).parent


async def profile(model: Path, endpoints: AvailableEndpoints | None, messages: list[str], before: int) -> str:
    agent = await load_agent(model_path=str(model), endpoints=endpoints)

    async def say(number: int) -> None:
        output = CollectingOutputChannel()
        await agent.handle_message(UserMessage(messages[number % len(messages)], output, "long"))

    start = time.perf_counter()
    for number in range(before):
        await say(number)
    print(f"{before} messages in {time.perf_counter() - start:.1f} s")
    profiler = cProfile.Profile()
    profiler.enable()
    for number in range(before, before + 20):
        await say(number)
    profiler.disable()
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(45)
    return report.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assistant", choices=["stock", "ours"], default="stock")
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.assistant == "stock":
        report = asyncio.run(profile(stock_model(), None, STOCK, args.messages))
    else:
        model = ensure_model()
        with (
            tempfile.TemporaryDirectory(prefix="zw-profile-") as tmp,
            Stack(Path(tmp), model, env={"ZW_RATE_LIMIT_PER_MINUTE": "0"}) as stack,
        ):
            port = int(stack.processes["actions"].url.rsplit(":", 1)[1])
            endpoints: Any = AvailableEndpoints.read_endpoints(str(write_endpoints(Path(tmp), port)))
            report = asyncio.run(profile(model, endpoints, OURS, args.messages))
    print(report)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"profile-{args.assistant}.txt").write_text(report)


if __name__ == "__main__":
    main()
