"""The WeChat channel (bot/channels/wechat.py) as WeChat and a citizen see it.

Three layers:
- the protocol on Tencent's published vectors (../shared/data/wechat/VECTORS.md), and
  against wechatpy, an independent implementation;
- the endpoint on a Sanic app of its own with a stand-in assistant and a fixed clock, so
  the vectors' requests (years old) pass through it unchanged;
- the real platform, action server and Rasa server, with WeChat's API server faked
  (tests/fake_wechat.py), shared state in Redis (REDIS_TEST_URL). The test credentials
  open the channel twice: /webhooks/wechat with the usual 4.5 s window, and
  /webhooks/wechat_late whose window is 0.1 ms, so every answer there goes late through
  the customer-service API without any test waiting 5 seconds.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sanic import Sanic
from wechatpy.crypto import WeChatCrypto

from bot.channels import wechat_crypto as protocol
from bot.channels.outgoing import (
    AccessTokenCache,
    ChoiceMemory,
    Deduplicator,
    KeyValueStore,
    MemoryStore,
    RedisStore,
    chosen,
    join_fitting,
    pseudonym,
    render_answers,
    split_to_fit,
)
from bot.channels.wechat import UNSUPPORTED, WeChatInput, WeChatSettings, assistant_input
from tests.channel_harness import ChannelServer, StandIn
from tests.fake_wechat import FakeWeChatApi, Pusher, message_xml, sign
from tools.stack import Command, Process, Stack
from tools.train import ensure_model

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379")
RUN = uuid.uuid4().hex[:8]  # Redis outlives a test run: every key this run writes is its own

# Vectors of VECTORS.md
A = {"token": "AAAAA", "timestamp": "1714036504", "nonce": "1514711492", "echostr": "4375120948345356249"}
A_SIGNATURE = "f464b24fc39322e44b38aa78f5edd27bd1441696"
B_KEY, B_APPID = "A" * 43, "wxba5fad812f8e6fb9"
B_QUERY = {
    "signature": "6c5c811b55cc85e0e1b54100749188c20beb3f5d",
    "timestamp": "1714112445",
    "nonce": "415670741",
    "openid": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
    "encrypt_type": "aes",
    "msg_signature": "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
}
B_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8X"
    "GT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIj"
    "df8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)
B_MESSAGE = (
    '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,'
    '"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}'
)
B_REPLY_RANDOM = b"707722b803182950"
B_REPLY = {
    "message": '{"demo_resp":"good luck"}',
    "timestamp": "1713424427",
    "nonce": "415670741",
    "encrypt": "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
    "signature": "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
}
B_PLAIN_QUERY = {
    "signature": "899cf89e464efb63f54ddac96b0a0a235f53aa78",
    "timestamp": "1714037059",
    "nonce": "486452656",
}
C = {
    "token": "spamtest",
    "key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "appid": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
}
C_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpb"
    "UAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlp"
    "Kn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD"
    "1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
C_MESSAGE = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
    "</Content><MsgId>6054768590064713728</MsgId></xml>"
)
ENTITY_XML = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><MsgType>text</MsgType>"
    "<Content>&lol2;</Content><MsgId>1</MsgId></xml>"
)


# --- The protocol on Tencent's vectors -------------------------------------------------


def test_url_verification_signature_is_tencents() -> None:
    assert protocol.signature(A["token"], A["timestamp"], A["nonce"]) == A_SIGNATURE
    assert protocol.signature_matches(A_SIGNATURE, A["nonce"], A["token"], A["timestamp"]), "order does not matter"
    assert not protocol.signature_matches(A_SIGNATURE, "AAAAB", A["timestamp"], A["nonce"])
    plain = protocol.signature("AAAAA", B_PLAIN_QUERY["timestamp"], B_PLAIN_QUERY["nonce"])
    assert plain == B_PLAIN_QUERY["signature"], "plain-mode POSTs are signed the same way"


def test_json_safe_mode_body_opens_to_the_published_message() -> None:
    opened = protocol.open_sealed(protocol.aes_key(B_KEY), B_ENCRYPT)
    assert opened.random == b"a8eedb185eb2fecf"
    assert opened.message == B_MESSAGE and len(opened.message.encode()) == 167
    assert opened.app_id == B_APPID
    crypto = protocol.MessageCrypto("AAAAA", [B_KEY], B_APPID)
    assert crypto.open(B_ENCRYPT, B_QUERY["timestamp"], B_QUERY["nonce"], B_QUERY["msg_signature"]) == B_MESSAGE


def test_reply_seals_to_the_published_encrypt_and_msg_signature() -> None:
    crypto = protocol.MessageCrypto("AAAAA", [B_KEY], B_APPID, random=lambda size: B_REPLY_RANDOM)
    sealed = crypto.seal_reply(B_REPLY["message"], B_REPLY["timestamp"], B_REPLY["nonce"])
    assert sealed["Encrypt"] == B_REPLY["encrypt"]
    assert sealed["MsgSignature"] == B_REPLY["signature"]
    assert (sealed["TimeStamp"], sealed["Nonce"]) == (B_REPLY["timestamp"], B_REPLY["nonce"])


def test_xml_safe_mode_sample_opens_to_its_message() -> None:
    crypto = protocol.MessageCrypto(C["token"], [C["key"]], C["appid"])
    message = crypto.open(C_ENCRYPT, C["timestamp"], C["nonce"], C["msg_signature"])
    assert message.replace("\n", "") == C_MESSAGE
    fields = protocol.parse_body(message.encode())
    assert fields["Content"] == "abcdteT" and fields["MsgId"] == "6054768590064713728"


def test_msg_signature_not_signature_guards_the_body() -> None:
    crypto = protocol.MessageCrypto("AAAAA", [B_KEY], B_APPID)
    with pytest.raises(protocol.SignatureError):
        crypto.open(B_ENCRYPT, B_QUERY["timestamp"], B_QUERY["nonce"], B_QUERY["signature"])
    with pytest.raises(protocol.SignatureError):  # the body changed, the signature did not
        crypto.open(B_ENCRYPT.replace("+qdx", "+qdy"), B_QUERY["timestamp"], B_QUERY["nonce"], B_QUERY["msg_signature"])


def test_the_aes_key_is_the_base64_of_the_encoding_key_and_the_iv_its_first_half() -> None:
    key = protocol.aes_key(C["key"])
    assert key == base64.b64decode(C["key"] + "=") and len(key) == 32
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = decryptor.update(base64.b64decode(C_ENCRYPT)) + decryptor.finalize()
    length = int.from_bytes(raw[16:20], "big")
    assert raw[20 : 20 + length].decode().startswith("<xml>")
    for bad in ("A" * 42, "A" * 44, "!" * 43):
        with pytest.raises(ValueError):
            protocol.aes_key(bad)


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 44, 45, 100])
def test_padding_fills_32_byte_blocks(size: int) -> None:
    key = protocol.aes_key(B_KEY)
    encrypted = protocol.seal(key, "x" * size, B_APPID, b"0123456789abcdef")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    unpadded = 16 + 4 + size + len(B_APPID)
    assert len(raw) % 32 == 0 and len(raw) - unpadded == raw[-1] and 1 <= raw[-1] <= 32
    assert raw[-raw[-1] :] == bytes([raw[-1]]) * raw[-1]
    assert protocol.open_sealed(key, encrypted).message == "x" * size


def test_a_message_for_another_appid_is_refused() -> None:
    crypto = protocol.MessageCrypto("AAAAA", [B_KEY], "wx0000000000000000")
    with pytest.raises(protocol.DecryptionError):
        crypto.open(B_ENCRYPT, B_QUERY["timestamp"], B_QUERY["nonce"], B_QUERY["msg_signature"])


def test_the_previous_key_still_opens_messages_during_a_key_change() -> None:
    new_key = "B" * 43
    crypto = protocol.MessageCrypto("AAAAA", [new_key, B_KEY], B_APPID, random=lambda size: b"r" * size)
    assert crypto.open(B_ENCRYPT, B_QUERY["timestamp"], B_QUERY["nonce"], B_QUERY["msg_signature"]) == B_MESSAGE
    reply = crypto.seal_reply("hi", "1", "2")
    assert protocol.open_sealed(protocol.aes_key(new_key), reply["Encrypt"]).message == "hi", "replies use the new key"
    with pytest.raises(protocol.DecryptionError):
        protocol.MessageCrypto("AAAAA", [new_key], B_APPID).open(
            B_ENCRYPT, B_QUERY["timestamp"], B_QUERY["nonce"], B_QUERY["msg_signature"]
        )


def test_wechatpy_and_this_channel_read_each_other() -> None:
    theirs = WeChatCrypto(C["token"], C["key"], C["appid"])
    ours = protocol.MessageCrypto(C["token"], [C["key"]], C["appid"])
    sealed = theirs.encrypt_message("<xml><Content>你好</Content></xml>", "7", "1700000000")
    envelope = protocol.parse_body(sealed.encode())
    assert ours.open(envelope["Encrypt"], "1700000000", "7", envelope["MsgSignature"]) == (
        "<xml><Content>你好</Content></xml>"
    )
    reply = protocol.sealed_reply(ours.seal_reply("<xml><Content>好的</Content></xml>", "1700000001", "8"))
    assert theirs.decrypt_message(reply, protocol.parse_body(reply.encode())["MsgSignature"], "1700000001", "8") == (
        "<xml><Content>好的</Content></xml>"
    )


def test_bodies_with_a_doctype_or_not_xml_are_refused_unexpanded() -> None:
    for body in (ENTITY_XML, "<xml><a>", "not a message", "[1, 2]", "<html></html>"):
        with pytest.raises(protocol.MalformedBody):
            protocol.parse_body(body.encode())
    assert protocol.parse_body(b'{"MsgType": "text", "CreateTime": 5}') == {"MsgType": "text", "CreateTime": "5"}


def test_a_reply_with_cdata_end_in_its_text_stays_one_text() -> None:
    xml = protocol.text_reply("o1", "gh", 1, "a]]>b<c>&")
    assert protocol.parse_body(xml.encode())["Content"] == "a]]>b<c>&"


# --- Rendering and shared state (bot/channels/outgoing.py) ------------------------------


def test_buttons_become_numbered_lines_numbered_on_across_a_turn() -> None:
    yes_no = [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}]
    listed = "您要办的是以下哪一项？\n1. 户口迁移\n2. 户口登记"
    candidates = [{"title": "户口迁移", "payload": "/a"}, {"title": "户口登记", "payload": "/b"}]
    rendered = render_answers(
        [
            {"text": "【护照】", "custom": {"type": "service_card"}},
            {"text": "继续吗？", "buttons": yes_no},
            {"text": listed, "buttons": candidates},
            {"text": "Which one?", "buttons": [{"title": "Passport", "payload": "/p"}]},
            {"custom": {"type": "no text"}},
            {"image": "https://example.com/map.png"},
        ]
    )
    assert rendered.texts == [
        "【护照】",
        "继续吗？\n回复序号：\n1. 是\n2. 否",
        "您要办的是以下哪一项？\n3. 户口迁移\n4. 户口登记",  # already listed: renumbered, not repeated
        "Which one?\nReply with a number:\n5. Passport",
        "https://example.com/map.png",
    ]
    assert rendered.choices == ["/affirm", "/deny", "/a", "/b", "/p"]


def test_a_number_picks_a_choice_and_anything_else_is_left_alone() -> None:
    choices = ["/affirm", "/deny"]
    assert chosen("2", choices) == "/deny" and chosen(" ２ ", choices) == "/deny" and chosen("1.", choices) == "/affirm"
    assert chosen("3", choices) is None and chosen("0", choices) is None and chosen("1234", choices) is None
    assert chosen("第2个", choices) is None and chosen("13912345678", choices) is None


def test_a_text_too_long_for_one_message_is_cut_between_lines() -> None:
    lines = [f"{number}. " + "材料" * 100 for number in range(1, 8)]  # 603 bytes each
    pieces = split_to_fit("\n".join(lines), 2048)
    assert [len(piece.split("\n")) for piece in pieces] == [3, 3, 1] and "\n".join(pieces) == "\n".join(lines)
    assert split_to_fit("字" * 1000, 2048) == ["字" * 682, "字" * 318], "a line too long alone is cut anywhere"
    assert split_to_fit("短", 2048) == ["短"]


def test_answers_join_into_one_reply_only_when_they_fit() -> None:
    assert join_fitting(["一", "二"], 100) == "一\n\n二"
    assert join_fitting(["一" * 682], 2048) is not None and join_fitting(["一" * 683], 2048) is None


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> KeyValueStore:
    return MemoryStore() if request.param == "memory" else RedisStore(REDIS_TEST_URL)


def test_a_message_id_is_new_once(store: KeyValueStore) -> None:
    seen = Deduplicator(store, f"test:{RUN}:seen:")

    async def three_times() -> list[bool]:
        return await asyncio.gather(*(seen.first_time("msg:42") for _ in range(3)))

    assert sorted(asyncio.run(three_times())) == [False, False, True]


def test_remembered_choices_turn_a_number_into_a_payload(store: KeyValueStore) -> None:
    memory = ChoiceMemory(store, f"test:{RUN}:choices:")

    async def scenario() -> list[str]:
        await memory.remember("o1", ["/a", '/choose_candidate{"service_id": "x"}'])
        picked = [await memory.resolve("o1", "2"), await memory.resolve("o1", "5"), await memory.resolve("o2", "1")]
        await memory.remember("o1", [])
        return [*picked, await memory.resolve("o1", "1")]

    assert asyncio.run(scenario()) == ['/choose_candidate{"service_id": "x"}', "5", "1", "1"]


def test_two_processes_fetch_one_token_and_renew_it_once(store: KeyValueStore) -> None:
    fetched: list[str] = []

    async def fetch() -> tuple[str, float]:
        await asyncio.sleep(0.05)
        fetched.append(f"token-{len(fetched) + 1}")
        return fetched[-1], 7200

    async def scenario() -> tuple[list[str], str, str]:
        key = f"test:{RUN}:token:{uuid.uuid4().hex}"
        first, second = AccessTokenCache(store, key, fetch), AccessTokenCache(store, key, fetch)  # two processes
        tokens = await asyncio.gather(*(cache.get() for cache in (first, second) for _ in range(3)))
        renewed = await asyncio.gather(first.renew("token-1"), second.renew("token-1"))
        stale_renewal = await first.renew("token-1")  # a late refusal of the old token keeps the new one
        return list(tokens), "".join(sorted(set(renewed))), stale_renewal

    tokens, renewed, stale_renewal = asyncio.run(scenario())
    assert tokens == ["token-1"] * 6 and renewed == "token-2" and stale_renewal == "token-2"
    assert fetched == ["token-1", "token-2"]


def test_what_the_assistant_hears_of_each_kind_of_push() -> None:
    def heard(**fields: str) -> tuple[str, dict[str, Any]] | None:
        return assistant_input(fields)

    assert heard(MsgType="text", Content="我要办护照") == ("我要办护照", {"channel": "wechat"})
    url = "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"
    assert heard(MsgType="image", PicUrl=url) == (url, {"channel": "wechat", "photo_urls": [url]})
    located = heard(MsgType="location", Location_X="30.64", Location_Y="104.04", Label="四川省成都市武侯区玉林路")
    assert located == (
        "[位置] 四川省成都市武侯区玉林路",
        {"channel": "wechat", "latitude": 30.64, "longitude": 104.04, "label": "四川省成都市武侯区玉林路"},
    )
    assert heard(MsgType="voice", Recognition="查进度") == ("查进度", {"channel": "wechat"})
    assert heard(MsgType="event", Event="subscribe") == ("/greet", {"channel": "wechat"})
    clicked = heard(MsgType="event", Event="CLICK", EventKey="report_problem")
    assert clicked == ("/report_problem", {"channel": "wechat"})
    assert heard(MsgType="event", Event="CLICK", EventKey="我想办护照") == ("我想办护照", {"channel": "wechat"})
    assert heard(MsgType="event", Event="unsubscribe") is None
    assert heard(MsgType="event", Event="VIEW", EventKey="https://example.com") is None


def test_settings_come_from_credentials_where_given_else_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"WECHAT_TOKEN": "t", "WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s", "WECHAT_AES_KEY": B_KEY}
    env |= {"WECHAT_AES_KEY_PREVIOUS": "B" * 43, "REDIS_URL": "redis://r", "WECHAT_REPLY_WINDOW_SECONDS": "2"}
    settings = WeChatSettings.read(None, env)
    assert settings == WeChatSettings("t", "wx1", "s", (B_KEY, "B" * 43), "https://api.weixin.qq.com", 2.0, "redis://r")
    given = WeChatSettings.read({"token": "T2", "api_base": "http://fake", "reply_window_seconds": 0.5}, env)
    assert (given.token, given.app_id, given.api_base, given.reply_window) == ("T2", "wx1", "http://fake", 0.5)
    for variable in ("WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_AES_KEY", "REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    off = WeChatInput.from_credentials(None)  # credentials.yml names the channel with nothing under it
    assert isinstance(off, WeChatInput) and not off.settings.token and off.get_output_channel() is None


# --- The endpoint, with a stand-in assistant ------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def text_message(content: str, msg_id: int, sender: str = "o1") -> dict[str, Any]:
    return {"FromUserName": sender, "MsgType": "text", "Content": content, "MsgId": msg_id}


Serve = Callable[..., tuple[ChannelServer, StandIn]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Starts the channel with these settings (and a fixed clock: `now`) before a stand-in assistant."""
    started: list[ChannelServer] = []
    test_mode = Sanic.test_mode
    Sanic.test_mode = True  # as sanic-testing does: several apps in one process, each touched up anew

    def start(settings: WeChatSettings, now: float | None = None, **channel: Any) -> tuple[ChannelServer, StandIn]:
        assistant = StandIn()
        wechat = WeChatInput(settings, clock=Clock(now) if now else time.time, store=MemoryStore(), **channel)
        started.append(ChannelServer(wechat, assistant))
        return started[-1], assistant

    yield start
    for server in started:
        server.stop()
    Sanic.test_mode = test_mode


