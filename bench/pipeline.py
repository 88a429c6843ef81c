"""Where a message's time goes inside the Rasa server: every node of the trained graph
(tokenizer, entity extractors, featurizers, classifiers, policies, …) timed on real
conversations, and what remains of a turn (tracker store, action server, platform).

    .venv/bin/python -m bench.pipeline [--rounds 3]

Loads the current model in this process (Rasa's Agent), with the action server and the
platform of a real stack (tools/stack.py) and the same redacting tracker store over
SQLite, then plays the conversations below `--rounds` times after one warm-up round. A
hook on each graph node measures the CPU time it takes (time.thread_time: what the node
costs, not what it waits for). The rest of each turn is wall time measured around
`handle_message`, split into the graph's share and everything else. Writes
bench/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform as host
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import structlog
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import load_agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.utils import AvailableEndpoints
from rasa.engine.graph import ExecutionContext, GraphNodeHook

from tools.stack import Stack, write_endpoints
from tools.train import ensure_model

HERE = Path(__file__).parent

CONVERSATIONS = [
    ["你好", "我想开个面馆", "成都武侯区", "要带什么材料", "能网上办吗", "谢谢"],
    ["hello", "how do I apply for a passport", "I live in Haidian, Beijing", "what documents do I need", "thanks"],
    ["我要投诉", "小区门口的路灯坏了一个星期了", "成都市锦江区春熙路", "取消"],
    ["我的申请办到哪一步了", "不查了", "社保卡怎么补办", "广安区", "bye"],
]


class NodeTimer(GraphNodeHook):
    """CPU seconds per graph node, for the turns being measured."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.recording = False

    def on_before_node(
        self, node_name: str, execution_context: ExecutionContext, config: dict[str, Any], received_inputs: Any
    ) -> dict:
        return {"start": time.thread_time()}

    def on_after_node(
        self,
        node_name: str,
        execution_context: ExecutionContext,
        config: dict[str, Any],
        output: Any,
        input_hook_data: dict,
    ) -> None:
        if self.recording:
            self.seconds[node_name].append(time.thread_time() - input_hook_data["start"])


class Stopwatch:
    """Wall seconds spent inside some async methods (the store's, the action server calls)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.recording = False

    def wrap(self, owner: Any, method: str, label: str) -> None:
        original = getattr(owner, method)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                if self.recording:
                    self.seconds[label] += time.perf_counter() - start

        setattr(owner, method, timed)


async def play(agent: Any, timer: NodeTimer, rounds: int, stopwatch: Stopwatch) -> tuple[list[float], int]:
    turns: list[float] = []
    for round_number in range(rounds + 1):
        timer.recording = stopwatch.recording = round_number > 0
        for conversation in CONVERSATIONS:
            sender = f"pipeline-{uuid.uuid4().hex[:8]}"
            for text in conversation:
                output = CollectingOutputChannel()
                start = time.perf_counter()
                await agent.handle_message(UserMessage(text, output, sender, input_channel="rest"))
                if timer.recording:
                    turns.append(time.perf_counter() - start)
                assert output.messages, f"no answer to {text!r}"
    return turns, rounds * sum(len(c) for c in CONVERSATIONS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = ensure_model()
    logging.getLogger().setLevel(logging.WARNING)  # as `rasa run` logs by default
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="zw-pipeline-") as tmp, Stack(Path(tmp), model) as stack:
        action_port = int(stack.processes["actions"].url.rsplit(":", 1)[1])
        endpoints = AvailableEndpoints.read_endpoints(str(write_endpoints(Path(tmp), action_port)))
        agent = asyncio.run(_load(str(model), endpoints))
        timer = NodeTimer()
        runner = agent.processor.graph_runner
        for node in runner._instantiated_nodes.values():
            node._hooks.append(timer)
        stopwatch = Stopwatch()
        store = agent.tracker_store
        for method in ("retrieve", "save"):
            stopwatch.wrap(store, method, f"tracker store {method}")
        stopwatch.wrap(RemoteAction, "run", "action server (actions and their platform calls)")
        turns, messages = asyncio.run(play(agent, timer, args.rounds, stopwatch))

    per_message = {name: sum(values) / messages * 1000 for name, values in timer.seconds.items()}
    graph_ms = sum(per_message.values())
    turn_ms = statistics.mean(turns) * 1000
    nodes = sorted(per_message.items(), key=lambda item: -item[1])
    print(
        f"{messages} messages; a turn takes {turn_ms:.1f} ms on average (wall), of which graph nodes {graph_ms:.1f} ms"
    )
    print(f"{'node':62} {'ms/message':>10} {'calls/msg':>9}")
    for name, ms in nodes:
        if ms >= 0.05:
            print(f"{name[:62]:62} {ms:10.2f} {len(timer.seconds[name]) / messages:9.1f}")
    outside = {label: seconds / messages * 1000 for label, seconds in stopwatch.seconds.items()}
    for label, ms in outside.items():
        print(f"{label[:62]:62} {ms:10.2f}  (wall)")
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": host.processor() or host.machine(), "python": host.python_version()},
        "model": model.name,
        "messages": messages,
        "turn_ms_mean": round(turn_ms, 2),
        "turn_ms_p50": round(statistics.median(turns) * 1000, 2),
        "graph_ms_per_message": round(graph_ms, 2),
        "outside_graph_ms_per_message": round(turn_ms - graph_ms, 2),
        "nodes_ms_per_message": {name: round(ms, 3) for name, ms in nodes},
        "outside_graph_wall_ms_per_message": {label: round(ms, 2) for label, ms in outside.items()},
        "calls_per_message": {name: round(len(timer.seconds[name]) / messages, 2) for name, _ in nodes},
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "pipeline.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


async def _load(model: str, endpoints: AvailableEndpoints) -> Any:
    return await load_agent(model_path=model, endpoints=endpoints)


if __name__ == "__main__":
    main()
