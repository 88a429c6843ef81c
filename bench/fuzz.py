"""Fuzz benchmark: malformed input to every door of the real running stack.

    .venv/bin/python -m bench.fuzz [--examples 400] [--platform-examples 25] [--seed 1] [--known-defects]

Starts platform, action server and Rasa server (tools/stack.py) on the current model,
Rasa with the REST, WeChat and Weibo channels on and their platforms' APIs faked
(tests/fake_wechat.py, tests/fake_weibo.py), then sends:

- to /webhooks/rest/webhook, /webhooks/wechat/webhook (plain and safe mode) and
  /webhooks/weibo/webhook: bodies Hypothesis makes (tests/fuzz_strategies.py: invalid or
  well-formed XML, entity bombs, random JSON with missing or wrong fields, non-UTF-8,
  lone surrogates), under right, wrong, missing, stale and future signatures and any
  content type; and hand-made attacks with a known right answer (bench/fuzz_channels.py:
  bodies of 64 KB to 10 MB, JSON 100,000 deep, XXE, wrong encodings, bad Content-Length
  headers and request lines);
- to the platform: schemathesis over its OpenAPI document (/api/v1/openapi.json), free
  and aimed at a report and an application filed first, and Hypothesis requests to the
  same routes, Open311 and photo uploads with any query, header and body
  (bench/fuzz_platform.py);
- a replayed push three times (heard once), and limit + 5 messages from one sender on
  each channel (the last five get the polite refusal).

The bar: no 5xx and no request left unanswered, no traceback or ERROR line in any
process's log while it ran, and every process healthy afterwards (answers its health
check and a real question, and is idle when nobody talks to it). Counts by endpoint and
status and the time taken go to bench/results/fuzz.json.

Not sent unless --known-defects (bench/fuzz_channels.py, known_defect_probes): a request
line that is not UTF-8, which Sanic 21.12 (Rasa's pin) drops, and a chunked body with a
bad chunk size, which it answers 400 and then fails to drain; both times it logs an
uncaught exception before, or after, any of our code runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

from bench import fuzz_channels as channels
from bench import fuzz_platform
from bench.fuzz_probes import Outcome, failed, idle_cpu, log_problems, send_all, tally
from bench.pii_scan import scan, summary
from bot.channels.ratelimit import per_minute
from tests.fake_wechat import FakeWeChatApi, Pusher
from tests.fake_weibo import FakeWeiboApi
from tests.fake_weibo import Pusher as WeiboPusher
from tools.stack import ROOT, Command, Process, Stack
from tools.train import ensure_model

HERE = Path(__file__).parent
CREDENTIALS = "bot.channels.rest.RestInput:\nbot.channels.wechat.WeChatInput:\nbot.channels.weibo.WeiboInput:\n"


class FuzzStack(Stack):
    """The project's stack, its Rasa server started with the channels to fuzz."""

    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        super().__init__(var_dir, ensure_model())
        self.credentials = var_dir / "credentials.yml"
        self.credentials.write_text(CREDENTIALS, encoding="utf-8")
        self.fuzz_env = env

    def start_process(self, command: Command) -> Process:
        if command.name == "rasa":
            argv = list(command.argv)
            argv[argv.index("--credentials") + 1] = str(self.credentials)
            command = replace(command, argv=argv, env={**command.env, **self.fuzz_env})
        return super().start_process(command)


def health(stack: Stack) -> dict[str, Any]:
    """Each process answers, and the assistant still answers a question on every channel."""
    rasa = stack.rasa_url
    checks: dict[str, Any] = {
        name: process.process.poll() is None
        and requests.get(process.url + process.command.health, timeout=10).status_code == 200
        for name, process in stack.processes.items()
    }
    answers = stack.say(f"fuzz-health-{channels.RUN}", "护照怎么办")
    checks["rest answers a question"] = any(a.get("custom", {}).get("type") == "service_card" for a in answers)
    reply = Pusher(rasa + channels.WECHAT, channels.TOKEN, channels.AES_KEY, channels.APP_ID).push(
        {"FromUserName": f"o{channels.RUN}health", "MsgType": "text", "Content": "护照怎么办", "MsgId": time.time_ns()},
        safe=True,
    )
    checks["wechat answers a question"] = reply.status == 200 and "护照" in (reply.content or "")
    weibo = WeiboPusher(rasa + channels.WEIBO, channels.WEIBO_SECRET).push(10**12 + 7, text="护照怎么办")
    checks["weibo answers a question"] = weibo.status == 200 and "护照" in (weibo.text or "")
    checks["idle cpu seconds in 3 s"] = idle_cpu({name: p.process.pid for name, p in stack.processes.items()})
    checks["all"] = all(value is True for key, value in checks.items() if not key.startswith("idle")) and all(
        seconds < 1.5 for seconds in checks["idle cpu seconds in 3 s"].values()
    )
    return checks