def test_url_verification_echoes_echostr_on_tencents_request(serve: Serve) -> None:
    server, _ = serve(WeChatSettings(token="AAAAA"), now=1714036504)
    query = {"signature": A_SIGNATURE, "echostr": A["echostr"], "timestamp": A["timestamp"], "nonce": A["nonce"]}
    answer = requests.get(server.url, params=query, timeout=5)
    assert (answer.status_code, answer.text) == (200, "4375120948345356249")
    assert requests.get(server.url, params={**query, "signature": "0" * 40}, timeout=5).status_code == 403
    assert requests.get(server.url, params={**query, "nonce": "1"}, timeout=5).status_code == 403


def test_url_verification_refuses_a_stale_timestamp(serve: Serve) -> None:
    server, _ = serve(WeChatSettings(token="AAAAA"), now=1714036504 + 301)
    query = {"signature": A_SIGNATURE, "echostr": A["echostr"], "timestamp": A["timestamp"], "nonce": A["nonce"]}
    assert requests.get(server.url, params=query, timeout=5).status_code == 403


def test_without_a_token_the_channel_is_off(serve: Serve) -> None:
    server, assistant = serve(WeChatSettings())
    assert requests.get(server.url, params={"echostr": "1"}, timeout=5).status_code == 404
    assert requests.post(server.url, data=b"<xml/>", timeout=5).status_code == 404
    assert not assistant.heard and server.channel.get_output_channel() is None


