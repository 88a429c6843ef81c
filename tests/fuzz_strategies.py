"""Hypothesis strategies for what a hostile or broken client sends the channels: shared by
the property tests (tests/test_fuzz.py) and the fuzz benchmark against the real stack
(bench/fuzz.py).

Texts include lone surrogates (a JSON "\\ud800" decodes to one), control characters and
every plane; JSON values nest, and hold NaN, huge numbers and the wrong types; XML comes
well formed (with CDATA, comments, attributes, encodings declared), broken, or with a
document type declaration: entity bombs, external and parameter entities.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

any_char = st.one_of(st.characters(), st.characters(categories=["Cs"]))
any_text = st.text(any_char, max_size=80)
# What XML can carry: no surrogates, no control characters but tab and line feed, no U+FFFE/U+FFFF.
xml_char = st.one_of(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"), st.sampled_from("\t\n")
)
xml_text = st.text(xml_char, max_size=60)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
numberish = st.one_of(
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,8})?", fullmatch=True),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "１２", "30.64", "104.04", "", " "]),
    any_text,
)
TAG = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)

# --- WeChat -------------------------------------------------------------------------------

WECHAT_KINDS = ["text", "image", "location", "voice", "event", "video", "shortvideo", "link", "file", "miniprogrampage"]
WECHAT_EVENTS = ["subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION", "TEMPLATESENDJOBFINISH"]


def wechat_fields(openids: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, str]]:
    """The fields of a push: every one optional, each value plausible or not."""
    optional = {
        "ToUserName": st.just("gh_zhengwu000001") | xml_text,
        "FromUserName": (st.from_regex(r"o[A-Za-z0-9_-]{27}", fullmatch=True) | xml_text)
        if openids is None
        else openids,
        "CreateTime": st.integers(0, 2**40).map(str) | xml_text,
        "MsgType": st.sampled_from(WECHAT_KINDS) | xml_text,
        "Content": xml_text,
        "MsgId": st.integers(0, 2**64).map(str) | xml_text,
        "PicUrl": st.sampled_from(["http://mmbiz.qpic.cn/x/0", "javascript:alert(1)", ""]) | xml_text,
        "MediaId": xml_text,
        "Location_X": numberish.filter(_xml_safe),
        "Location_Y": numberish.filter(_xml_safe),
        "Label": xml_text,
        "Recognition": xml_text,
        "Event": st.sampled_from(WECHAT_EVENTS) | xml_text,
        "EventKey": st.sampled_from(["report_problem", "qrscene_1", "/restart", ""]) | xml_text,
    }
    return st.fixed_dictionaries({}, optional=optional)


def _xml_safe(text: str) -> bool:
    return all(
        ch in "\t\n" or (ch >= " " and ch not in "\ufffe\uffff" and not "\ud800" <= ch <= "\udfff") for ch in text
    )


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def xml_documents(draw: st.DrawFn, fields: st.SearchStrategy[dict[str, str]] | None = None) -> bytes:
    """A well-formed <xml> push, written in one of the ways XML allows."""
    values = draw(wechat_fields() if fields is None else fields)
    parts = []
    for name, value in values.items():
        style = draw(st.sampled_from(["cdata", "escaped", "attribute", "nested", "comment"]))
        if style == "cdata":
            parts.append(f"<{name}><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></{name}>")
        elif style == "escaped":
            parts.append(f"<{name}>{_escaped(value)}</{name}>")
        elif style == "attribute":
            parts.append(f'<{name} a="{_escaped(value).replace(chr(34), "&quot;")}">{_escaped(value)}</{name}>')
        elif style == "nested":
            parts.append(f"<{name}><inner>{_escaped(value)}</inner></{name}>")
        else:
            parts.append(f"<!-- {value.replace('--', '')} --><{name}>{_escaped(value)}</{name}>")
    root = draw(st.sampled_from(["xml", "xml", "xml", "XML", "html", "x:xml"]))
    body = f"<{root}>{''.join(parts)}</{root}>"
    encoding = draw(st.sampled_from(["", "utf-8", "UTF-8", "utf-16", "gbk", "iso-8859-1", "ebcdic"]))
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else ""
    codec = {"utf-16": "utf-16", "gbk": "gbk", "iso-8859-1": "latin-1"}.get(encoding, "utf-8")
    return (declaration + body).encode(codec, errors="replace")


@st.composite
def entity_documents(draw: st.DrawFn) -> bytes:
    """A document with a DOCTYPE: a billion laughs (width ** depth expansions), a quadratic
    blow-up, an external entity or a parameter entity."""
    name = draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True))
    kind = draw(st.sampled_from(["laughs", "quadratic", "external", "parameter", "empty"]))
    if kind == "laughs":
        width, depth = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        entities = [f'<!ENTITY {name}0 "lol">']
        entities += [f'<!ENTITY {name}{level} "{f"&{name}{level - 1};" * width}">' for level in range(1, depth)]
        subset, use = "".join(entities), f"&{name}{depth - 1};"
    elif kind == "quadratic":
        subset, use = f'<!ENTITY {name} "{"A" * draw(st.integers(1, 20000))}">', f"&{name};" * 200
    elif kind == "external":
        target = draw(st.sampled_from(["file:///etc/passwd", "http://127.0.0.1:9/x", "/dev/zero", "expect://id"]))
        subset, use = f'<!ENTITY {name} SYSTEM "{target}">', f"&{name};"
    elif kind == "parameter":
        subset, use = f'<!ENTITY % {name} SYSTEM "http://127.0.0.1:9/x.dtd"> %{name};', ""
    else:
        subset, use = "", ""
    doctype = f"<!DOCTYPE xml [{subset}]>" if subset else "<!DOCTYPE xml>"
    fields = "<ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><MsgType>text</MsgType>"
    body = f"<xml>{fields}<Content>{use}</Content></xml>"
    return f'<?xml version="1.0"?>{doctype}{body}'.encode()


@st.composite
def broken(draw: st.DrawFn, document: st.SearchStrategy[bytes]) -> bytes:
    """A document cut short, with bytes flipped or spliced in."""
    data = bytearray(draw(document))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["cut", "flip", "insert"]))
        where = draw(st.integers(0, len(data)))
        if action == "cut":
            del data[where:]
        elif action == "flip" and where < len(data):
            data[where] ^= draw(st.integers(1, 255))
        else:
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


long_text = st.one_of(xml_text, st.text(xml_char, min_size=500, max_size=3000))
message_ids = st.uuids().map(lambda u: str(u.int % 10**19))


def wechat_messages(openids: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Pushes the channel takes (sender, kind and id present), saying anything at all."""
    fields = st.fixed_dictionaries(
        {"FromUserName": openids, "MsgType": st.sampled_from(WECHAT_KINDS), "MsgId": message_ids},
        optional={
            "ToUserName": st.just("gh_zhengwu000001"),
            "CreateTime": st.integers(0, 2**40).map(str),
            "Content": long_text,
            "PicUrl": st.sampled_from(["http://mmbiz.qpic.cn/x/0", "javascript:alert(1)"]) | xml_text,
            "Location_X": numberish.filter(_xml_safe),
            "Location_Y": numberish.filter(_xml_safe),
            "Label": xml_text,
            "Recognition": long_text,
            "Event": st.sampled_from(WECHAT_EVENTS) | xml_text,
            "EventKey": st.sampled_from(["report_problem", "restart", "/restart", ""]) | xml_text,
        },
    )
    return fields.flatmap(
        lambda values: st.sampled_from(
            [
                protocol_xml(values).encode(),
                json.dumps(values).encode(),
                json.dumps(values, ensure_ascii=False).encode(),
            ]
        )
    )