def timed(label: str, seconds: dict[str, float], action: Any, *args: Any) -> Any:
    started = time.perf_counter()
    print(f"{label} …", flush=True)
    result = action(*args)
    seconds[label] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=400, help="generated requests per channel endpoint")
    parser.add_argument("--platform-examples", type=int, default=25, help="schemathesis examples per operation")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--known-defects", action="store_true", help="also send what Sanic 21.12 cannot refuse")
    args = parser.parse_args()
    wechat_api = FakeWeChatApi(channels.APP_ID, channels.SECRET).start()
    weibo_api = FakeWeiboApi(channels.WEIBO_TOKEN).start()
    env = {
        "WECHAT_TOKEN": channels.TOKEN,
        "WECHAT_APPID": channels.APP_ID,
        "WECHAT_APPSECRET": channels.SECRET,
        "WECHAT_AES_KEY": channels.AES_KEY,
        "WECHAT_API_BASE": wechat_api.url,
        "WEIBO_APP_SECRET": channels.WEIBO_SECRET,
        "WEIBO_ACCESS_TOKEN": channels.WEIBO_TOKEN,
        "WEIBO_API_BASE": weibo_api.url,
    }
    limit = per_minute(os.environ)
    env["ZW_RATE_LIMIT_PER_MINUTE"] = str(limit)  # whatever tools/stack.py gives tests
    env["ZW_REST_RATE_LIMIT_PER_MINUTE"] = str(limit)  # REST's is off unless set: checked here too
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as work:
            with FuzzStack(Path(work), env) as stack:
                seconds["start"] = round(time.perf_counter() - started, 1)
                stack.say("warm-up", "你好")  # the first answer after a start is slow
                urls = {"rasa": stack.rasa_url, "platform": stack.processes["platform"].url}
                logs = {name: (p.log_path, p.log_path.stat().st_size) for name, p in stack.processes.items()}
                result = fuzz(stack, urls, Path(work), args, limit, seconds)
                result["health_after"] = timed("health", seconds, health, stack)
            # The processes are gone: their logs and stores are complete.
            result["logs"] = {name: log_problems(path, since) for name, (path, since) in logs.items()}
            result["personal_data_left"] = personal_data_left(stack)
            kept = ROOT / "var" / "fuzz-logs"
            kept.mkdir(parents=True, exist_ok=True)
            for name, (path, _) in logs.items():
                (kept / f"{name}.log").write_bytes(path.read_bytes())
    finally:
        wechat_api.stop()
        weibo_api.stop()
    seconds["total"] = round(time.perf_counter() - started, 1)
    result["seconds"] = seconds
    result["bar"] = bar(result)
    result["measured"] = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}",
        "seed": args.seed,
        "examples_per_endpoint": args.examples,
        "schemathesis_examples_per_operation": args.platform_examples,
        "shared_state": "redis" if "REDIS_URL" in env else "memory",
        "known_defects_sent": args.known_defects,
    }
    out = HERE / "results" / "fuzz.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    show(result)
    print(f"written to {out.relative_to(ROOT)} (the processes' logs in var/fuzz-logs/)")


def personal_data_left(stack: Stack) -> dict[str, Any]:
    """The conversation store and every log, scanned for ID and mobile numbers (whatever
    the fuzzer sent, and the details of the application seeded for schemathesis); the
    platform's own database keeps applications by design and is left out."""
    sqlite = [path for path in stack.var_dir.glob("*.db") if path.name != "platform.db"]
    logs = sorted(stack.var_dir.glob("*.log"))
    needles = [fuzz_platform.PHONE, fuzz_platform.ID_FIRST17]
    findings = scan(None, None, sqlite, (), logs, needles)
    return {"scanned": [path.name for path in sqlite + logs], **summary(findings)}