def test_json_safe_mode_push_of_tencents_vector_is_accepted(serve: Serve) -> None:
    settings = WeChatSettings(token="AAAAA", app_id=B_APPID, aes_keys=(B_KEY,))
    server, assistant = serve(settings, now=1714112445)
    body = json.dumps({"ToUserName": "gh_97417a04a28d", "Encrypt": B_ENCRYPT})
    answer = requests.post(server.url, params=B_QUERY, data=body, timeout=5)
    assert (answer.status_code, answer.text) == (200, "success"), "a debug event: nothing to say"
    assert not assistant.heard
    wrong = requests.post(server.url, params={**B_QUERY, "msg_signature": B_QUERY["signature"]}, data=body, timeout=5)
    assert wrong.status_code == 403


def test_json_plain_push_with_tencents_signature_gets_a_json_reply(serve: Serve) -> None:
    server, _ = serve(WeChatSettings(token="AAAAA"), now=1714037059)
    message = {"ToUserName": "gh_1", "FromUserName": "o1", "CreateTime": 1714037059, "MsgType": "text"}
    message |= {"Content": "你好", "MsgId": 1}
    answer = requests.post(server.url, params=B_PLAIN_QUERY, json=message, timeout=5)
    reply = json.loads(answer.text)
    assert reply["Content"] == "收到：你好" and (reply["ToUserName"], reply["FromUserName"]) == ("o1", "gh_1")
    assert reply["MsgType"] == "text" and reply["CreateTime"] == 1714037059
    assert requests.post(server.url, params={**B_PLAIN_QUERY, "nonce": "1"}, json=message, timeout=5).status_code == 403


