"""The channels' half of the fuzz benchmark (bench/fuzz.py): probes for the REST, WeChat
(plain and safe mode) and Weibo webhooks of the running Rasa server, made by Hypothesis
from tests/fuzz_strategies.py, and hand-made ones that say what a right answer is
(oversized bodies, entity bombs, deep JSON, wrong encodings, stale or future timestamps,
bad Content-Length headers, malformed request lines). Then two checks that need the
assistant's memory: a replayed push is heard once, and a sender over the rate limit gets
the polite answer while the assistant hears only the first `limit` messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import requests
from hypothesis import strategies as st

from bench.fuzz_probes import Probe, draw
from bot.channels import wechat_crypto as protocol
from bot.channels.ratelimit import TOO_FAST
from tests.fake_wechat import Pusher, message_xml
from tests.fake_weibo import Pusher as WeiboPusher
from tests.fuzz_strategies import (
    broken,
    deep_json,
    entity_documents,
    json_values,
    rest_bodies,
    rest_messages,
    uids,
    wechat_bodies,
    wechat_fields,
    wechat_messages,
    weibo_bodies,
    weibo_messages,
    xml_documents,
)

RUN = os.urandom(4).hex()
TOKEN = "zhengwu-fuzz-token"
AES_KEY = base64.b64encode(hashlib.sha256(RUN.encode()).digest()).decode()[:43]
OTHER_KEY = base64.b64encode(hashlib.sha256(b"other").digest()).decode()[:43]
APP_ID = "wxfuzz0000000000"
SECRET = "zhengwu-fuzz-secret"
WEIBO_SECRET = "zhengwu-fuzz-weibo-secret"
WEIBO_TOKEN = "2.00fuzz-token"
REST, WECHAT, WEIBO = "/webhooks/rest/webhook", "/webhooks/wechat/webhook", "/webhooks/weibo/webhook"
SIGNING = st.sampled_from(["good"] * 7 + ["wrong", "stale", "future", "missing", "garbage", "non-ascii", "no-time"])
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "",
        "text/html; charset=gbk",
    ]
)
fresh_openids = st.uuids().map(lambda u: f"o{RUN}{u.hex}"[:28])
openids = st.one_of(fresh_openids, st.sampled_from(["", " ", "o" * 300, "o\x00"]))
fresh_uids = st.uuids().map(lambda u: 10**12 + u.int % 10**15)
weibo_uids = st.one_of(fresh_uids, uids)


def wechat_sign(timestamp: str, nonce: str) -> str:
    return protocol.signature(TOKEN, timestamp, nonce)


def weibo_sign(timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted((WEIBO_SECRET, timestamp, nonce))).encode()).hexdigest()


def signed(how: str, sign: Any, millis: bool = False, now: float | None = None) -> dict[str, str]:
    """The query of a push, signed right or in one of the ways a forger or a broken clock would."""
    now = time.time() if now is None else now
    shift = {"stale": -400.0, "future": 400.0}.get(how, 0.0)
    timestamp = str(int((now + shift) * (1000 if millis else 1)))
    if how == "garbage":
        timestamp = "1e9"
    nonce = str(int.from_bytes(os.urandom(4), "big"))
    query = {"timestamp": timestamp, "nonce": nonce, "signature": sign(timestamp, nonce)}
    if how == "wrong":
        query["signature"] = "0" * 40
    elif how == "missing":
        del query["signature"]
    elif how == "non-ascii":
        query["signature"] = "签名" * 10
    elif how == "no-time":
        del query["timestamp"]
    return query


def rest_probes(count: int, at: int) -> list[Probe]:
    fresh = st.uuids().map(lambda u: f"fuzz-{u.hex}")
    valid = rest_messages(fresh)  # twice: two thirds reach the assistant
    bodies = st.one_of(valid, valid, rest_bodies(st.one_of(fresh, st.text(max_size=20), json_values)))
    pairs = draw(st.tuples(bodies, CONTENT_TYPES), count, at)
    return [
        Probe("rest", "rasa", "POST", REST, body, headers={"Content-Type": kind}, kind="body") for body, kind in pairs
    ]


def wechat_probes(count: int, at: int) -> list[Probe]:
    valid = wechat_messages(fresh_openids)
    bodies = st.one_of(valid, valid, wechat_bodies(openids))
    cases = draw(st.tuples(bodies, SIGNING, CONTENT_TYPES), count, at)
    return [
        Probe(
            "wechat",
            "rasa",
            "POST",
            WECHAT,
            body,
            urlencode(signed(how, wechat_sign)),
            {"Content-Type": kind},
            kind=how,
        )
        for body, how, kind in cases
    ]


SEALING = st.sampled_from(
    ["good"] * 12
    + [
        "tampered",
        "other-appid",
        "other-key",
        "not-base64",
        "non-ascii",
        "surrogate",
        "no-encrypt",
        "wrong-msg-signature",
    ]
)


@st.composite
def sealed_pushes(draw_from: st.DrawFn) -> Probe:
    """A safe-mode push: any inner message, sealed right or wrongly, in an XML or JSON envelope."""
    valid = wechat_messages(fresh_openids)
    inner = draw_from(
        st.one_of(
            valid,
            valid,
            valid,
            valid,
            xml_documents(wechat_fields(openids)),
            broken(xml_documents(wechat_fields(openids))),
            entity_documents(),
            wechat_fields(openids).map(lambda fields: json.dumps(fields).encode()),
            st.binary(max_size=200),
        )
    )
    how = draw_from(SEALING)
    message = inner.decode("utf-8", errors="replace")
    key = protocol.aes_key(OTHER_KEY if how == "other-key" else AES_KEY)
    encrypt = protocol.seal(key, message, "wxother" if how == "other-appid" else APP_ID, os.urandom(16))
    if how == "tampered":
        spot = draw_from(st.integers(0, len(encrypt) - 1))
        encrypt = encrypt[:spot] + ("A" if encrypt[spot] != "A" else "B") + encrypt[spot + 1 :]
    encrypt = {"not-base64": "!!not base64!!", "non-ascii": "加密的消息", "surrogate": "\ud800abc"}.get(how, encrypt)
    query = signed("good", wechat_sign)
    try:
        msg_signature = protocol.signature(TOKEN, query["timestamp"], query["nonce"], encrypt)
    except UnicodeEncodeError:
        msg_signature = "0" * 40
    query |= {"encrypt_type": "aes", "msg_signature": "f" * 40 if how == "wrong-msg-signature" else msg_signature}
    envelope: dict[str, Any] = {"ToUserName": "gh_zhengwu000001"}
    if how != "no-encrypt":
        envelope["Encrypt"] = encrypt
    if how == "surrogate" or draw_from(st.booleans()):
        body = json.dumps(envelope).encode()
    else:
        body = message_xml(envelope).encode()
    return Probe("wechat-aes", "rasa", "POST", WECHAT, body, urlencode(query), kind=how)


def wechat_aes_probes(count: int, at: int) -> list[Probe]:
    return draw(sealed_pushes(), count, at)


def weibo_probes(count: int, at: int) -> list[Probe]:
    valid = weibo_messages(fresh_uids)
    bodies = st.one_of(valid, valid, weibo_bodies(weibo_uids))
    cases = draw(st.tuples(bodies, SIGNING), count, at)
    return [
        Probe("weibo", "rasa", "POST", WEIBO, body, urlencode(signed(how, weibo_sign, millis=True)), kind=how)
        for body, how in cases
    ]


# --- Hand-made ----------------------------------------------------------------------------


def _laughs(width: int, depth: int) -> bytes:
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{level} "{f"&l{level - 1};" * width}">' for level in range(1, depth)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE xml [{entities}]><xml><FromUserName>o1</FromUserName>'
        f"<MsgType>text</MsgType><Content>&l{depth - 1};</Content></xml>"
    ).encode()


def crafted_probes(big: bool = True) -> list[Probe]:
    """Attacks with a known right answer, on every webhook."""
    sizes = [64 * 1024 + 1, 1024 * 1024] + ([10 * 1024 * 1024] if big else [])
    probes: list[Probe] = []
    ok, refused, forbidden, too_large = frozenset({200}), frozenset({400}), frozenset({403}), frozenset({413})
    text_push = message_xml(
        {"FromUserName": f"o{RUN}crafted", "MsgType": "text", "Content": "你好", "MsgId": 1}
    ).encode()

    def wechat(
        body: bytes, kind: str, expect: frozenset[int], how: str = "good", headers: dict[str, str] | None = None
    ) -> Probe:
        return Probe(
            "wechat",
            "rasa",
            "POST",
            WECHAT,
            body,
            urlencode(signed(how, wechat_sign)),
            headers or {},
            None,
            kind,
            expect,
        )

    def weibo(body: bytes, kind: str, expect: frozenset[int], how: str = "good") -> Probe:
        query = urlencode(signed(how, weibo_sign, millis=True))
        return Probe("weibo", "rasa", "POST", WEIBO, body, query, kind=kind, expect=expect)

    def rest(body: bytes, kind: str, expect: frozenset[int], content_type: str = "application/json") -> Probe:
        return Probe(
            "rest", "rasa", "POST", REST, body, headers={"Content-Type": content_type}, kind=kind, expect=expect
        )

    for size in sizes:
        filler = b" " * size
        probes.append(rest(b'{"sender": "big", "message": "' + filler + b'"}', f"{size} bytes", too_large))
        probes.append(wechat(b"<xml>" + filler + b"</xml>", f"{size} bytes", too_large))
        probes.append(weibo(b'{"type": "text"' + filler + b"}", f"{size} bytes", too_large))
    probes += [
        rest(deep_json(30_000), "JSON 30,000 deep", refused),
        wechat(deep_json(30_000), "JSON 30,000 deep", refused),
        weibo(deep_json(30_000), "JSON 30,000 deep", refused),
        wechat(_laughs(10, 10), "billion laughs", refused),
        wechat(_laughs(2, 40), "2^40 laughs", refused),
        wechat(
            b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>', "XXE", refused
        ),
        wechat(
            b'<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><xml/>', "parameter entity", refused
        ),
        wechat('<?xml version="1.0" encoding="gbk"?><xml><Content>你好</Content></xml>'.encode("gbk"), "GBK", refused),
        wechat(b'<?xml version="1.0" encoding="ebcdic"?><xml/>', "unknown encoding", refused),
        wechat(text_push.replace(b"\xe4\xbd\xa0", b"\xff\xfe"), "not UTF-8", refused),
        wechat(text_push, "XML sent as JSON", ok, headers={"Content-Type": "application/json"}),
        wechat(text_push, "stale timestamp", forbidden, how="stale"),
        wechat(text_push, "future timestamp", forbidden, how="future"),
        wechat(text_push, "signature not ASCII", forbidden, how="non-ascii"),
        weibo(
            b'{"type": "text", "sender_id": 9223372036854775808, "receiver_id": 1, "text": "x"}', "uid 2^63", refused
        ),
        weibo(
            b'{"type": "position", "sender_id": 7, "receiver_id": 1, "data": {"latitude": 1'
            + b"0" * 400
            + b', "longitude": 1}}',
            "latitude 10^400",
            ok,
        ),
        weibo(b'{"type": "text", "sender_id": 7, "receiver_id": 1, "text": "\\ud800"}', "lone surrogate", refused),
        weibo(
            b'{"type": "text", "sender_id": 7, "receiver_id": 1, "text": "x"}', "stale timestamp", forbidden, "stale"
        ),
        rest('{"sender": "gbk", "message": "你好"}'.encode("gbk"), "GBK JSON", frozenset({200, 400})),
        rest('{"sender": "utf16", "message": "hi"}'.encode("utf-16"), "UTF-16 JSON", frozenset({200, 400})),
        rest(b'{"sender": "plain", "message": "hi"}', "JSON as text/plain", ok, "text/plain"),
        rest(b"sender=form&message=hi", "a form", refused, "application/x-www-form-urlencoded"),
        rest(b'{"sender": "' + b"s" * 300 + b'", "message": "hi"}', "sender of 300 characters", refused),
        rest(b'{"sender": "nul\\u0000", "message": "hi"}', "NUL in sender", refused),
        rest(b'{"sender": "\\ud800", "message": "hi"}', "lone surrogate sender", refused),
        rest(b'{"sender": "fuzz-lone", "message": "\\ud800\\udfff\\udc00"}', "lone surrogates in the message", ok),
    ]
    safe_query = signed("good", wechat_sign)
    bomb = protocol.seal(protocol.aes_key(AES_KEY), _laughs(10, 10).decode(), APP_ID, os.urandom(16))
    safe_query |= {
        "encrypt_type": "aes",
        "msg_signature": protocol.signature(TOKEN, safe_query["timestamp"], safe_query["nonce"], bomb),
    }
    probes.append(
        Probe("wechat-aes", "rasa", "POST", WECHAT, message_xml({"Encrypt": bomb}).encode(), urlencode(safe_query),
              kind="sealed billion laughs", expect=refused)
    )  # fmt: skip
    return probes + raw_probes("rasa", REST) + raw_probes("platform", "/api/v1/complaints")


def raw_probes(process: str, path: str) -> list[Probe]:
    """Requests an HTTP client will not send: Sanic reads these before any route does."""
    target = path.encode()

    def raw(request: bytes, kind: str, expect: frozenset[int]) -> Probe:
        return Probe("http", process, "RAW", path, raw=request, kind=f"{process}: {kind}", expect=expect)

    def post(length: bytes) -> bytes:
        return b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\nabcdef"

    return [
        raw(post(b"-1"), "Content-Length -1", frozenset({400})),
        raw(post("²".encode()), "Content-Length ²", frozenset({400})),
        raw(post(b"9" * 5000), "Content-Length of 5000 digits", frozenset({400})),
        raw(b"GET " + target + b" HTTP/1.1\r\nHost x\r\n\r\n", "header without a colon", frozenset({400})),
        raw(b"GET  " + target + b" HTTP/1.1\r\n\r\n", "two spaces", frozenset({400})),
        raw(b"GET " + target + b" HTTP/2.0\r\n\r\n", "HTTP/2.0 request line", frozenset({400})),
        raw(b"GET " + target + b" HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", "9 KB header", frozenset({400, 413})),
    ]


def known_defect_probes() -> list[Probe]:
    """What Sanic 21.12 fails on before any of our code runs, logging an uncaught exception
    (see bench/fuzz.py): a request line that is not UTF-8 (the connection is dropped), and
    a chunked body with a bad chunk size (answered 400, then its draining fails)."""
    probes = []
    for process, path in (("rasa", REST.encode()), ("platform", b"/api/v1/complaints")):
        line = b"GET " + path + b"\xff HTTP/1.1\r\nHost: x\r\n\r\n"
        chunk = b"POST " + path + b" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        for request, kind in ((line, "request line not UTF-8"), (chunk, "bad chunk size")):
            probes.append(Probe("http", process, "RAW", path.decode(), raw=request, kind=f"{process}: {kind}"))
    return probes


# --- What the assistant heard --------------------------------------------------------------


def user_texts(rasa: str, token: str, sender: str) -> list[str]:
    answer = requests.get(f"{rasa}/conversations/{sender}/tracker", params={"token": token}, timeout=30)
    answer.raise_for_status()
    return [event.get("text") or "" for event in answer.json()["events"] if event.get("event") == "user"]


def replay_check(rasa: str, token: str) -> dict[str, Any]:
    """The same signed push three times: the assistant hears it once."""
    openid, uid = f"o{RUN}replay", 10**12 + int(RUN, 16)
    query = signed("good", wechat_sign)
    body = message_xml({"FromUserName": openid, "MsgType": "text", "Content": "谢谢", "MsgId": int(RUN, 16)}).encode()
    wechat = [requests.post(rasa + WECHAT, params=query, data=body, timeout=30).status_code for _ in range(3)]
    pusher = WeiboPusher(rasa + WEIBO, WEIBO_SECRET)
    push, weibo_query = pusher.body(uid, text="谢谢"), pusher.signed_query()
    weibo = [pusher.send(push, weibo_query).status for _ in range(3)]
    return {
        "wechat": {"statuses": wechat, "heard": len(user_texts(rasa, token, openid))},
        "weibo": {"statuses": weibo, "heard": len(user_texts(rasa, token, str(uid)))},
    }


def rate_limit_check(rasa: str, token: str, limit: int) -> dict[str, Any]:
    """limit + 5 messages from one sender on each channel, one after another."""
    sender, openid, uid = f"fuzz-rate-{RUN}", f"o{RUN}rate", 10**12 + int(RUN, 16) + 1
    rest: Counter[str] = Counter()
    for number in range(limit + 5):
        answer = requests.post(rasa + REST, json={"sender": sender, "message": f"你好 {number}"}, timeout=30)
        polite = answer.status_code == 429 and answer.json() == [{"recipient_id": sender, "text": TOO_FAST}]
        rest["polite refusal" if polite else str(answer.status_code)] += 1
    wechat: Counter[str] = Counter()
    pusher = Pusher(rasa + WECHAT, TOKEN)
    for number in range(limit + 5):
        msg_id = int(RUN, 16) * 1000 + number  # MsgIds are de-duplicated across senders
        reply = pusher.push({"FromUserName": openid, "MsgType": "text", "Content": f"你好 {number}", "MsgId": msg_id})
        wechat["polite refusal" if reply.content == TOO_FAST else f"{reply.status} answered"] += 1
    weibo: Counter[str] = Counter()
    weibo_pusher = WeiboPusher(rasa + WEIBO, WEIBO_SECRET)
    for number in range(limit + 5):
        weibo_reply = weibo_pusher.push(uid, text=f"你好 {number}")
        weibo["polite refusal" if weibo_reply.text == TOO_FAST else f"{weibo_reply.status} answered"] += 1
    return {
        "limit": limit,
        "rest": dict(rest) | {"heard": len(user_texts(rasa, token, sender))},
        "wechat": dict(wechat) | {"heard": len(user_texts(rasa, token, openid))},
        "weibo": dict(weibo) | {"heard": len(user_texts(rasa, token, str(uid)))},
    }