def fuzz(
    stack: Stack, urls: dict[str, str], work: Path, args: Any, limit: int, seconds: dict[str, float]
) -> dict[str, Any]:
    count, at = args.examples, args.seed
    probes = timed(
        "generating channel probes",
        seconds,
        lambda: (
            channels.rest_probes(count, at)
            + channels.wechat_probes(count, at)
            + channels.wechat_aes_probes(count * 3 // 5, at)
            + channels.weibo_probes(count, at)
        ),
    )
    outcomes: list[Outcome] = timed("channels (generated)", seconds, send_all, probes, urls)
    crafted = channels.crafted_probes() + (channels.known_defect_probes() if args.known_defects else [])
    outcomes += timed("channels and HTTP (hand-made)", seconds, send_all, crafted, urls, 2)
    var_dir = stack.var_dir
    staff = fuzz_platform.staff_token_of(var_dir)
    seeded = fuzz_platform.seed_records(urls["platform"], staff)
    openapi = requests.get(urls["platform"] + "/api/v1/openapi.json", timeout=30).json()
    platform_probes = (
        fuzz_platform.api_probes(openapi, count * 2, at, seeded)
        + fuzz_platform.open311_probes(count, at, fuzz_platform.open311_key_of(var_dir))
        + fuzz_platform.upload_probes(count // 5, at)
    )
    outcomes += timed("platform (generated)", seconds, send_all, platform_probes, urls)
    schemathesis = {
        "free": timed(
            "schemathesis",
            seconds,
            fuzz_platform.run_schemathesis,
            urls["platform"],
            staff,
            args.platform_examples,
            at,
            work,
            None,
        ),
        "seeded": timed(
            "schemathesis (seeded ids)",
            seconds,
            fuzz_platform.run_schemathesis,
            urls["platform"],
            staff,
            args.platform_examples,
            at,
            work,
            seeded,
        ),
    }
    replay = timed("replays", seconds, channels.replay_check, stack.rasa_url, stack.token)
    rate_limit = (
        timed("rate limit", seconds, channels.rate_limit_check, stack.rasa_url, stack.token, limit) if limit else None
    )
    return {"requests": tally(outcomes), "schemathesis": schemathesis, "replay": replay, "rate_limit": rate_limit} | {
        "failed_examples": [o.probe.kind for o in outcomes if failed(o)][:10]
    }


def bar(result: dict[str, Any]) -> dict[str, Any]:
    requests_tally = result["requests"]
    schemathesis_errors = sum(len(run["server_errors"]) for run in result["schemathesis"].values())
    log_trouble = sum(log["tracebacks"] + log["error_lines"] for log in result["logs"].values())
    replay = result["replay"]
    rate = result["rate_limit"]
    rate_ok = rate is None or all(
        rate[name]["heard"] == rate["limit"] and rate[name].get("polite refusal") == 5
        for name in ("rest", "wechat", "weibo")
    )
    checks = {
        "no 5xx or unanswered request": requests_tally["failure_count"] == 0 and schemathesis_errors == 0,
        "hand-made attacks answered as expected": requests_tally["surprise_count"] == 0,
        "no traceback or ERROR line in any log": log_trouble == 0,
        "replays heard once": replay["wechat"]["heard"] == 1 and replay["weibo"]["heard"] == 1,
        "rate limit holds on every channel": rate_ok,
        "healthy afterwards": result["health_after"]["all"],
        "no ID or mobile number in the conversation store or logs": result["personal_data_left"]["findings"] == 0,
    }
    return checks | {"passed": all(checks.values())}


def show(result: dict[str, Any]) -> None:
    requests_tally = result["requests"]
    total = requests_tally["requests"] + sum(run["requests"] for run in result["schemathesis"].values())
    print(f"\n{total} requests in {result['seconds']['total']} s (stack start {result['seconds']['start']} s)")
    for name, figures in requests_tally["by_endpoint"].items():
        print(f"  {name:<11} {figures['requests']:>5}  {figures['statuses']}")
    for name, run in result["schemathesis"].items():
        print(
            f"  schemathesis {name}: {run['requests']} requests over {run['operations']} operations  {run['statuses']}"
        )
    print(f"phases: {result['seconds']}")
    print(f"replays: {result['replay']}")
    print(f"rate limit: {result['rate_limit']}")
    left = result["personal_data_left"]
    print(f"personal data left: {left['findings']} finding(s) {left['by_kind']} in {', '.join(left['scanned'])}")
    for name, log in result["logs"].items():
        print(f"log {name}: {log['tracebacks']} tracebacks, {log['error_lines']} ERROR lines {log['samples'][:3]}")
    for failure in requests_tally["failures"][:10] + requests_tally["surprises"][:10]:
        print(f"  ! {failure}")
    checks = result["bar"]
    print(
        "BAR: "
        + ("passed" if checks["passed"] else "FAILED")
        + " — "
        + "; ".join(f"{k}: {v}" for k, v in checks.items() if k != "passed")
    )


if __name__ == "__main__":
    main()