def test_xml_safe_mode_sample_reaches_the_assistant_and_the_reply_is_sealed(serve: Serve) -> None:
    settings = WeChatSettings(token=C["token"], app_id=C["appid"], aes_keys=(C["key"],))
    server, assistant = serve(settings, now=1409735669, random=lambda size: b"0123456789abcdef")
    query = {k: C[k] for k in ("timestamp", "nonce", "msg_signature")} | {"encrypt_type": "aes"}
    query["signature"] = sign(C["token"], C["timestamp"], C["nonce"])
    body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{C_ENCRYPT}]]></Encrypt></xml>"
    answer = requests.post(server.url, params=query, data=body.encode(), timeout=5)
    assert answer.status_code == 200, answer.text
    [heard] = assistant.heard
    assert (heard.text, heard.sender_id, heard.input_channel) == ("abcdteT", "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "wechat")
    assert heard.metadata == {"channel": "wechat"}
    reply = Pusher(server.url, C["token"], C["key"], C["appid"]).read(answer, safe=True)
    assert reply.content == "收到：abcdteT"
    assert (reply.fields["ToUserName"], reply.fields["FromUserName"]) == (heard.sender_id, "gh_10f6c3c3ac5a")
    envelope = protocol.parse_body(answer.content)
    assert (envelope["TimeStamp"], envelope["Nonce"]) == ("1409735669", C["nonce"])
    opened = protocol.open_sealed(protocol.aes_key(C["key"]), envelope["Encrypt"])
    assert opened.random == b"0123456789abcdef" and opened.app_id == C["appid"]


def test_safe_mode_refuses_wrong_signature_wrong_appid_and_accepts_the_previous_key(
    serve: Serve,
) -> None:
    settings = WeChatSettings(token="tk", app_id="wx_ours", aes_keys=("N" * 43, "P" * 43))
    server, assistant = serve(settings)
    previous = Pusher(server.url, "tk", "P" * 43, "wx_ours", reply_aes_key="N" * 43)
    assert previous.push(text_message("旧钥匙", 11), safe=True).content == "收到：旧钥匙", "replies use the new key"
    current = Pusher(server.url, "tk", "N" * 43, "wx_ours")
    assert current.push(text_message("新钥匙", 12), safe=True).content
    other_app = Pusher(server.url, "tk", "N" * 43, "wx_theirs")
    assert other_app.push(text_message("x", 13), safe=True).status == 403
    other_token = Pusher(server.url, "tk2", "N" * 43, "wx_ours")
    assert other_token.push(text_message("x", 14), safe=True).status == 403
    assert [message.text for message in assistant.heard] == ["旧钥匙", "新钥匙"]


def test_bad_bodies_get_400_413_or_403_never_500(serve: Serve) -> None:
    server, assistant = serve(WeChatSettings(token="tk"))
    now = str(int(time.time()))
    signed = {"timestamp": now, "nonce": "5", "signature": sign("tk", now, "5")}

    def post(body: bytes, query: dict[str, str] = signed) -> int:
        return requests.post(server.url, params=query, data=body, timeout=5).status_code

    assert post(b"<xml><ToUserName>gh</ToUserName") == 400
    assert post(ENTITY_XML.encode()) == 400
    assert post(b"<xml><MsgType>text</MsgType></xml>") == 400, "no sender"
    assert post(b"\xff\xfe<xml/>") == 400
    assert post(message_xml(text_message("x" * 70000, 1)).encode()) == 413
    assert post(b"<xml/>", {**signed, "signature": "0" * 40}) == 403
    assert post(b"<xml/>", {"nonce": "5", "signature": sign("tk", "", "5")}) == 403
    stale = str(int(time.time()) - 600)
    assert post(b"<xml/>", {"timestamp": stale, "nonce": "5", "signature": sign("tk", stale, "5")}) == 403
    safe_without_key = {**signed, "encrypt_type": "aes", "msg_signature": "0" * 40}
    assert post(b"<xml><Encrypt>abc</Encrypt></xml>", safe_without_key) == 403
    assert not assistant.heard


def test_unsupported_kinds_get_a_polite_reply_and_silent_events_success(serve: Serve) -> None:
    server, assistant = serve(WeChatSettings(token="tk"))
    pusher = Pusher(server.url, "tk")
    video = pusher.push({"FromUserName": "o1", "MsgType": "video", "MediaId": "m", "MsgId": 21})
    assert video.content == UNSUPPORTED and "暂不支持这种消息" in UNSUPPORTED
    assert pusher.push({"FromUserName": "o1", "MsgType": "event", "Event": "unsubscribe"}).body == "success"
    assert pusher.push({"FromUserName": "o1", "MsgType": "event", "Event": "VIEW", "EventKey": "http://x"}).body == (
        "success"
    )
    assert not assistant.heard


def test_a_retry_while_the_first_is_running_is_answered_once(serve: Serve) -> None:
    server, assistant = serve(WeChatSettings(token="tk", reply_window=3))
    assistant.delay = 0.5
    pusher = Pusher(server.url, "tk")
    message = text_message("慢", 31)
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: pusher.push(message), range(3)))
    assert [reply.content for reply in replies] == ["收到：慢"] * 3
    assert len(assistant.heard) == 1
    event = {"FromUserName": "o1", "MsgType": "event", "Event": "subscribe", "CreateTime": 77}
    assert pusher.push(event).content == pusher.push(event).content == "收到：/greet"
    assert len(assistant.heard) == 2, "events are told apart by sender and time"


