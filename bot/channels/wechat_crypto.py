"""WeChat Official Account message push, the protocol without the server: signatures,
the AES envelope of safe mode, and the XML or JSON bodies both ways.

Pure functions over bytes and strings, checked on Tencent's published vectors
(../shared/data/wechat/VECTORS.md):

- a signature is the SHA-1 hex of the sorted parts joined: [token, timestamp, nonce] for
  `signature` (URL verification, plain mode), plus the `Encrypt` value for `msg_signature`;
- the AES key is base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = key[:16];
  the plaintext is 16 random bytes ‖ 4-byte big-endian length ‖ message ‖ AppID, padded
  PKCS#7-style to 32-byte blocks;
- bodies are XML (`<xml><ToUserName>…`) or, when the account chose JSON, one JSON
  object with the same field names. XML is parsed with defusedxml: a document type
  declaration (and so any entity) is refused, never expanded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

BLOCK_SIZE = 32
RANDOM_SIZE = 16
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class SignatureError(Exception):
    """A signature does not match: the request did not come from WeChat."""


class DecryptionError(Exception):
    """An `Encrypt` value that no configured key opens, or that is for another AppID."""


class MalformedBody(Exception):
    """A body that is not a WeChat message: not XML or JSON, a DOCTYPE, missing fields."""


def signature(*parts: str) -> str:
    """SHA-1 hex of the parts sorted and joined, as WeChat signs."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(expected: str | None, *parts: str) -> bool:
    if not expected or not str(expected).isascii():  # compare_digest refuses other strings with a TypeError
        return False
    try:
        return hmac.compare_digest(signature(*parts), str(expected).lower())
    except UnicodeEncodeError:  # a lone surrogate (from a JSON escape) signs nothing
        return False


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key behind a 43-character EncodingAESKey."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as error:
        raise ValueError("EncodingAESKey is not base64") from error
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters (32 bytes)")
    return key


