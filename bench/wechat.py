"""WeChat channel benchmark: how many answers make WeChat's reply window under load.

    .venv/bin/python -m bench.wechat [--users 20] [--safe] [--think 1.0]

Starts platform, action server and Rasa server (tools/stack.py) on the current model,
Rasa with the WeChat channel on (/webhooks/wechat, the default 4.5 s reply window) and
WECHAT_API_BASE pointing at a fake of Tencent's API server (tests/fake_wechat.py) that
notes when each custom/send arrives. Then simulated WeChat users, each in a thread of
its own, hold a short conversation (5 messages, zh and en, services, a region, a
complaint), each message a signed XML push with a unique MsgId, as WeChat sends them
(plain mode, or safe mode with --safe). Once with 1 user (baseline), once with --users.

Passive is counted by the reply's kind; the channel's window starts when its handler
runs, so a push queued in Rasa first can be answered passively after more than 4.5 s:
within_window counts passive replies whose round trip was <= 4.5 s, over_5s the pushes
WeChat (which gives up at 5 s and retries) would not have waited for.

Per message: the round trip of the push; whether the answer was passive (an XML reply
with content, i.e. within the window) or `success` (late: then the time from the push
to the custom/send of its answer). The issue's bar: the share of passive replies at 20
concurrent users. Writes bench/results/wechat.json.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import platform as host
import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.search import percentile
from tests.fake_wechat import FakeWeChatApi, Pusher
from tools.stack import ROOT, Command, Process, Stack
from tools.train import ensure_model

HERE = Path(__file__).parent
RUN = uuid.uuid4().hex[:8]  # Redis outlives a run: openids and MsgIds are this run's own
TOKEN = "zhengwu-bench-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode()[:43]
APP_ID = f"wx{RUN}bench000"[:18]
SECRET = "zhengwu-bench-secret"
SEND = "/cgi-bin/message/custom/send"
WINDOW = 4.5  # the channel's default reply window, s
WECHAT_TIMEOUT = 5.0  # WeChat drops a push not answered within this and retries it
LATE_WAIT = 30.0  # seconds a late answer may take before it counts as lost

CONVERSATIONS = [
    ["你好", "怎么办护照", "要带什么材料", "成都武侯区", "谢谢"],
    ["how do I get a social security card", "what documents do I need", "is there a fee", "thanks"],
    ["我要投诉 小区路灯坏了", "成都武侯区", "谢谢"],
    ["身份证丢了怎么补办", "成都武侯区", "多久能办好", "收费吗", "谢谢"],
    ["hello", "how do I renew my passport", "how long does it take", "thanks"],
    ["营业执照怎么办理", "成都高新区", "要带什么材料", "谢谢"],
    ["我要投诉 楼下餐馆油烟太大", "成都锦江区", "谢谢"],
    ["how do I apply for a business license", "Chengdu Wuhou district", "is there a fee", "thanks"],
    ["结婚登记需要什么", "成都青羊区", "要带什么材料", "收费吗", "谢谢"],
    ["社保卡怎么办", "多久能办好", "成都武侯区", "谢谢"],
]
MESSAGES_PER_USER = 5


class TimedWeChatApi(FakeWeChatApi):
    """The fake API server, noting when each custom/send arrived and for whom."""

    def __init__(self, app_id: str, secret: str) -> None:
        super().__init__(app_id, secret)
        self.sends: list[tuple[float, str]] = []  # (perf_counter, touser) of accepted sends

    def answer(self, path: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        answer = super().answer(path, query, body)
        if path == SEND and answer.get("errcode") == 0 and isinstance(body, dict):
            with self._lock:
                self.sends.append((time.perf_counter(), str(body.get("touser"))))
        return answer

    def first_send_after(self, openid: str, since: float) -> float | None:
        with self._lock:
            return next((at for at, user in self.sends if user == openid and at >= since), None)


class WeChatStack(Stack):
    """The project's stack, its Rasa server started with the credentials and environment given."""

    def __init__(self, var_dir: Path, credentials: str, env: dict[str, str]) -> None:
        super().__init__(var_dir, ensure_model())
        self.credentials = var_dir / "credentials.yml"
        self.credentials.write_text(credentials, encoding="utf-8")
        self.env = env

    def start_process(self, command: Command) -> Process:
        if command.name == "rasa":
            argv = list(command.argv)
            argv[argv.index("--credentials") + 1] = str(self.credentials)
            command = replace(command, argv=argv, env={**command.env, **self.env})
        return super().start_process(command)


@dataclass
class Outcome:
    users: int
    text: str
    round_trip: float
    passive: bool = False
    late: float | None = None  # seconds from the push to its answer's custom/send
    error: str | None = None


