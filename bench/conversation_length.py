"""Does a turn get slower as a conversation grows? Ours against the stock `rasa init`
assistant, side by side in one run on this machine, for each tracker store.

    .venv/bin/python -m bench.conversation_length [--messages 1000] [--stock-messages 300]
        [--stores redis,sqlite,postgresql] [--stock-stores memory,redis,sqlite,postgresql]

One conversation (one sender id, as a WeChat follower keeps for years), messages sent one
after another over REST, each as soon as the last was answered; the latency of every
message. Reported: the median latency of messages 1–20, 100–120, 281–300 (and for ours
981–1000), and the ratio of the late medians to the first.

- ours: platform, action server and Rasa (tools/stack.py), conversations through the
  redacting, windowed store (bot/stores/windowed.py) in Redis, SQLite or PostgreSQL;
  messages cycle through a realistic mix (greetings, searches with regions, questions
  about a service, a problem report opened and cancelled, zh and en), so forms open and
  close and slots change all along;
- stock: `rasa init`'s project (bench/stock.py) with Rasa's own stores — in memory,
  Redis, SQL — and its own messages (greet, mood, goodbye).

The issue's bar: ours, median of 281–300 at most 1.2 × that of 1–20, with Redis and the
SQL stores, and at 1,000 messages too. Writes bench/results/conversation_length.json and
the table as bench/results/conversation_length.md.
"""

from __future__ import annotations

import argparse
import json
import platform as host
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from bench.stock import CONVERSATIONS as STOCK_CONVERSATIONS
from bench.stock import StockAssistant
from bench.stock import write_endpoints as stock_endpoints
from tools.stack import Stack
from tools.train import ensure_model

HERE = Path(__file__).parent
REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_SERVER = "postgresql://127.0.0.1:5432"
BENCH_DATABASE = "zhengwu_bench"  # created if missing, emptied before each run
OURS = [
    "你好",
    "我想办护照",
    "成都武侯区",
    "要带什么材料",
    "能网上办吗",
    "hello",
    "how do I renew my ID card",
    "Haidian, Beijing",
    "how long does it take",
    "我要投诉",
    "小区门口的路灯坏了一个星期了",
    "取消",
    "社保卡怎么补办",
    "广安区",
    "要多久",
    "what about a business licence",
    "Wuhou, Chengdu",
    "是否收费",
    "可以网上办理吗",
    "谢谢",
]
# 20 messages in each cycle, so that messages 1-20, 281-300 and 981-1000 are the same 20
# messages: a span's median compares like with like.
STOCK = ([message for conversation in STOCK_CONVERSATIONS for message in conversation] * 2)[:20]
SPANS = [(1, 20), (100, 120), (281, 300), (981, 1000)]
assert len(OURS) == len(STOCK) == 20


def play(say: Callable[[str, str], list[dict[str, Any]]], messages: list[str], count: int) -> list[float]:
    """Seconds for each of `count` messages of one conversation."""
    sender = "long-" + uuid.uuid4().hex[:10]
    latencies = []
    for number in range(count):
        text = messages[number % len(messages)]
        start = time.perf_counter()
        answers = say(sender, text)
        latencies.append(time.perf_counter() - start)
        if not answers:
            raise RuntimeError(f"no answer to message {number + 1} ({text!r})")
    return latencies


def spans(latencies: list[float]) -> dict[str, float]:
    medians = {}
    for first, last in SPANS:
        if len(latencies) >= last:
            medians[f"{first}-{last}"] = round(statistics.median(latencies[first - 1 : last]) * 1000, 1)
    return medians


