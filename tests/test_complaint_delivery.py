"""Never lose a report (issue 5): the platform is stopped while citizens confirm reports,
and the action server is restarted while they wait. Every report reaches the platform
once — none lost, none duplicated — and every citizen is told its number, once, in their
conversation. The real platform, action server and Rasa server, over REST.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tools.stack import Process, Stack
from tools.train import ensure_model

REPORTS = [
    ("down-zh-1", "zh", "我们小区的电梯坏了三天没人修，在成都武侯区玉林路", "13912340001"),
    (
        "down-en-1",
        "en",
        "the traffic light at Jiefang Road in Wuhou, Chengdu has been broken since Monday",
        "13912340002",
    ),
    ("down-zh-2", "zh", "成都武侯区科华北路的垃圾桶好几天没人清运了", "匿名"),
    ("down-en-2", "en", "a factory near Tongzilin in Wuhou, Chengdu lets out black smoke every night", "anonymous"),
    ("down-zh-3", "zh", "成都锦江区春熙路的公共厕所脏得没法进，好几天没人打扫", "13912340005"),
    ("down-en-3", "en", "the buses on route 28 in Jinjiang, Chengdu skip stops every morning", "13912340006"),
]
NO_PHOTO = {"zh": "没拍照片", "en": "no photo"}
CONFIRM = {"zh": "对的，提交", "en": "yes that's all correct"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    previous = os.environ.get("ZW_OUTBOX_MAX_DELAY")
    os.environ["ZW_OUTBOX_MAX_DELAY"] = "2"  # retries every couple of seconds, so the test ends soon
    try:
        with Stack(Path(tmp_path_factory.mktemp("delivery")), ensure_model()) as running:
            yield running
    finally:
        if previous is None:
            os.environ.pop("ZW_OUTBOX_MAX_DELAY", None)
        else:
            os.environ["ZW_OUTBOX_MAX_DELAY"] = previous


def restart(stack: Stack, name: str) -> Process:
    old = stack.processes[name]
    old.stop()
    process = stack.start_process(old.command)
    process.wait_until_up()
    return process


def staff_list(stack: Stack) -> list[dict[str, Any]]:
    token = (stack.var_dir / "staff-token").read_text().strip()
    answer = requests.get(
        f"{stack.processes['platform'].url}/api/v1/complaints",
        params={"limit": 50},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    answer.raise_for_status()
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


def receipts_in(stack: Stack, sender: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=10)
    answer.raise_for_status()
    return [
        event
        for event in answer.json()["events"]
        if event.get("event") == "bot"
        and ((event.get("data") or {}).get("custom") or {}).get("type") == "complaint_receipt"
    ]


def test_reports_confirmed_while_the_platform_is_down_arrive_once_each(stack: Stack) -> None:
    stack.processes["platform"].stop()
    references: dict[str, str] = {}
    for sender, lang, story, contact in REPORTS:
        for message in (story, NO_PHOTO[lang], contact):
            stack.say(sender, message)
        answers = stack.say(sender, CONFIRM[lang])
        queued = [a["custom"] for a in answers if (a.get("custom") or {}).get("type") == "complaint_queued"]
        assert len(queued) == 1, answers
        references[sender] = queued[0]["reference"]
        assert references[sender] in "".join(a.get("text") or "" for a in answers)
    assert len(set(references.values())) == len(REPORTS)

    # The action server goes down and comes back while the reports wait: they are on disk.
    restart(stack, "actions")
    restart(stack, "platform")

    filed: list[dict[str, Any]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        filed = staff_list(stack)
        told = all(receipts_in(stack, sender) for sender, *_ in REPORTS)
        if len(filed) >= len(REPORTS) and told:
            break
        time.sleep(1)
    time.sleep(5)  # any duplicate delivery or notice would show up by now
    filed = staff_list(stack)
    assert sorted(report["conversation_id"] for report in filed) == sorted(sender for sender, *_ in REPORTS)
    by_sender = {report["conversation_id"]: report for report in filed}
    for sender, lang, story, contact in REPORTS:
        report = by_sender[sender]
        assert report["description"].startswith(story)
        assert report["lang"] == lang
        assert report["anonymous"] is (contact in ("匿名", "anonymous"))
        receipts = receipts_in(stack, sender)
        assert len(receipts) == 1, f"{sender} was told {len(receipts)} times"
        assert receipts[0]["data"]["custom"]["complaint_id"] == report["complaint_id"]
        assert receipts[0]["data"]["custom"]["response_due"] == report["response_due"]
        told = requests.get(
            f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=10
        ).json()["events"]
        texts = "\n".join(event.get("text") or "" for event in told if event.get("event") == "bot")
        assert references[sender] in texts and report["complaint_id"] in texts
        if report["anonymous"]:
            assert "查询码" in texts or "follow-up code" in texts