MSG_IDS = itertools.count(time.time_ns() // 1000)
MSG_LOCK = threading.Lock()


def next_msg_id() -> int:
    with MSG_LOCK:
        return next(MSG_IDS)


def converse(stack: Stack, api: TimedWeChatApi, users: int, number: int, safe: bool, think: float) -> list[Outcome]:
    """One user's conversation: each message pushed, its answer read or waited for."""
    openid = f"o{RUN}-{users}-{number}"
    pusher = Pusher(f"{stack.rasa_url}/webhooks/wechat/webhook", TOKEN, AES_KEY, APP_ID)
    texts = CONVERSATIONS[number % len(CONVERSATIONS)]
    texts = (texts * 2)[:MESSAGES_PER_USER]
    outcomes = []
    rng = random.Random(number)
    time.sleep(rng.uniform(0, think))  # users do not all press send in the same millisecond
    for text in texts:
        fields = {"FromUserName": openid, "MsgType": "text", "Content": text, "MsgId": next_msg_id()}
        started = time.perf_counter()
        try:
            reply = pusher.push(fields, safe=safe, timeout=15)
        except Exception as error:  # a failed push is a figure, not a crash
            outcomes.append(Outcome(users, text, time.perf_counter() - started, error=type(error).__name__))
            continue
        outcome = Outcome(users, text, time.perf_counter() - started)
        outcomes.append(outcome)
        if reply.status != 200:
            outcome.error = f"HTTP {reply.status}"
        elif reply.content:
            outcome.passive = True
        elif reply.body == "success":
            deadline = started + LATE_WAIT
            while (sent := api.first_send_after(openid, started)) is None and time.perf_counter() < deadline:
                time.sleep(0.05)
            if sent is None:
                outcome.error = "late answer never sent"
            else:
                outcome.late = sent - started
                time.sleep(0.3)  # the rest of the turn's answers
        else:
            outcome.error = f"unexpected reply {reply.body[:40]!r}"
        time.sleep(rng.uniform(0.5, 1.5) * think)
    return outcomes


def run(stack: Stack, api: TimedWeChatApi, users: int, safe: bool, think: float) -> dict[str, Any]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users) as pool:
        futures = [pool.submit(converse, stack, api, users, number, safe, think) for number in range(users)]
        outcomes = [outcome for future in futures for outcome in future.result()]
    passive = [o.round_trip for o in outcomes if o.passive]
    within = [t for t in passive if t <= WINDOW]
    late = [o.late for o in outcomes if o.late is not None]
    success_trips = [o.round_trip for o in outcomes if o.late is not None]

    def ms(values: list[float], share: float) -> float | None:
        return round(percentile(values, share) * 1000, 1) if values else None

    return {
        "users": users,
        "mode": "safe" if safe else "plain",
        "messages": len(outcomes),
        "passive": len(passive),
        "passive_share": round(len(passive) / len(outcomes), 4) if outcomes else 0.0,
        "within_window": len(within),
        "within_window_share": round(len(within) / len(outcomes), 4) if outcomes else 0.0,
        "over_5s": len([o for o in outcomes if o.round_trip > WECHAT_TIMEOUT]),
        "passive_round_trip_ms": {"p50": ms(passive, 0.5), "p95": ms(passive, 0.95), "max": ms(passive, 1.0)},
        "late": len(late),
        "late_delivery_ms": {"p50": ms(late, 0.5), "p95": ms(late, 0.95), "max": ms(late, 1.0)},
        "late_success_round_trip_ms": {"p50": ms(success_trips, 0.5), "max": ms(success_trips, 1.0)},
        "errors": len([o for o in outcomes if o.error]),
        "error_kinds": sorted({o.error for o in outcomes if o.error}),
        "late_messages": sorted({o.text for o in outcomes if o.late is not None}),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def show(result: dict[str, Any]) -> None:
    p, lt = result["passive_round_trip_ms"], result["late_delivery_ms"]
    print(
        f"{result['users']:>2} user(s), {result['mode']}: {result['messages']} messages  "
        f"passive {result['passive']} ({result['passive_share']:.1%}; "
        f"round trip <= 4.5 s {result['within_window']}, > 5 s {result['over_5s']})  "
        f"passive round trip p50 {p['p50']} ms  p95 {p['p95']} ms  max {p['max']} ms  "
        f"late {result['late']} (to custom/send p50 {lt['p50']} ms  p95 {lt['p95']} ms)  "
        f"errors {result['errors']}  [{result['wall_seconds']} s]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--safe", action="store_true", help="safe mode (encrypted pushes and replies)")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a user's messages, s")
    args = parser.parse_args()
    api = TimedWeChatApi(APP_ID, SECRET)
    api.start()
    credentials = "bot.channels.rest.RestInput:\nbot.channels.wechat.WeChatInput:\n"
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APP_ID, "WECHAT_APPSECRET": SECRET, "WECHAT_AES_KEY": AES_KEY}
    env |= {"WECHAT_API_BASE": api.url}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    try:
        with tempfile.TemporaryDirectory() as work, WeChatStack(Path(work), credentials, env) as stack:
            stack.say("warm-up", "你好")  # the first answer after a start is slow
            stack.say("warm-up-en", "hello")
            runs = [run(stack, api, 1, args.safe, args.think), run(stack, api, args.users, args.safe, args.think)]
    finally:
        api.stop()
    result: dict[str, Any] = {
        "reply_window_seconds": 4.5,
        "baseline": runs[0],
        "concurrent": runs[1],
        "measured": {
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}",
            "shared_state": "redis" if "REDIS_URL" in env else "memory",
            "think_seconds": args.think,
        },
    }
    out = HERE / "results" / "wechat.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for figures in runs:
        show(figures)
    bar = runs[1]
    print(
        f"BAR: passive replies (within 4.5 s) at {bar['users']} concurrent users: "
        f"{bar['passive_share']:.1%} ({bar['passive']}/{bar['messages']}); "
        f"passive with round trip <= 4.5 s as WeChat sees it: {bar['within_window_share']:.1%}, "
        f"pushes over WeChat's 5 s: {bar['over_5s']}"
    )
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