def protocol_xml(fields: dict[str, str]) -> str:
    """A push as WeChat writes it: every value in CDATA."""
    parts = "".join(
        f"<{name}><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></{name}>" for name, value in fields.items()
    )
    return f"<xml>{parts}</xml>"


def wechat_bodies(openids: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[bytes]:
    """Anything WeChat's push endpoint might be sent: XML, JSON, garbage."""
    return st.one_of(
        xml_documents(wechat_fields(openids)),
        broken(xml_documents(wechat_fields(openids))),
        entity_documents(),
        wechat_fields(openids).map(lambda fields: json.dumps(fields).encode()),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=300),
    )


# --- Weibo --------------------------------------------------------------------------------

uids = st.one_of(
    st.integers(1, 2**63 - 1),
    st.integers(1, 2**63 - 1).map(str),
    st.sampled_from([0, -1, 2**63, 2**64, True, 1.5, "1e3", "١٢٣", ""]),
    json_values,
)
WEIBO_KINDS = ["text", "position", "image", "voice", "event", "mention", "sticker"]
WEIBO_SUBTYPES = ["follow", "unfollow", "subscribe", "unsubscribe", "scan_follow", "click", "view"]
weibo_data = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "longitude": numberish | numbers,
            "latitude": numberish | numbers,
            "url": st.sampled_from(["https://example.org/p.jpg", "ftp://x"]) | any_text,
            "vfid": st.integers(),
            "subtype": st.sampled_from(WEIBO_SUBTYPES) | any_text,
            "key": st.sampled_from(["report_problem", "查进度"]) | any_text,
        },
    ),
    json_values,
    json_values.map(json.dumps),
)