def test_logs_carry_no_words_and_no_openid(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels")
    server, assistant = serve(WeChatSettings(token="tk", reply_window=0.2))
    pusher = Pusher(server.url, "tk")
    said = "我的手机号是13912345678，路灯坏了"
    pusher.push(text_message(said, 61, sender="oSecretOpenid42"))
    pusher.push(text_message(said, 61, sender="oSecretOpenid42"))
    assistant.delay = 0.5
    assert pusher.push(text_message(said, 62, sender="oSecretOpenid42")).body == "success"
    time.sleep(0.6)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "msg:61" in logged and "msg:62" in logged and pseudonym("oSecretOpenid42") in logged
    assert "oSecretOpenid42" not in logged and "13912345678" not in logged and "路灯" not in logged


def test_late_answers_stop_when_the_window_has_closed(serve: Serve) -> None:
    api = FakeWeChatApi("wx_late", "secret").start()
    try:
        settings = WeChatSettings("tk", "wx_late", "secret", api_base=api.url, reply_window=0.0001)
        server, assistant = serve(settings)
        assistant.answers = lambda text: [{"text": "一"}, {"text": "二"}, {"text": "三"}]
        assistant.delay = 0.1
        api.window_closed_for.add("o-closed")
        pusher = Pusher(server.url, "tk")
        assert pusher.push(text_message("a", 41, sender="o-open")).body == "success"
        assert api.wait_for_delivered("o-open", 3) == ["一", "二", "三"]
        assert pusher.push(text_message("b", 42, sender="o-closed")).body == "success"
        time.sleep(0.5)
        sends = [call for call in api.calls_to("/cgi-bin/message/custom/send") if call.body["touser"] == "o-closed"]
        assert [call.answer["errcode"] for call in sends] == [45015], "logged, not retried, the rest not tried"
        assert len(api.calls_to("/cgi-bin/stable_token")) == 1
    finally:
        api.stop()


# --- The real assistant -----------------------------------------------------------------

TOKEN = "zhengwu-test-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode()[:43]
APP_ID = f"wx{RUN}test0000"[:18]
SECRET = "zhengwu-test-secret"


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


@pytest.fixture(scope="module")
def api() -> Iterator[FakeWeChatApi]:
    fake = FakeWeChatApi(APP_ID, SECRET).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, api: FakeWeChatApi) -> Iterator[Stack]:
    credentials = (
        "bot.channels.rest.RestInput:\n"
        "bot.channels.wechat.WeChatInput:\n"
        "tests.fake_wechat.LateWeChatInput:\n"
        "  reply_window_seconds: 0.0001\n"
    )
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APP_ID, "WECHAT_APPSECRET": SECRET, "WECHAT_AES_KEY": AES_KEY}
    env |= {"WECHAT_API_BASE": api.url, "REDIS_URL": REDIS_TEST_URL}
    with WeChatStack(Path(tmp_path_factory.mktemp("wechat")), credentials, env) as running:
        running.say("warm-up", "你好")  # the first answer after a start is slow: not one a test waits on
        yield running