def _cipher(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def seal(key: bytes, message: str, app_id: str, random: bytes) -> str:
    """The `Encrypt` value of `message` for `app_id`, with these 16 random bytes."""
    if len(random) != RANDOM_SIZE:
        raise ValueError("safe mode needs 16 random bytes")
    body = message.encode("utf-8")
    plain = random + struct.pack(">I", len(body)) + body + app_id.encode("utf-8")
    padding = BLOCK_SIZE - len(plain) % BLOCK_SIZE
    plain += bytes([padding]) * padding
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


@dataclass(frozen=True)
class Opened:
    random: bytes
    message: str
    app_id: str


def open_sealed(key: bytes, encrypted: str) -> Opened:
    """The random bytes, message and AppID inside an `Encrypt` value."""
    try:
        data = base64.b64decode(encrypted, validate=True)
    except ValueError as error:  # binascii.Error, or a str with characters outside ASCII
        raise DecryptionError("not base64") from error
    if not data or len(data) % 16:
        raise DecryptionError("not whole AES blocks")
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    padding = plain[-1]
    if not 1 <= padding <= BLOCK_SIZE or plain[-padding:] != bytes([padding]) * padding:
        raise DecryptionError("bad padding")
    plain = plain[:-padding]
    if len(plain) < RANDOM_SIZE + 4:
        raise DecryptionError("too short")
    (length,) = struct.unpack(">I", plain[RANDOM_SIZE : RANDOM_SIZE + 4])
    start = RANDOM_SIZE + 4
    if start + length > len(plain):
        raise DecryptionError("length beyond the message")
    try:
        message = plain[start : start + length].decode("utf-8")
        app_id = plain[start + length :].decode("utf-8")
    except UnicodeDecodeError as error:
        raise DecryptionError("not UTF-8") from error
    return Opened(plain[:RANDOM_SIZE], message, app_id)


class MessageCrypto:
    """Safe mode for one account: opens what WeChat sealed and seals replies.

    `keys` are EncodingAESKeys, current first: during a key change the previous one
    still opens messages sealed before WeChat switched. Replies are sealed with the
    current key. `random` gives the 16 random bytes of each reply (injectable for tests).
    """

    def __init__(
        self, token: str, keys: Iterable[str], app_id: str, random: Callable[[int], bytes] = os.urandom
    ) -> None:
        self.token = token
        self.keys = [aes_key(key) for key in keys]
        if not self.keys:
            raise ValueError("safe mode needs an EncodingAESKey")
        self.app_id = app_id
        self.random = random

    def open(self, encrypted: str, timestamp: str, nonce: str, msg_signature: str | None) -> str:
        """The message inside `encrypted`, once its msg_signature and AppID are checked."""
        if not signature_matches(msg_signature, self.token, timestamp, nonce, encrypted):
            raise SignatureError("msg_signature")
        for key in self.keys:
            try:
                opened = open_sealed(key, encrypted)
            except DecryptionError:
                continue
            if opened.app_id == self.app_id:
                return opened.message
        raise DecryptionError("no key opens it for this AppID")

    def seal_reply(self, message: str, timestamp: str, nonce: str) -> dict[str, str]:
        """The fields of an encrypted reply: Encrypt, MsgSignature, TimeStamp, Nonce."""
        encrypted = seal(self.keys[0], message, self.app_id, self.random(RANDOM_SIZE))
        return {
            "Encrypt": encrypted,
            "MsgSignature": signature(self.token, timestamp, nonce, encrypted),
            "TimeStamp": timestamp,
            "Nonce": nonce,
        }


def parse_body(body: bytes) -> dict[str, str]:
    """The fields of a pushed message, XML or JSON, every value as a string."""
    stripped = body.strip()
    if stripped.startswith(b"{"):
        try:
            data = json.loads(stripped.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # RecursionError: arrays nested a thousand deep
            raise MalformedBody("invalid JSON") from error
        if not isinstance(data, dict):
            raise MalformedBody("not a JSON object")
        fields = {str(name): _json_text(value) for name, value in data.items() if value is not None}
        try:
            "".join(f"{name}{value}" for name, value in fields.items()).encode("utf-8")
        except UnicodeEncodeError as error:  # "\ud800": JSON may escape what UTF-8 cannot carry
            raise MalformedBody("a lone surrogate") from error
        return fields
    try:
        root = ElementTree.fromstring(stripped, forbid_dtd=True)
    except (DefusedXmlException, ElementTree.ParseError, ValueError, LookupError) as error:
        # LookupError: an encoding="…" that Python has no codec for
        raise MalformedBody("invalid or unsafe XML") from error
    if root.tag != "xml":
        raise MalformedBody("the root element is not <xml>")
    return {child.tag: (child.text or "").strip() for child in root if len(child) == 0}


def _json_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def is_json(body: bytes) -> bool:
    return body.lstrip().startswith(b"{")


def render_xml(fields: Mapping[str, str | int]) -> str:
    """`<xml>` with one element per field: numbers bare, text in CDATA."""
    parts = []
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            text = _XML_UNSAFE.sub("", value).replace("]]>", "]]]]><![CDATA[>")
            parts.append(f"<{name}><![CDATA[{text}]]></{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def render_json(fields: Mapping[str, str | int]) -> str:
    return json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))


def text_reply(to_user: str, from_user: str, create_time: int, content: str, as_json: bool = False) -> str:
    """A passive text reply, in the body format of the message it answers."""
    fields: dict[str, str | int] = {
        "ToUserName": to_user,
        "FromUserName": from_user,
        "CreateTime": create_time,
        "MsgType": "text",
        "Content": content,
    }
    return render_json(fields) if as_json else render_xml(fields)


def sealed_reply(sealed: Mapping[str, str], as_json: bool = False) -> str:
    """The envelope of an encrypted reply (TimeStamp a number, the rest text)."""
    fields: dict[str, str | int] = {
        "Encrypt": sealed["Encrypt"],
        "MsgSignature": sealed["MsgSignature"],
        "TimeStamp": int(sealed["TimeStamp"]),
        "Nonce": sealed["Nonce"],
    }
    return render_json(fields) if as_json else render_xml(fields)
