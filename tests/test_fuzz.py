"""Malformed input never crashes a parser or an endpoint: properties checked by Hypothesis
on the channels' protocol code, the platform's validators, and the channel endpoints on
a Sanic app of their own (tests/channel_harness.py, a stand-in assistant). Each property
runs a bounded number of examples, so the file takes seconds; bench/fuzz.py sends the
same kinds of input, many more of them, to the real stack.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backend.api import auth, bodies, params
from backend.api.errors import ApiError
from backend.complaints.datetimes import parse_datetime
from backend.procedure.identity import check_id_number, normalize_mobile
from bot.channels import wechat_crypto as protocol
from bot.channels.outgoing import MemoryStore, coordinates
from bot.channels.ratelimit import SenderRateLimiter
from bot.channels.rest import MAX_SENDER_CHARS, RestInput, valid_sender
from bot.channels.wechat import Unsupported as WeChatUnsupported
from bot.channels.wechat import WeChatInput, WeChatSettings, assistant_input, dedupe_key
from bot.channels.weibo import MalformedPush, WeiboInput, WeiboSettings, parse_push, passive_reply
from bot.channels.weibo import Unsupported as WeiboUnsupported
from bot.channels.weibo import assistant_input as weibo_input
from bot.channels.weibo import dedupe_key as weibo_dedupe_key
from bot.channels.weibo import signature as weibo_signature
from bot.channels.weibo import signature_matches as weibo_signature_matches
from tests.channel_harness import ChannelServer, StandIn
from tests.fake_wechat import Pusher, sign
from tests.fake_weibo import Pusher as WeiboPusher
from tests.fuzz_strategies import (
    any_text,
    deep_json,
    entity_documents,
    json_values,
    numberish,
    numbers,
    rest_bodies,
    wechat_bodies,
    wechat_fields,
    weibo_bodies,
    xml_documents,
    xml_text,
)

PURE = settings(max_examples=200, deadline=None, database=None)
OVER_HTTP = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TAG = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(lambda tag: tag.lower() != "xml")


# --- WeChat's protocol (bot/channels/wechat_crypto.py) ----------------------------------


@PURE
@given(st.one_of(wechat_bodies(), st.binary(max_size=500)))
def test_any_body_parses_to_text_fields_or_is_refused_as_malformed(body: bytes) -> None:
    try:
        fields = protocol.parse_body(body)
    except protocol.MalformedBody:
        return
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in fields.items())
    "".join(fields.values()).encode("utf-8")  # what the assistant gets is text UTF-8 can carry


@PURE
@given(st.dictionaries(TAG, xml_text, max_size=8))
def test_fields_read_back_as_they_were_written(fields: dict[str, str]) -> None:
    assert protocol.parse_body(protocol.render_xml(fields).encode()) == {k: v.strip() for k, v in fields.items()}


@settings(max_examples=100, deadline=None, database=None)
@given(entity_documents())
def test_a_document_type_declaration_is_refused_and_nothing_is_expanded(document: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(protocol.MalformedBody):
        protocol.parse_body(document)
    assert time.perf_counter() - started < 0.5, "refused before any expansion"


def test_bodies_are_parsed_with_defusedxml() -> None:
    assert protocol.ElementTree.__name__ == "defusedxml.ElementTree"
    with pytest.raises(protocol.MalformedBody):  # an external entity, read by a plain parser
        protocol.parse_body(
            b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>'
        )


@settings(max_examples=20, deadline=None, database=None)
@given(st.integers(2000, 20000))
def test_json_nested_past_the_decoders_limit_is_malformed(depth: int) -> None:
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        with pytest.raises(protocol.MalformedBody):
            protocol.parse_body(deep_json(depth, opener, closer))


def encoding_aes_key(key: bytes) -> str:
    return base64.b64encode(key).decode()[:43]


@PURE
@given(st.binary(min_size=32, max_size=32), xml_text, st.text(max_size=20), st.binary(min_size=16, max_size=16))
def test_what_is_sealed_opens_to_what_was_sealed(key: bytes, message: str, app_id: str, random: bytes) -> None:
    assert protocol.aes_key(encoding_aes_key(key)) == key
    opened = protocol.open_sealed(key, protocol.seal(key, message, app_id, random))
    assert (opened.message, opened.app_id, opened.random) == (message, app_id, random)
    crypto = protocol.MessageCrypto("token", [encoding_aes_key(key)], app_id)
    sealed = crypto.seal_reply(message, "1700000000", "42")
    assert crypto.open(sealed["Encrypt"], "1700000000", "42", sealed["MsgSignature"]) == message


CRYPTO = protocol.MessageCrypto("token", ["A" * 43], "wx0000000000000000")


@PURE
@given(st.one_of(any_text, st.binary(max_size=200).map(lambda raw: base64.b64encode(raw).decode())))
def test_any_encrypt_with_a_right_signature_opens_or_is_refused(encrypted: str) -> None:
    try:
        msg_signature = protocol.signature("token", "1700000000", "42", encrypted)
    except UnicodeEncodeError:
        msg_signature = "0" * 40
    with contextlib.suppress(protocol.SignatureError, protocol.DecryptionError):
        CRYPTO.open(encrypted, "1700000000", "42", msg_signature)


def signed_or_none(sign_with: Callable[..., str], *parts: str) -> str | None:
    try:
        return sign_with(*parts)
    except UnicodeEncodeError:
        return None


@PURE
@given(
    any_text,
    any_text,
    any_text,
    any_text,
    st.one_of(st.none(), any_text, st.text("0123456789abcdef", min_size=40, max_size=40)),
)
def test_a_wrong_signature_is_always_refused(token: str, timestamp: str, nonce: str, encrypt: str, given: Any) -> None:
    claimed = None if given is None else given.lower()
    assume(claimed != signed_or_none(protocol.signature, token, timestamp, nonce, encrypt))
    assume(claimed != signed_or_none(weibo_signature, token, timestamp, nonce))
    assert not protocol.signature_matches(given, token, timestamp, nonce, encrypt)
    with pytest.raises(protocol.SignatureError):
        protocol.MessageCrypto(token, ["A" * 43], "wx").open(encrypt, timestamp, nonce, given)
    assert not weibo_signature_matches(given, token, timestamp, nonce)


@PURE
@given(wechat_fields())
def test_what_the_assistant_hears_of_any_push_is_text_or_nothing(fields: dict[str, str]) -> None:
    try:
        heard = assistant_input(fields)
    except WeChatUnsupported:
        return
    dedupe_key(fields)
    if heard is not None:
        text, metadata = heard
        assert isinstance(text, str) and metadata["channel"] == "wechat"
        json.dumps(metadata, allow_nan=False)  # no NaN or infinity reaches the tracker


@PURE
@given(st.one_of(numberish, numbers, json_values), st.one_of(numberish, numbers, json_values))
def test_a_location_is_a_place_on_the_globe_or_none(latitude: Any, longitude: Any) -> None:
    place = coordinates(latitude, longitude)
    assert place == {} or (abs(place["latitude"]) <= 90 and abs(place["longitude"]) <= 180)


# --- Weibo's protocol (bot/channels/weibo.py) -----------------------------------------------


@PURE
@given(weibo_bodies())
def test_any_weibo_body_is_a_push_or_refused_and_a_push_is_answered(body: bytes) -> None:
    try:
        push = parse_push(body)
    except MalformedPush:
        return
    weibo_dedupe_key(push)
    try:
        heard = weibo_input(push)
    except WeiboUnsupported as refusal:
        json.dumps(passive_reply(push, refusal.reply))
        return
    if heard is not None:
        json.dumps(heard[1], allow_nan=False)


# --- REST and the platform's validators ---------------------------------------------------


@PURE
@given(st.one_of(any_text, st.text(min_size=250, max_size=300)))
def test_a_valid_sender_is_one_every_tracker_store_can_keep(sender: str) -> None:
    if valid_sender(sender):
        assert 0 < len(sender) <= MAX_SENDER_CHARS and "\x00" not in sender
        sender.encode("utf-8")


class Args:
    """Just enough of a Sanic request for the query-parameter readers."""

    def __init__(self, **values: str) -> None:
        self.args = values


def refused_with_400(check: Any, *arguments: Any) -> None:
    try:
        check(*arguments)
    except ApiError as error:
        assert error.status_code == 400


@PURE
@given(st.one_of(any_text, st.from_regex(r"[0-9²³¹١٢٣]{1,12}", fullmatch=True), st.just("1" * 5000)))
def test_query_numbers_are_numbers_or_a_400(raw: str) -> None:
    number = params.whole_number(raw)
    assert number is None or (raw.isascii() and int(raw) == number)
    refused_with_400(params.limit_param, Args(limit=raw))
    refused_with_400(params.offset_param, Args(offset=raw))
    refused_with_400(params.text_param, Args(q=raw), "q")
    refused_with_400(params.lang_param, Args(lang=raw), "")


@PURE
@given(st.dictionaries(st.sampled_from(["description", "photo_urls", "occurred_at", "contact", "lang"]), json_values))
def test_report_fields_are_read_or_refused_with_a_400(body: dict[str, Any]) -> None:
    now = datetime.now(timezone.utc)
    refused_with_400(bodies.description_field, body)
    refused_with_400(bodies.photo_urls_field, body)
    refused_with_400(bodies.occurred_at_field, body, now)
    refused_with_400(bodies.contact_field, body)
    refused_with_400(bodies.lang_field, body)
    refused_with_400(bodies.http_url, body.get("photo_urls"), "photo_urls")
    refused_with_400(bodies.coordinates, body.get("description"), body.get("lang"))


class Headers:
    """Just enough of a Sanic request for the header readers."""

    def __init__(self, **values: str) -> None:
        self.headers = {name.replace("_", "-"): value for name, value in values.items()}


@PURE
@given(st.one_of(any_text, st.binary(max_size=20).map(lambda raw: raw.decode("utf-8", "surrogateescape"))))
def test_header_values_sanic_could_not_decode_are_refused_not_a_500(value: str) -> None:
    """Sanic reads header bytes that are not UTF-8 as surrogates ('\\udcb2' for a latin-1 '²')."""
    assert not auth._same(value, "4321") or value == "4321"
    refused_with_400(bodies.idempotency_key, Headers(Idempotency_Key=value))


@PURE
@given(any_text)
def test_identity_and_time_readers_take_any_text(text: str) -> None:
    parse_datetime(text)
    normalize_mobile(text)
    check_id_number(text)


# --- The endpoints, served with a stand-in assistant ---------------------------------------


@pytest.fixture(scope="module")
def endpoints() -> Iterator[dict[str, ChannelServer]]:
    off = SenderRateLimiter(0)
    wechat = WeChatSettings(token="tk", app_id="wx_fuzz", aes_keys=("N" * 43,), reply_window=2)
    servers = {
        "rest": ChannelServer(RestInput(off), StandIn()),
        "wechat": ChannelServer(WeChatInput(wechat, store=MemoryStore(), limiter=off), StandIn()),
        "weibo": ChannelServer(WeiboInput(WeiboSettings("s3cret"), store=MemoryStore(), limiter=off), StandIn()),
    }
    yield servers
    for server in servers.values():
        server.stop()


@OVER_HTTP
@given(rest_bodies(), st.sampled_from(["application/json", "text/plain", "application/xml", ""]))
def test_any_rest_body_is_answered_or_refused_never_a_5xx(
    endpoints: dict[str, ChannelServer], body: bytes, content_type: str
) -> None:
    answer = requests.post(endpoints["rest"].url, data=body, headers={"Content-Type": content_type}, timeout=10)
    assert answer.status_code in (200, 400), answer.text
    assert isinstance(answer.json(), list if answer.status_code == 200 else dict)


@OVER_HTTP
@given(wechat_bodies(), st.booleans())
def test_any_signed_wechat_push_is_answered_or_refused_never_a_5xx(
    endpoints: dict[str, ChannelServer], body: bytes, safe: bool
) -> None:
    now, nonce = str(int(time.time())), "7"
    query = {"timestamp": now, "nonce": nonce, "signature": sign("tk", now, nonce)}
    if safe:
        try:
            envelope = protocol.parse_body(body)
        except protocol.MalformedBody:
            envelope = {}
        encrypt = envelope.get("Encrypt", body.decode("latin-1"))
        try:
            query |= {"encrypt_type": "aes", "msg_signature": protocol.signature("tk", now, nonce, encrypt)}
        except UnicodeEncodeError:
            query |= {"encrypt_type": "aes", "msg_signature": "0" * 40}
    answer = requests.post(endpoints["wechat"].url, params=query, data=body, timeout=10)
    assert answer.status_code in (200, 400, 403), answer.text


@OVER_HTTP
@given(xml_text.filter(lambda text: text.strip() and "]]>" not in text))
def test_any_sealed_wechat_text_gets_a_sealed_reply(endpoints: dict[str, ChannelServer], text: str) -> None:
    pusher = Pusher(endpoints["wechat"].url, "tk", "N" * 43, "wx_fuzz")
    reply = pusher.push({"FromUserName": "o-fuzz", "MsgType": "text", "Content": text, "MsgId": time.time_ns()}, True)
    assert reply.status == 200 and reply.content == f"收到：{text.strip()}", reply.body


@OVER_HTTP
@given(weibo_bodies())
def test_any_signed_weibo_push_is_answered_or_refused_never_a_5xx(
    endpoints: dict[str, ChannelServer], body: bytes
) -> None:
    answer = WeiboPusher(endpoints["weibo"].url, "s3cret").send(body, timeout=10)
    assert answer.status in (200, 400), answer.body


@pytest.mark.parametrize(
    "sender", [b'"' + b"s" * 256 + b'"', b'"nul\\u0000"', b'"\\ud800"', b'"tab\\t"', b'"\\u200b"'], ids=repr
)
def test_a_sender_no_tracker_store_could_keep_is_a_400(endpoints: dict[str, ChannelServer], sender: bytes) -> None:
    body = b'{"sender": ' + sender + b', "message": "hi"}'
    assert requests.post(endpoints["rest"].url, data=body, timeout=10).status_code == 400


def test_a_lone_surrogate_in_a_rest_message_reaches_the_assistant_as_a_replacement_character(
    endpoints: dict[str, ChannelServer],
) -> None:
    body = b'{"sender": "surrogates", "message": "a\\udc00b\\ud800\\udfff"}'
    answer = requests.post(endpoints["rest"].url, data=body, timeout=10)
    assert answer.status_code == 200 and answer.json()[0]["text"] == "收到：a\ufffdb\U000103ff"


def raw_request(url: str, request: bytes) -> bytes:
    host, port = url.split("/")[2].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        return connection.recv(4096)


@pytest.mark.parametrize("declared", [b"-1", "²".encode(), b"1" * 5000, b"+3", b"0x10"], ids=repr)
def test_a_content_length_that_is_not_a_number_is_a_400_and_the_server_goes_on(
    endpoints: dict[str, ChannelServer], declared: bytes
) -> None:
    """Sanic 21.12 takes it with int(): '-1' and a body would spin its reader for ever."""
    path = b"/webhooks/rest/webhook"
    request = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: " + declared + b"\r\n\r\nabcdef"
    assert raw_request(endpoints["rest"].url, request).startswith(b"HTTP/1.1 400 ")
    assert requests.post(endpoints["rest"].url, json={"sender": "after", "message": "hi"}, timeout=5).ok


@pytest.mark.parametrize("name", ["rest", "wechat", "weibo"])
def test_a_body_over_64_kb_is_a_413(endpoints: dict[str, ChannelServer], name: str) -> None:
    body = b'{"sender": "big", "message": "' + b"x" * 70_000 + b'"}'
    now = str(int(time.time()))
    query = {"timestamp": now, "nonce": "1", "signature": sign("tk" if name == "wechat" else "s3cret", now, "1")}
    assert requests.post(endpoints[name].url, params=query, data=body, timeout=10).status_code == 413


# --- Replays ------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_push_replayed_to_another_process_while_its_timestamp_passes_is_not_heard_again() -> None:
    """WeChat's clock 290 s ahead of ours: its timestamp passes for ten minutes, so the
    MsgId must be remembered for as long, by every process (the shared store)."""
    clock = Clock(1_800_000_000.0)
    store, assistant = MemoryStore(clock=clock), StandIn()
    first, second = (
        ChannelServer(WeChatInput(WeChatSettings(token="tk"), clock=clock, store=store), assistant) for _ in range(2)
    )
    try:
        timestamp = str(int(clock.now) + 290)
        push = {"FromUserName": "o-replay", "MsgType": "text", "Content": "一次", "MsgId": 99}
        assert Pusher(first.url, "tk").push(push, timestamp=timestamp).content == "收到：一次"
        clock.now += 500  # 210 s past the timestamp: still fresh
        replayed = Pusher(second.url, "tk").push(push, timestamp=timestamp)
        assert replayed.status == 200 and replayed.content is None
        clock.now += 200  # 410 s past it: stale
        assert Pusher(second.url, "tk").push(push, timestamp=timestamp).status == 403
        assert [message.text for message in assistant.heard] == ["一次"]
    finally:
        first.stop()
        second.stop()


def test_a_weibo_push_replayed_to_another_process_is_not_heard_again() -> None:
    clock = Clock(1_800_000_000.0)
    store, assistant = MemoryStore(clock=clock), StandIn()
    first, second = (
        ChannelServer(WeiboInput(WeiboSettings("s3cret"), clock=clock, store=store), assistant) for _ in range(2)
    )
    try:
        pusher = WeiboPusher(first.url, "s3cret")
        body, query = pusher.body(7, text="一次"), pusher.signed_query(str(int((clock.now + 290) * 1000)))
        assert pusher.send(body, query).text == "收到：一次"
        clock.now += 500
        replayed = WeiboPusher(second.url, "s3cret").send(body, query)
        assert replayed.empty, "an empty body: nothing more to say"
        clock.now += 200
        assert WeiboPusher(second.url, "s3cret").send(body, query).status == 403
        assert [message.text for message in assistant.heard] == ["一次"]
    finally:
        first.stop()
        second.stop()


def test_the_generated_well_formed_documents_do_parse() -> None:
    """The generator itself: its UTF-8 <xml> documents parse (or the property above proves little)."""

    @settings(max_examples=50, deadline=None, database=None)
    @given(xml_documents(wechat_fields()))
    def parses(document: bytes) -> None:
        if document.startswith(b"<xml>") or document.startswith(b'<?xml version="1.0" encoding="utf-8"?><xml>'):
            protocol.parse_body(document)

    parses()