def fresh_postgres_database() -> str:
    """postgresql://…/zhengwu_bench, created if needed, without tables."""
    server = sa.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        query = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
        exists = connection.execute(query, {"name": BENCH_DATABASE})
        if exists.first() is None:
            connection.execute(sa.text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    server.dispose()
    url = f"{POSTGRES_SERVER}/{BENCH_DATABASE}"
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()
    return url


def run_ours(store: str, count: int, var_dir: Path) -> list[float]:
    options: dict[str, Any] = {"env": {"ZW_RATE_LIMIT_PER_MINUTE": "0"}}
    if store == "redis":
        options["redis_url"] = REDIS_URL
    elif store == "postgresql":
        options["tracker_url"] = fresh_postgres_database()
    stack = Stack(var_dir, ensure_model(), **options)
    with stack:
        try:
            return play(stack.say, OURS, count)
        finally:
            if store == "redis":
                client = redis.Redis.from_url(REDIS_URL)
                for key in client.scan_iter(stack.key_prefix + "*"):
                    client.delete(key)


def run_stock(store: str, count: int, var_dir: Path) -> list[float]:
    prefix = "stock" + uuid.uuid4().hex[:8]
    endpoints = None
    if store == "redis":
        endpoints = stock_endpoints(var_dir / "endpoints.yml", redis_url=REDIS_URL, key_prefix=prefix)
    elif store == "sqlite":
        endpoints = stock_endpoints(var_dir / "endpoints.yml", sql_url=f"sqlite:///{var_dir / 'tracker.db'}")
    elif store == "postgresql":
        endpoints = stock_endpoints(var_dir / "endpoints.yml", sql_url=fresh_postgres_database())
    with StockAssistant(var_dir, endpoints) as stock:
        try:
            return play(stock.say, STOCK, count)
        finally:
            if store == "redis":
                client = redis.Redis.from_url(REDIS_URL)
                for key in client.scan_iter(prefix + "*"):
                    client.delete(key)


def table(rows: list[dict[str, Any]]) -> str:
    columns = [f"{first}-{last}" for first, last in SPANS]
    lines = [
        "| assistant | tracker store | " + " | ".join(f"messages {c}" for c in columns) + " | 281-300 / 1-20 |",
        "|---|---|" + "---|" * (len(columns) + 1),
    ]
    for row in rows:
        cells = [f"{row['medians_ms'][c]:,.0f} ms" if c in row["medians_ms"] else "" for c in columns]
        ratio = f"{row['ratio_300']:.2f}" if row["ratio_300"] is not None else ""
        lines.append(f"| {row['assistant']} | {row['store']} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000, help="messages in our conversation")
    parser.add_argument("--stock-messages", type=int, default=300, help="messages in the stock assistant's")
    parser.add_argument("--stores", default="redis,sqlite,postgresql")
    parser.add_argument("--stock-stores", default="memory,redis,sqlite,postgresql")
    args = parser.parse_args()

    rows = []
    runs = [("ours", store) for store in args.stores.split(",") if store]
    runs += [("stock", store) for store in args.stock_stores.split(",") if store]
    for assistant, store in runs:
        with tempfile.TemporaryDirectory(prefix=f"zw-length-{assistant}-") as tmp:
            started = time.monotonic()
            if assistant == "ours":
                latencies = run_ours(store, args.messages, Path(tmp))
            else:
                latencies = run_stock(store, args.stock_messages, Path(tmp))
        medians = spans(latencies)
        row = {
            "assistant": assistant,
            "store": store,
            "messages": len(latencies),
            "medians_ms": medians,
            "ratio_300": round(medians["281-300"] / medians["1-20"], 2) if "281-300" in medians else None,
            "ratio_1000": round(medians["981-1000"] / medians["1-20"], 2) if "981-1000" in medians else None,
            "seconds": round(time.monotonic() - started, 1),
            "latencies_ms": [round(seconds * 1000, 1) for seconds in latencies],
        }
        rows.append(row)
        late = ", ".join(f"{span}: {ms:,.0f} ms" for span, ms in medians.items())
        print(f"{assistant:5} {store:10} {late}  (281-300 / 1-20: {row['ratio_300']})", flush=True)

    markdown = table(rows)
    print()
    print(markdown)
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": host.processor() or host.machine(), "python": host.python_version()},
        "bar": "ours: median(281-300) <= 1.2 x median(1-20), and median(981-1000) too",
        "rows": rows,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "conversation_length.json").write_text(json.dumps(result, indent=1) + "\n")
    (HERE / "results" / "conversation_length.md").write_text(markdown)


if __name__ == "__main__":
    main()