def weibo_pushes(senders: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(WEIBO_KINDS) | json_values,
            "receiver_id": uids,
            "sender_id": uids if senders is None else senders,
            "created_at": st.just("Mon Jul 16 18:09:20 +0800 2012") | any_text,
            "text": any_text | json_values,
            "data": weibo_data,
        },
    )


def weibo_messages(senders: st.SearchStrategy[int]) -> st.SearchStrategy[bytes]:
    """Pushes the channel takes (type, sender and receiver present), saying anything at all."""
    push = st.fixed_dictionaries(
        {
            "type": st.sampled_from(WEIBO_KINDS),
            "sender_id": senders,
            "receiver_id": st.just(1902538057),
            "created_at": st.uuids().map(str),
        },
        optional={"text": any_text | long_text, "data": weibo_data},
    )
    return push.map(lambda value: json.dumps(value).encode())


def weibo_bodies(senders: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[bytes]:
    return st.one_of(
        weibo_pushes(senders).map(lambda push: json.dumps(push).encode()),
        weibo_pushes(senders).map(lambda push: json.dumps(push, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=300),
    )


# --- REST ---------------------------------------------------------------------------------


def rest_messages(senders: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Bodies the channel takes (a sender), with any message and metadata."""
    body = st.fixed_dictionaries(
        {
            "sender": senders,
            "message": st.one_of(any_text, long_text, st.sampled_from(["/restart", "/greet", "/nlu_fallback"])),
        },
        optional={
            "metadata": st.dictionaries(
                st.sampled_from(["lang", "photo_urls", "latitude", "channel"]) | any_text, json_values, max_size=3
            )
        },
    )
    return body.map(lambda value: json.dumps(value).encode())


def rest_bodies(senders: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[bytes]:
    body = st.fixed_dictionaries(
        {},
        optional={
            "sender": (st.text(min_size=1, max_size=20) | json_values | st.text(min_size=250, max_size=300))
            if senders is None
            else senders,
            "message": any_text | json_values | st.sampled_from(["/restart", "/greet", '/choose_candidate{"x":1}']),
            "metadata": st.dictionaries(any_text, json_values, max_size=3) | json_values,
        },
    )
    return st.one_of(
        body.map(lambda value: json.dumps(value).encode()),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=300),
    )


def deep_json(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    """An object whose one value is nested `depth` deep: past the JSON decoder's recursion limit."""
    return ('{"MsgType": "text", "FromUserName": "o1", "a": ' + opener * depth + closer * depth + "}").encode()