MSG_IDS = itertools.count(time.time_ns() // 1000)  # unique across runs: Redis remembers MsgIds


def openid(name: str) -> str:
    return f"o{RUN}-{name}"


class Citizen:
    """One WeChat user talking to the assistant through a channel endpoint."""

    def __init__(self, stack: Stack, api: FakeWeChatApi, name: str, endpoint: str = "wechat") -> None:
        self.stack = stack
        self.api = api
        self.openid = openid(name)
        self.pusher = Pusher(f"{stack.rasa_url}/webhooks/{endpoint}/webhook", TOKEN, AES_KEY, APP_ID)

    @staticmethod
    def next_msg_id() -> int:
        return next(MSG_IDS)

    def send(self, safe: bool = False, **fields: Any) -> str:
        """What the citizen reads in answer: the passive reply, or what came late through the API."""
        before = len(self.api.delivered(self.openid))
        if fields.get("MsgType", "text") != "event":
            fields.setdefault("MsgId", self.next_msg_id())
        reply = self.pusher.push({"FromUserName": self.openid, "MsgType": "text", **fields}, safe=safe)
        assert reply.status == 200, reply.body
        if reply.content is not None:
            return reply.content
        self.api.wait_for_delivered(self.openid, before + 1)
        time.sleep(0.3)  # the rest of the turn's answers
        return "\n\n".join(self.api.delivered(self.openid)[before:])

    def say(self, text: str, safe: bool = False) -> str:
        return self.send(safe=safe, Content=text)

    def user_events(self) -> list[dict[str, Any]]:
        answer = requests.get(
            f"{self.stack.rasa_url}/conversations/{self.openid}/tracker", params={"token": self.stack.token}, timeout=10
        )
        answer.raise_for_status()
        return [event for event in answer.json()["events"] if event.get("event") == "user"]


def test_rasa_verifies_the_url(stack: Stack) -> None:
    now, url = str(int(time.time())), f"{stack.rasa_url}/webhooks/wechat/webhook"
    query = {"timestamp": now, "nonce": "9", "signature": sign(TOKEN, now, "9"), "echostr": "hello-wechat"}
    assert requests.get(url, params=query, timeout=10).text == "hello-wechat"
    assert requests.get(url, params={**query, "signature": sign("other", now, "9")}, timeout=10).status_code == 403


def test_a_chinese_message_gets_a_passive_chinese_reply(stack: Stack, api: FakeWeChatApi) -> None:
    citizen = Citizen(stack, api, "hello-zh")
    reply = citizen.pusher.push(
        {"FromUserName": citizen.openid, "MsgType": "text", "Content": "你好", "MsgId": citizen.next_msg_id()}
    )
    assert reply.content is not None and "政务助手" in reply.content, reply.body
    assert "回复序号：\n1. 办护照" in reply.content, "the menu's buttons as numbered lines"
    assert reply.fields["ToUserName"] == citizen.openid and not api.delivered(citizen.openid)


def test_an_english_message_gets_an_english_reply(stack: Stack, api: FakeWeChatApi) -> None:
    answer = Citizen(stack, api, "hello-en").say("hello")
    assert "government services assistant" in answer and "Reply with a number:\n1. Passport" in answer, answer
    assert not re.search(r"[\u4e00-\u9fff]", answer), answer


def test_a_safe_mode_message_gets_a_reply_wechatpy_decrypts(stack: Stack, api: FakeWeChatApi) -> None:
    citizen = Citizen(stack, api, "safe")
    reply = citizen.pusher.push(
        {"FromUserName": citizen.openid, "MsgType": "text", "Content": "你好", "MsgId": citizen.next_msg_id()},
        safe=True,
    )
    assert reply.content is not None and "政务助手" in reply.content
    assert "<Encrypt>" in reply.body and "政务助手" not in reply.body


def test_a_slow_answer_arrives_through_the_customer_service_api(stack: Stack, api: FakeWeChatApi) -> None:
    citizen = Citizen(stack, api, "late", endpoint="wechat_late")
    reply = citizen.pusher.push(
        {"FromUserName": citizen.openid, "MsgType": "text", "Content": "你好", "MsgId": citizen.next_msg_id()}
    )
    assert reply.body == "success"
    [text] = api.wait_for_delivered(citizen.openid)
    assert "政务助手" in text and "1. 办护照" in text
    [send] = [c for c in api.calls_to("/cgi-bin/message/custom/send") if c.body["touser"] == citizen.openid]
    issued = [c.answer["access_token"] for c in api.calls_to("/cgi-bin/stable_token") if "access_token" in c.answer]
    assert send.query["access_token"] in issued and send.body["msgtype"] == "text"


def test_the_same_msgid_three_times_reaches_rasa_once(stack: Stack, api: FakeWeChatApi) -> None:
    for endpoint in ("wechat", "wechat_late"):
        citizen = Citizen(stack, api, f"retry-{endpoint}", endpoint)
        message = {"FromUserName": citizen.openid, "MsgType": "text", "Content": "谢谢", "MsgId": citizen.next_msg_id()}
        replies = [citizen.pusher.push(message) for _ in range(3)]
        if endpoint == "wechat":
            assert replies[0].content and [r.content for r in replies] == [replies[0].content] * 3
        else:
            assert [r.body for r in replies] == ["success"] * 3
            api.wait_for_delivered(citizen.openid)
            time.sleep(1)
            assert len(api.delivered(citizen.openid)) == 1, "no second custom/send"
        assert [event["text"] for event in citizen.user_events()] == ["谢谢"]


def test_an_expired_token_is_renewed_once_and_the_answer_delivered(stack: Stack, api: FakeWeChatApi) -> None:
    citizen = Citizen(stack, api, "expired", endpoint="wechat_late")
    citizen.say("你好")  # a token is in use
    tokens_before = len(api.calls_to("/cgi-bin/stable_token"))
    api.expire_token()
    answer = citizen.say("谢谢")
    assert answer, "delivered"
    sends = [c for c in api.calls_to("/cgi-bin/message/custom/send") if c.body["touser"] == citizen.openid]
    assert [c.answer["errcode"] for c in sends[-2:]] == [42001, 0]
    assert len(api.calls_to("/cgi-bin/stable_token")) == tokens_before + 1


def test_a_number_after_candidates_sends_that_candidates_payload(stack: Stack, api: FakeWeChatApi) -> None:
    citizen = Citizen(stack, api, "choose")
    listed = citizen.say("户口")
    assert "2. " in listed, listed
    second = listed.split("2. ")[1].split("\n")[0]
    answer = citizen.say("2")
    chosen_event = citizen.user_events()[-1]
    assert chosen_event["text"].startswith('/choose_candidate{"service_id": ')
    assert chosen_event["parse_data"]["intent"]["name"] == "choose_candidate"
    assert second in answer, "the card of the second candidate"


def test_a_picture_becomes_the_photo_of_a_report_whose_updates_reach_wechat(stack: Stack, api: FakeWeChatApi) -> None:
    citizen = Citizen(stack, api, "photo")
    picture = f"http://mmbiz.qpic.cn/mmbiz_jpg/{RUN}/0"
    assert "什么问题" in citizen.say("我要投诉")
    assert "在哪里" in citizen.say("小区门口那盏路灯坏了好几天了，晚上黑乎乎的")
    assert "照片" in citizen.say("成都市武侯区")
    contact = citizen.send(MsgType="image", PicUrl=picture, MediaId="media-1")
    assert "匿名" in contact, "the next question is the contact"
    assert "照片：1张" in citizen.say("匿名")
    receipt = citizen.say("对的，提交")
    complaint_id = re.search(r"GD\d{8}-[0-9A-Z]{6}", receipt)
    assert complaint_id, receipt
    staff = {"Authorization": f"Bearer {(stack.var_dir / 'staff-token').read_text().strip()}"}
    complaint = f"{stack.processes['platform'].url}/api/v1/complaints/{complaint_id.group()}"
    filed = requests.get(complaint, headers=staff, timeout=10).json()
    assert filed["photo_urls"] == [picture] and filed["channel"] == "wechat"
    update = {"status": "in_progress", "note": "维修师傅已出发"}
    requests.post(f"{complaint}/updates", json=update, headers=staff, timeout=10).raise_for_status()
    notice = api.wait_for_delivered(citizen.openid, len(api.delivered(citizen.openid)) + 1)[-1]
    assert "维修师傅已出发" in notice, "Rasa's notice goes out through the customer-service API"


def test_following_the_account_is_welcomed_with_the_menu(stack: Stack, api: FakeWeChatApi) -> None:
    citizen = Citizen(stack, api, "follow")
    welcome = citizen.send(MsgType="event", Event="subscribe", EventKey="")
    assert "政务助手" in welcome and "1. 办护照" in welcome
    left = citizen.pusher.push({"FromUserName": citizen.openid, "MsgType": "event", "Event": "unsubscribe"})
    assert left.body == "success"
    assert [event["text"] for event in citizen.user_events()] == ["/greet"], "leaving tells the assistant nothing"


def test_a_menu_click_and_a_location_reach_the_assistant(stack: Stack, api: FakeWeChatApi) -> None:
    citizen = Citizen(stack, api, "menu")
    assert "什么问题" in citizen.send(MsgType="event", Event="CLICK", EventKey="report_problem")
    citizen.send(MsgType="location", Location_X="30.64", Location_Y="104.04", Scale="15", Label="成都市武侯区玉林路")
    located = citizen.user_events()[-1]
    assert located["text"] == "[位置] 成都市武侯区玉林路"
    assert located["metadata"]["latitude"] == 30.64 and located["metadata"]["longitude"] == 104.04


def test_rasa_refuses_bad_pushes(stack: Stack) -> None:
    url, now = f"{stack.rasa_url}/webhooks/wechat/webhook", str(int(time.time()))
    signed = {"timestamp": now, "nonce": "3", "signature": sign(TOKEN, now, "3")}
    assert requests.post(url, params=signed, data=b"<xml><oops>", timeout=10).status_code == 400
    assert requests.post(url, params=signed, data=ENTITY_XML.encode(), timeout=10).status_code == 400
    assert requests.post(url, params=signed, data=b"<xml>" + b" " * 70000 + b"</xml>", timeout=10).status_code == 413
    safe = {**signed, "encrypt_type": "aes", "msg_signature": "0" * 40}
    assert requests.post(url, params=safe, data=b"<xml><Encrypt>abcd</Encrypt></xml>", timeout=10).status_code == 403


def test_a_turn_that_kept_the_event_loop_past_the_window_is_answered_through_the_api() -> None:
    # A turn can block the event loop (synchronous stores) beyond the window and finish
    # before the waiting push wakes up: the push must not then get a passive reply late,
    # and the answer must not be lost either.
    from bot.channels.outgoing import ChoiceMemory, Deduplicator, MemoryStore, ReplyWindow

    sent: list[tuple[str, list[str]]] = []

    async def send_later(sender: str, texts: list[str]) -> int:
        sent.append((sender, texts))
        return len(texts)

    async def slow_turn(message: Any) -> None:
        time.sleep(0.2)  # busy, not awaiting: nothing else runs meanwhile
        await message.output_channel.send_text_message(message.sender_id, "答案")

    async def push() -> str | None:
        store = MemoryStore()
        window = ReplyWindow(
            "WeChat",
            "wechat",
            0.05,
            Deduplicator(store, "d:"),
            ChoiceMemory(store, "c:"),
            lambda texts: ("\n".join(texts), texts),
            send_later,
        )
        passive = await window.answer("m1", "openid-1", "你好", {}, slow_turn)
        for _ in range(50):
            if sent:
                break
            await asyncio.sleep(0.01)
        return passive

    assert asyncio.run(push()) is None
    assert sent == [("openid-1", ["答案"])]
