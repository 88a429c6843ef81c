"""End to end: platform, action server and Rasa server as processes, conversing over REST."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tools.stack import ROOT, Stack, free_port
from tools.train import ensure_model

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(Path(tmp_path_factory.mktemp("stack")), ensure_model()) as running:
        yield running


def customs(answers: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [a["custom"] for a in answers if a.get("custom", {}).get("type") == kind]


def texts(answers: list[dict[str, Any]]) -> str:
    return "\n".join(a.get("text", "") for a in answers)


def test_chinese_need_with_region_gets_card_with_office_then_follow_ups(stack: Stack) -> None:
    answers = stack.say("e2e-zh", "我想在成都武侯区开个面馆")
    card = customs(answers, "service_card")[0]
    assert card["service"]["id"] == "food-business-licence"
    assert card["office"]["region_code"] == "510107" and card["office"]["department"] == "成都市武侯区市场监督管理局"
    assert "成都市武侯区市场监督管理局" in texts(answers)
    answers = stack.say("e2e-zh", "要带哪些材料啊")
    detail = customs(answers, "service_detail")[0]
    assert detail["aspect"] == "materials" and detail["service_id"] == "food-business-licence"
    assert "食品经营许可申请书" in texts(answers)
    assert "再见" in texts(stack.say("e2e-zh", "好的再见"))


def test_english_need_asks_for_region_once_then_answers_with_office(stack: Stack) -> None:
    answers = stack.say("e2e-en", "how do I renew my passport")
    card = customs(answers, "service_card")[0]
    assert card["service"]["id"] == "passport" and card["office"] is None
    assert "Which city and district" in texts(answers)
    answers = stack.say("e2e-en", "actually I live in Haidian")
    card = customs(answers, "service_card")[0]
    assert card["office"]["region_code"] == "110000"
    assert "Exit-Entry Administration Corps, Beijing" in texts(answers)
    assert "Which city and district" not in texts(answers)


def test_switching_language_mid_conversation(stack: Stack) -> None:
    stack.say("e2e-switch", "how do I renew my passport")
    answers = stack.say("e2e-switch", "那要多少钱")
    assert customs(answers, "service_detail")[0]["aspect"] == "fee"
    assert "120元" in texts(answers)
    answers = stack.say("e2e-switch", "and how long does it take")
    assert "working days" in texts(answers) and not CJK.search(texts(answers))


def test_metadata_lang_forces_the_language(stack: Stack) -> None:
    answers = stack.say("e2e-meta", "我想办护照", metadata={"lang": "en"})
    assert customs(answers, "service_card")[0]["service"]["name"] == "Ordinary passport issuance"
    assert "Ordinary passport issuance" in texts(answers)


def test_candidate_chosen_by_button_payload(stack: Stack) -> None:
    answers = stack.say("e2e-button", '/choose_candidate{"service_id": "marriage-registration"}')
    assert customs(answers, "service_card")[0]["service"]["id"] == "marriage-registration"


BAD_INPUT = {
    "empty": "",
    "blank": "   ",
    "10,000 characters": "x" * 10_000,
    "10,000 Chinese characters": "护照" * 5_000,
    "only emoji": "😀😀😀",
    "control characters": "\x00\x01\x02\x1b[31m",
    "French": "Bonjour, je voudrais un passeport",
    "Russian": "Привет",
}


@pytest.mark.parametrize("message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_gets_a_polite_answer(stack: Stack, message: str) -> None:
    answers = stack.say("e2e-bad", message)
    assert answers and all(answer.get("text", "").strip() for answer in answers)


def test_every_card_comes_with_its_text_in_the_same_message(stack: Stack) -> None:
    answers = stack.say("e2e-text", "怎么办结婚登记")
    card = next(answer for answer in answers if answer.get("custom", {}).get("type") == "service_card")
    assert card["custom"]["service"]["name"] in card["text"]


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"message": "hi"}', b'{"sender": "a", "message": 5}'])
def test_malformed_rest_bodies_get_a_400(stack: Stack, body: bytes) -> None:
    answer = requests.post(stack.rasa_url + "/webhooks/rest/webhook", data=body, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_request"


def test_rasa_shell_converses_with_the_running_action_server(stack: Stack, tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"action_endpoint:\n  url: {stack.processes['actions'].url}/webhook\n", encoding="utf-8")
    command = [sys.executable, "-m", "rasa", "shell", "--model", str(stack.model), "--endpoints", str(endpoints)]
    command += ["--port", str(free_port())]
    pid, fd = pty.fork()
    if pid == 0:  # the child: rasa shell on a terminal, as a person would run it
        os.chdir(ROOT)
        os.execve(sys.executable, command, {**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    output = b""
    try:
        output = _read_until(fd, b"Your input", 180)
        os.write(fd, "我想办护照\r".encode())
        output += _read_until(fd, "普通护照签发".encode(), 60)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    assert "普通护照签发".encode() in output


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    output = b""
    deadline = time.monotonic() + timeout
    while marker not in output and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                output += os.read(fd, 65536)
            except OSError:
                break
    return output


def test_platform_down_gets_a_polite_answer(stack: Stack) -> None:
    stack.processes["platform"].stop()
    answers = stack.say("e2e-down", "how do I get a residence permit")
    assert "can't be reached" in texts(answers)
    answers = stack.say("e2e-down-zh", "我想办居住证")
    assert "暂时连接不上" in texts(answers)
