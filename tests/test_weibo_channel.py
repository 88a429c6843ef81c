"""The Weibo fan-service channel (bot/channels/weibo.py) as Weibo and a citizen see it.

Three layers:
- the protocol on the wiki's published example (Basic_Settings_Guide: app secret
  xyz123xyz, timestamp 1397022061823, nonce 57155157) and its push and reply formats;
- the endpoint on a Sanic app of its own with a stand-in assistant and a fixed clock, so
  the wiki's years-old request passes through it unchanged;
- the real platform, action server and Rasa server, with Weibo's API server faked
  (tests/fake_weibo.py) and shared state in Redis (REDIS_TEST_URL). The test credentials
  open the channel twice: /webhooks/weibo with the usual 4.5 s window, and
  /webhooks/weibo_late whose window is 0.1 ms, so every answer there goes late through
  reply.json without any test waiting 5 seconds.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from bot.channels.outgoing import MemoryStore, pseudonym
from bot.channels.weibo import (
    SEND_A_LINK,
    UNSUPPORTED,
    MalformedPush,
    Push,
    Unsupported,
    WeiboInput,
    WeiboSettings,
    assistant_input,
    dedupe_key,
    messages_of,
    parse_push,
    passive_reply,
    signature,
    signature_matches,
    timestamp_seconds,
)
from tests.channel_harness import ChannelServer, StandIn
from tests.conftest import wait_for
from tests.fake_weibo import FakeWeiboApi, Pusher, sign
from tools.stack import Command, Process, Stack
from tools.train import ensure_model

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379")
# The wiki's example (Basic_Settings_Guide, Verify_Message_Authenticity)
WIKI = {"appsecret": "xyz123xyz", "timestamp": "1397022061823", "nonce": "57155157", "echostr": "dnPdpTZz85"}
WIKI_SIGNATURE = "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1"
WIKI_REPLY_DATA = "%7B%22text%22%3A%22%E4%B8%AD%E6%96%87%E6%B6%88%E6%81%AF%22%7D"  # {"text":"中文消息"}
ACCOUNT = 1902538057
UIDS = itertools.count(random.SystemRandom().randrange(10**9, 9 * 10**9) * 100)  # Redis outlives a run
USED_UIDS: list[int] = []


# --- The protocol on the wiki's example ---------------------------------------------------


def test_signature_is_the_wikis_example() -> None:
    assert "".join(sorted(WIKI[key] for key in ("appsecret", "timestamp", "nonce"))) == "139702206182357155157xyz123xyz"
    assert signature(WIKI["appsecret"], WIKI["timestamp"], WIKI["nonce"]) == WIKI_SIGNATURE
    assert signature_matches(WIKI_SIGNATURE.upper(), WIKI["nonce"], WIKI["appsecret"], WIKI["timestamp"])
    assert not signature_matches(WIKI_SIGNATURE, "xyz123xya", WIKI["timestamp"], WIKI["nonce"])
    assert not signature_matches(None, WIKI["appsecret"], WIKI["timestamp"], WIKI["nonce"])


def test_timestamps_are_milliseconds_and_seconds_are_understood_too() -> None:
    assert timestamp_seconds("1397022061823") == pytest.approx(1397022061.823)
    assert timestamp_seconds("1397022061") == 1397022061.0
    assert timestamp_seconds("") is None and timestamp_seconds("-5") is None and timestamp_seconds("9" * 400) is None


def test_a_passive_reply_goes_back_to_the_sender_with_its_data_url_encoded() -> None:
    push = parse_push(json.dumps({"type": "text", "receiver_id": ACCOUNT, "sender_id": "2489518277"}).encode())
    reply = passive_reply(push, "中文消息")
    assert {key: reply[key] for key in ("result", "receiver_id", "sender_id", "type")} == {
        "result": True,
        "receiver_id": 2489518277,
        "sender_id": ACCOUNT,
        "type": "text",
    }
    assert re.fullmatch(r"[A-Za-z0-9%._~-]+", reply["data"]), "nothing left unencoded"
    assert json.loads(unquote(reply["data"])) == json.loads(unquote(WIKI_REPLY_DATA)) == {"text": "中文消息"}


def test_bodies_that_are_not_pushes_are_refused() -> None:
    too_big = json.dumps({"type": "text", "receiver_id": 1, "sender_id": 2**63}).encode()
    for body in (b"{", b"[]", b"\xff", b'{"type": "text"}', b'{"type": "text", "sender_id": true}', too_big):
        with pytest.raises(MalformedPush):
            parse_push(body)


def push(kind: str, text: str = "", **data: Any) -> Push:
    return Push(kind, 2489518277, ACCOUNT, "Mon Jul 16 18:09:20 +0800 2012", text, data)


def test_what_the_assistant_hears_of_each_kind_of_push() -> None:
    weibo = {"channel": "weibo"}
    assert assistant_input(push("text", "你好")) == ("你好", weibo)
    place = push("position", "我在这里: http://t.cn/zQgLLYO", longitude="116.308586", latitude="39.982525")
    assert assistant_input(place) == ("[位置]", {**weibo, "latitude": 39.982525, "longitude": 116.308586})
    assert assistant_input(push("event", "关注事件消息", subtype="follow")) == ("/greet", weibo)
    assert assistant_input(push("event", "订阅事件消息", subtype="subscribe")) == ("/greet", weibo)
    assert assistant_input(push("event", "", subtype="click", key="report_problem")) == ("/report_problem", weibo)
    assert assistant_input(push("event", "", subtype="click", key="查进度")) == ("查进度", weibo)
    silent = [push("event", subtype="unfollow"), push("mention", "@政务 你好"), push("sticker"), push("text", " ")]
    assert [assistant_input(each) for each in silent] == [None] * 4
    with pytest.raises(Unsupported) as refusal:
        assistant_input(push("image", "发了一张图片", vfid=821804459, tovfid=821804469))
    assert refusal.value.reply == SEND_A_LINK, "its file ids take an API call with the token to fetch"
    linked = assistant_input(push("image", "", url="https://example.org/p.jpg"))
    assert linked == ("https://example.org/p.jpg", {**weibo, "photo_urls": ["https://example.org/p.jpg"]})


def test_retries_are_told_apart_by_sender_time_and_content() -> None:
    first = push("text", "你好")
    assert dedupe_key(first) == dedupe_key(push("text", "你好"))
    assert dedupe_key(first) != dedupe_key(push("text", "谢谢")), "two messages in one second"
    assert "2489518277" not in dedupe_key(first), "the uid is hashed: keys are logged"


def test_long_answers_are_cut_at_line_ends_into_messages_under_300_characters() -> None:
    lines = [f"第{n}行：" + "办" * 60 for n in range(12)]
    messages = messages_of(["\n".join(lines), "短", "长" * 700])
    assert all(len(message) < 300 for message in messages)
    assert "\n".join(messages[:-4]).split("\n") == lines, "whole lines, in order"
    assert messages[-4] == "短" and "".join(messages[-3:]) == "长" * 700


def test_settings_come_from_credentials_where_given_else_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"WEIBO_APP_SECRET": "s", "WEIBO_ACCESS_TOKEN": "t", "WEIBO_REPLY_WINDOW_SECONDS": "2"}
    assert WeiboSettings.read(None, env) == WeiboSettings("s", "t", "https://m.api.weibo.com", 2.0)
    given = WeiboSettings.read({"api_base": "http://fake", "reply_window_seconds": 0.5}, {**env, "REDIS_URL": "r"})
    assert (given.app_secret, given.api_base, given.reply_window, given.redis_url) == ("s", "http://fake", 0.5, "r")
    assert WeiboSettings.read(None, {"WEIBO_REPLY_WINDOW_SECONDS": "soon"}).reply_window == 4.5
    for variable in ("WEIBO_APP_SECRET", "WEIBO_ACCESS_TOKEN", "REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    off = WeiboInput.from_credentials(None)  # credentials.yml names the channel with nothing under it
    assert isinstance(off, WeiboInput) and not off.settings.app_secret and off.get_output_channel() is None


# --- The endpoint, with a stand-in assistant ------------------------------------------


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[ChannelServer, StandIn]]]:
    started: list[ChannelServer] = []

    def start(settings: WeiboSettings, now: float | None = None) -> tuple[ChannelServer, StandIn]:
        assistant = StandIn()
        channel = WeiboInput(settings, clock=(lambda: now) if now else time.time, store=MemoryStore())
        started.append(ChannelServer(channel, assistant))
        return started[-1], assistant

    yield start
    for server in started:
        server.stop()


def test_url_verification_echoes_echostr_on_the_wikis_request(serve: Callable[..., Any]) -> None:
    server, _ = serve(WeiboSettings(app_secret="xyz123xyz"), now=1397022061.823 + 60)
    query = {key: WIKI[key] for key in ("timestamp", "nonce", "echostr")} | {"signature": WIKI_SIGNATURE}
    answer = requests.get(server.url, params=query, timeout=5)
    assert (answer.status_code, answer.text) == (200, "dnPdpTZz85")
    assert requests.get(server.url, params={**query, "signature": "0" * 40}, timeout=5).status_code == 403
    assert requests.get(server.url, params={**query, "nonce": "1"}, timeout=5).status_code == 403
    now, _ = serve(WeiboSettings(app_secret="xyz123xyz"))
    assert requests.get(now.url, params=query, timeout=5).status_code == 403, "the example replayed today is stale"


def test_without_an_app_secret_the_channel_is_off(serve: Callable[..., Any]) -> None:
    server, _ = serve(WeiboSettings(access_token="t"))
    assert requests.get(server.url, params={"echostr": "x"}, timeout=5).status_code == 404
    assert requests.post(server.url, data=b"{}", timeout=5).status_code == 404


def test_pushes_must_be_signed_fresh_small_and_json(serve: Callable[..., Any]) -> None:
    server, assistant = serve(WeiboSettings(app_secret="s3cret"))
    pusher = Pusher(server.url, "s3cret")
    body = pusher.body(7, text="你好")
    assert pusher.send(body, {**pusher.signed_query(), "signature": sign("other", "1", "2")}).status == 403
    ten_minutes_ago = str(int((time.time() - 600) * 1000))
    assert pusher.send(body, pusher.signed_query(ten_minutes_ago)).status == 403
    assert pusher.send(body, pusher.signed_query(str(int(time.time())))).text == "收到：你好", "seconds are fine"
    assert pusher.send(b'{"type": "text", ').status == 400
    assert pusher.send(b'{"type": "text", "sender_id": "me"}').status == 400
    assert pusher.send(b'{"type":"text"' + b" " * 70000 + b"}").status == 413
    assert [message.text for message in assistant.heard] == ["你好"]


def test_unsupported_kinds_get_a_polite_reply_and_the_rest_an_empty_body(serve: Callable[..., Any]) -> None:
    server, assistant = serve(WeiboSettings(app_secret="s3cret"))
    pusher = Pusher(server.url, "s3cret")
    assert pusher.push(8, "image", "发了一张图片", {"vfid": 1, "tovfid": 2}).text == SEND_A_LINK
    assert pusher.push(8, "voice", "发了一个语音消息", {"vfid": 3, "tovfid": 4}).text == UNSUPPORTED
    for kind, data in (("event", {"subtype": "unfollow"}), ("mention", {}), ("hologram", {})):
        assert pusher.push(8, kind, "…", data).empty
    assert not assistant.heard


def test_a_retry_while_the_first_is_running_is_answered_once(serve: Callable[..., Any]) -> None:
    server, assistant = serve(WeiboSettings(app_secret="s3cret", reply_window=3))
    assistant.delay = 0.5
    pusher = Pusher(server.url, "s3cret")
    body = pusher.body(9, text="慢")
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: pusher.send(body), range(3)))
    assert [reply.text for reply in replies] == ["收到：慢"] * 3
    assert len(assistant.heard) == 1


def test_late_answers_go_in_order_and_a_refusal_is_logged_not_retried(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeWeiboApi("tok").start()
    try:
        server, assistant = serve(WeiboSettings("s3cret", "tok", api_base=api.url, reply_window=0.0001))
        assistant.answers = lambda text: [{"text": "一"}, {"text": "二"}, {"text": "三"}]
        assistant.delay = 0.1
        pusher = Pusher(server.url, "s3cret")
        assert pusher.push(10, text="甲").empty
        assert api.wait_for_delivered(10, 3) == ["一", "二", "三"]
        assert {call.query["access_token"] for call in api.calls} == {"tok"}
        api.refuse_next = [21602]
        with caplog.at_level(logging.INFO, logger="bot.channels.weibo"):
            assert pusher.push(11, text="乙").empty
            time.sleep(0.5)
        assert [call.answer.get("error_code") for call in api.calls if call.form["receiver_id"] == "11"] == [21602]
        logged = caplog.text
        assert "error_code 21602" in logged and "乙" not in logged and "一" not in logged
    finally:
        api.stop()


# --- The real assistant -----------------------------------------------------------------

SECRET = "zhengwu-weibo-test-secret"
ACCESS_TOKEN = "2.00weibo-test-token"


class WeiboStack(Stack):
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


@pytest.fixture(scope="module")
def api() -> Iterator[FakeWeiboApi]:
    fake = FakeWeiboApi(ACCESS_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, api: FakeWeiboApi) -> Iterator[Stack]:
    credentials = (
        "bot.channels.rest.RestInput:\n"
        "bot.channels.weibo.WeiboInput:\n"
        "tests.fake_weibo.LateWeiboInput:\n"
        "  reply_window_seconds: 0.0001\n"
    )
    env = {"WEIBO_APP_SECRET": SECRET, "WEIBO_ACCESS_TOKEN": ACCESS_TOKEN, "WEIBO_API_BASE": api.url}
    env |= {"REDIS_URL": REDIS_TEST_URL}
    with WeiboStack(Path(tmp_path_factory.mktemp("weibo")), credentials, env) as running:
        yield running


class Citizen:
    """One Weibo user writing to the account through a channel endpoint."""

    def __init__(self, stack: Stack, api: FakeWeiboApi, endpoint: str = "weibo") -> None:
        self.stack = stack
        self.api = api
        self.uid = next(UIDS)
        USED_UIDS.append(self.uid)
        self.pusher = Pusher(f"{stack.rasa_url}/webhooks/{endpoint}/webhook", SECRET)

    def send(self, kind: str = "text", text: str = "", **data: Any) -> str:
        """What the citizen reads in answer: the passive reply, or what came late through reply.json."""
        before = len(self.api.delivered(self.uid))
        reply = self.pusher.push(self.uid, kind, text, data)
        assert reply.status == 200, reply.body
        if reply.text is not None:
            return reply.text
        self.api.wait_for_delivered(self.uid, before + 1)
        time.sleep(0.3)  # the rest of the turn's answers
        return "\n\n".join(self.api.delivered(self.uid)[before:])

    def say(self, text: str) -> str:
        return self.send(text=text)

    def user_events(self) -> list[dict[str, Any]]:
        answer = requests.get(
            f"{self.stack.rasa_url}/conversations/{self.uid}/tracker", params={"token": self.stack.token}, timeout=10
        )
        answer.raise_for_status()
        return [event for event in answer.json()["events"] if event.get("event") == "user"]


def test_rasa_verifies_the_url(stack: Stack) -> None:
    pusher = Pusher(f"{stack.rasa_url}/webhooks/weibo/webhook", SECRET)
    query = {**pusher.signed_query(), "echostr": "hello-weibo"}
    assert requests.get(pusher.url, params=query, timeout=10).text == "hello-weibo"
    wrong = {**query, "signature": sign("other", query["timestamp"], query["nonce"])}
    assert requests.get(pusher.url, params=wrong, timeout=10).status_code == 403


def test_a_chinese_message_gets_a_passive_chinese_reply(stack: Stack, api: FakeWeiboApi) -> None:
    citizen = Citizen(stack, api)
    reply = citizen.pusher.push(citizen.uid, text="你好")
    assert reply.text is not None and "政务助手" in reply.text, reply.body
    assert "回复序号：\n1. 办护照" in reply.text, "the menu's buttons as numbered lines"
    assert (reply.fields["receiver_id"], reply.fields["sender_id"], reply.fields["type"]) == (
        citizen.uid,
        ACCOUNT,
        "text",
    )
    assert not api.delivered(citizen.uid)


def test_an_english_message_gets_an_english_reply(stack: Stack, api: FakeWeiboApi) -> None:
    answer = Citizen(stack, api).say("hello")
    assert "government services assistant" in answer and "Reply with a number:\n1. Passport" in answer, answer
    assert not re.search(r"[\u4e00-\u9fff]", answer), answer


def test_a_slow_answer_arrives_through_reply_json(stack: Stack, api: FakeWeiboApi) -> None:
    citizen = Citizen(stack, api, endpoint="weibo_late")
    assert citizen.pusher.push(citizen.uid, text="你好").empty
    [text] = api.wait_for_delivered(citizen.uid)
    assert "政务助手" in text and "1. 办护照" in text
    [call] = [call for call in api.calls if call.form.get("receiver_id") == str(citizen.uid)]
    assert call.query == {"access_token": ACCESS_TOKEN} and call.form["type"] == "text"


def test_an_answer_too_long_for_one_message_arrives_in_pieces_in_order(stack: Stack, api: FakeWeiboApi) -> None:
    citizen = Citizen(stack, api)
    assert citizen.pusher.push(citizen.uid, text="how do I get a passport").empty
    api.wait_for_delivered(citizen.uid, 2)
    time.sleep(0.5)
    pieces = api.delivered(citizen.uid)
    assert pieces[0].startswith("[Ordinary passport issuance]") and all(len(piece) < 300 for piece in pieces)
    assert "Fee: CNY 120" in "\n".join(pieces)


def test_the_same_push_three_times_reaches_rasa_once(stack: Stack, api: FakeWeiboApi) -> None:
    for endpoint in ("weibo", "weibo_late"):
        citizen = Citizen(stack, api, endpoint)
        body = citizen.pusher.body(citizen.uid, text="谢谢")
        replies = [citizen.pusher.send(body) for _ in range(3)]
        if endpoint == "weibo":
            assert replies[0].text and [reply.text for reply in replies] == [replies[0].text] * 3
        else:
            assert all(reply.empty for reply in replies)
            api.wait_for_delivered(citizen.uid)
            time.sleep(1)
            assert len(api.delivered(citizen.uid)) == 1, "no second reply.json"
        assert [event["text"] for event in citizen.user_events()] == ["谢谢"]


def test_following_is_welcomed_with_the_menu_and_a_number_picks_from_it(stack: Stack, api: FakeWeiboApi) -> None:
    citizen = Citizen(stack, api)
    welcome = citizen.send("event", "关注事件消息", subtype="follow")
    assert "政务助手" in welcome and "1. 办护照" in welcome
    answer = citizen.say("1")
    assert citizen.user_events()[-1]["text"] == "我想办护照", "the first button's payload"
    assert "普通护照签发" in answer
    assert citizen.pusher.push(citizen.uid, "event", "取消关注事件消息", {"subtype": "unfollow"}).empty
    assert [event["text"] for event in citizen.user_events()] == ["/greet", "我想办护照"]


def test_a_menu_click_and_a_location_reach_the_assistant(stack: Stack, api: FakeWeiboApi) -> None:
    citizen = Citizen(stack, api, endpoint="weibo_late")
    assert "什么问题" in citizen.send("event", "", subtype="click", key="report_problem")
    citizen.send("position", "我在这里: http://t.cn/zQgLLYO", longitude="104.04", latitude="30.64")
    located = citizen.user_events()[-1]
    assert located["text"] == "[位置]" and located["input_channel"] == "weibo_late"
    assert located["metadata"]["latitude"] == 30.64 and located["metadata"]["longitude"] == 104.04


def test_rasa_refuses_bad_pushes_and_asks_for_a_link_instead_of_a_picture(stack: Stack, api: FakeWeiboApi) -> None:
    citizen = Citizen(stack, api)
    assert citizen.pusher.send(b'{"type": "text", "sender_id": ').status == 400
    assert citizen.pusher.send(b'{"type": "text"' + b" " * 70000 + b"}").status == 413
    stale = citizen.pusher.signed_query(str(int((time.time() - 3600) * 1000)))
    assert citizen.pusher.send(citizen.pusher.body(citizen.uid, text="你好"), stale).status == 403
    assert citizen.send("image", "发了一张图片", vfid=821804459, tovfid=821804469) == SEND_A_LINK
    assert not citizen.user_events()


def test_the_rasa_log_names_a_refusal_by_its_code_never_by_what_was_said(stack: Stack, api: FakeWeiboApi) -> None:
    citizen = Citizen(stack, api, endpoint="weibo_late")
    api.refuse_next = [21602]
    assert citizen.pusher.push(citizen.uid, text="我想办护照").empty
    wait_for(lambda: f"{pseudonym(str(citizen.uid))} refused (HTTP 403, error_code 21602)" in rasa_log(stack))
    logged = rasa_log(stack)
    for said in ("你好", "谢谢", "我想办护照", "how do I get a passport", "普通护照"):
        assert said not in logged
    assert not [uid for uid in USED_UIDS if str(uid) in logged], "uids are hashed"


def rasa_log(stack: Stack) -> str:
    return stack.processes["rasa"].log()
