"""Tencent's side of a WeChat Official Account, on this machine, for tests.

`FakeWeChatApi` is the API server the channel calls (WECHAT_API_BASE): `stable_token`
and `message/custom/send`, recording every call. It can expire the current token (the
next custom/send answers 42001 and the next stable_token hands out a new one), close
the customer-service window (45015) and answer slowly.

`Pusher` is WeChat's message push: it builds pushes as Tencent does, signed, plain or
encrypted (with wechatpy, an independent implementation), posts them to the channel,
and reads the reply, decrypting and checking it with wechatpy.

`LateWeChatInput` is the channel under another name, for a test stack that needs a
second endpoint with another reply window.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import deserialize_reply
from wechatpy.utils import WeChatSigner

from bot.channels.wechat import WeChatInput


@dataclass(frozen=True)
class ApiCall:
    path: str
    query: dict[str, str]
    body: Any
    answer: dict[str, Any]


class FakeWeChatApi:
    """WeChat's API server for one account (`app_id`, `secret`), on a free port once started."""

    def __init__(self, app_id: str, secret: str) -> None:
        self.app_id = app_id
        self.secret = secret
        self.calls: list[ApiCall] = []
        self.delay = 0.0
        self.window_closed_for: set[str] = set()
        self._tokens_issued = 0
        self._valid: str | None = None
        self._expired: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeWeChatApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                query = {name: values[0] for name, values in parse_qs(url.query).items()}
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
                if fake.delay:
                    time.sleep(fake.delay)
                answer = fake.answer(url.path, query, body)
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, path: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self._lock:
            if path == "/cgi-bin/stable_token":
                answer = self._stable_token(body)
            elif path == "/cgi-bin/message/custom/send":
                answer = self._custom_send(query.get("access_token"), body)
            else:
                answer = {"errcode": 40066, "errmsg": "invalid url"}
            self.calls.append(ApiCall(path, query, body, answer))
            return answer

    def _stable_token(self, body: Any) -> dict[str, Any]:
        expected = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        if not isinstance(body, dict) or {key: body.get(key) for key in expected} != expected:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if self._valid is None:
            self._tokens_issued += 1
            self._valid = f"token-{self._tokens_issued}"
        return {"access_token": self._valid, "expires_in": 7200}

    def _custom_send(self, token: str | None, body: Any) -> dict[str, Any]:
        if token in self._expired:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if token is None or token != self._valid:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        if not isinstance(body, dict) or body.get("msgtype") != "text" or not (body.get("text") or {}).get("content"):
            return {"errcode": 44002, "errmsg": "empty post data"}
        if body.get("touser") in self.window_closed_for:
            return {"errcode": 45015, "errmsg": "response out of time limit"}
        return {"errcode": 0, "errmsg": "ok"}

    def expire_token(self) -> None:
        """The token handed out is expired from now on; the next stable_token gives a new one."""
        with self._lock:
            if self._valid is not None:
                self._expired.add(self._valid)
            self._valid = None

    def calls_to(self, path: str) -> list[ApiCall]:
        return [call for call in self.calls if call.path == path]

    def delivered(self, openid: str) -> list[str]:
        """The texts custom/send accepted for `openid`, in order."""
        return [
            call.body["text"]["content"]
            for call in self.calls_to("/cgi-bin/message/custom/send")
            if call.answer.get("errcode") == 0 and call.body.get("touser") == openid
        ]

    def wait_for_delivered(self, openid: str, count: int = 1, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.delivered(openid)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.delivered(openid))} texts delivered to {openid}, wanted {count}")
            time.sleep(0.1)
        return self.delivered(openid)


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def message_xml(fields: dict[str, Any]) -> str:
    """A push as WeChat writes it: text in CDATA, numbers bare."""
    parts = [
        f"<{name}>{value}</{name}>" if isinstance(value, int) else f"<{name}><![CDATA[{value}]]></{name}>"
        for name, value in fields.items()
    ]
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass
class Reply:
    status: int
    body: str
    content: str | None = None  # the text of a passive reply, decrypted if it was
    fields: dict[str, Any] = field(default_factory=dict)


class Pusher:
    """WeChat pushing messages to the channel at `url` for the account (token, AES key, AppID)."""

    def __init__(
        self,
        url: str,
        token: str,
        aes_key: str | None = None,
        app_id: str = "",
        account: str = "",
        reply_aes_key: str | None = None,
    ) -> None:
        """`reply_aes_key`: the key replies are read with, when not `aes_key` (a key change)."""
        self.url = url
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.reply_crypto = WeChatCrypto(token, reply_aes_key or aes_key, app_id) if aes_key else None
        self.account = account or "gh_zhengwu000001"
        self._nonce = 100000

    def next_nonce(self) -> str:
        self._nonce += 1
        return str(self._nonce)

    def push(
        self, fields: dict[str, Any], safe: bool = False, timeout: float = 30, timestamp: str | None = None
    ) -> Reply:
        """Pushes one message (ToUserName and CreateTime filled in) and reads the reply."""
        fields = {"ToUserName": self.account, "CreateTime": int(time.time()), **fields}
        timestamp = timestamp or str(int(time.time()))
        nonce = self.next_nonce()
        query = {"timestamp": timestamp, "nonce": nonce, "signature": sign(self.token, timestamp, nonce)}
        query["openid"] = str(fields.get("FromUserName", ""))
        body = message_xml(fields)
        if safe:
            assert self.crypto is not None
            envelope = xmltodict.parse(self.crypto.encrypt_message(body, nonce, timestamp))["xml"]
            query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
            body = message_xml({"ToUserName": self.account, "Encrypt": envelope["Encrypt"]})
        answer = requests.post(self.url, params=query, data=body.encode("utf-8"), timeout=timeout)
        return self.read(answer, safe)

    def read(self, answer: requests.Response, safe: bool) -> Reply:
        text = answer.content.decode("utf-8")
        reply = Reply(answer.status_code, text)
        if answer.status_code != 200 or text in ("success", ""):
            return reply
        if safe:
            assert self.reply_crypto is not None
            envelope = xmltodict.parse(text)["xml"]
            text = self.reply_crypto.decrypt_message(
                text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )  # checks MsgSignature and AppID
        parsed = deserialize_reply(text)
        reply.content = parsed.content
        reply.fields = xmltodict.parse(text)["xml"]
        return reply


class LateWeChatInput(WeChatInput):
    """The WeChat channel again, at /webhooks/wechat_late, for the test stack's credentials:
    given a tiny reply window, every answer there goes late through the API."""

    @classmethod
    def name(cls) -> str:
        return "wechat_late"
