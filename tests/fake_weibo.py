"""Weibo's side of a fan-service account, on this machine, for tests.

`FakeWeiboApi` is the API server the channel calls (WEIBO_API_BASE): reply.json, form
encoded as the wiki's curl example, recording every call. It refuses a wrong access
token (21332), can refuse the next sends with another error code, and answer slowly.

`Pusher` is Weibo's message push: it builds pushes as the wiki shows them, signs them
(its own SHA-1, not the channel's), posts them and reads the passive reply, URL-decoding
its `data`.

`LateWeiboInput` is the channel under another name, for a test stack that needs a second
endpoint with another reply window.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from bot.channels.weibo import WeiboInput

REPLY_PATH = "/2/messages/reply.json"


class LateWeiboInput(WeiboInput):
    """The Weibo channel again, at /webhooks/weibo_late, for the test stack's credentials:
    given a tiny reply window, every answer there goes late through reply.json."""

    @classmethod
    def name(cls) -> str:
        return "weibo_late"


@dataclass(frozen=True)
class ApiCall:
    path: str
    query: dict[str, str]
    form: dict[str, str]
    answer: dict[str, Any]

    @property
    def text(self) -> str | None:
        try:
            return str(json.loads(self.form["data"])["text"])
        except (KeyError, TypeError, ValueError):
            return None


class FakeWeiboApi:
    """Weibo's API server for one account and its access token, on a free port once started."""

    def __init__(self, access_token: str) -> None:
        self.access_token = access_token
        self.calls: list[ApiCall] = []
        self.delay = 0.0
        self.refuse_next: list[int] = []  # error codes for the next sends, in order
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeWeiboApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                url = urlsplit(self.path)
                query = {name: values[0] for name, values in parse_qs(url.query).items()}
                form = {name: values[0] for name, values in parse_qs(raw).items()}
                if fake.delay:
                    time.sleep(fake.delay)
                status, answer = fake.answer(url.path, query, form)
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
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

    def answer(self, path: str, query: dict[str, str], form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            status, answer = self._reply(path, query, form)
            self.calls.append(ApiCall(path, query, form, answer))
            return status, answer

    def _reply(self, path: str, query: dict[str, str], form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path != REPLY_PATH:
            return 404, {"error_code": 10014, "error": "unknown api"}
        if query.get("access_token") != self.access_token:
            return 403, {"error_code": 21332, "error": "invalid_access_token"}
        try:
            text = json.loads(form["data"])["text"]
        except (KeyError, TypeError, ValueError):
            text = None
        if form.get("type") != "text" or not form.get("receiver_id", "").isdigit() or not isinstance(text, str):
            return 400, {"error_code": 10008, "error": "param error"}
        if len(text) >= 300:
            return 400, {"error_code": 20012, "error": "text too long"}
        if self.refuse_next:
            return 403, {"error_code": self.refuse_next.pop(0), "error": "refused"}
        return 200, {"result": True, "receiver_id": int(form["receiver_id"]), "type": "text"}

    def delivered(self, receiver_id: int) -> list[str]:
        """The texts reply.json accepted for `receiver_id`, in order."""
        return [
            call.text or ""
            for call in self.calls
            if call.answer.get("result") and call.form.get("receiver_id") == str(receiver_id)
        ]

    def wait_for_delivered(self, receiver_id: int, count: int = 1, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.delivered(receiver_id)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.delivered(receiver_id))} texts for {receiver_id}, wanted {count}")
            time.sleep(0.1)
        return self.delivered(receiver_id)


def sign(app_secret: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([app_secret, timestamp, nonce])).encode("utf-8")).hexdigest()


def created_at(moment: float | None = None) -> str:
    """A time as Weibo writes it: "Mon Jul 16 18:09:20 +0800 2012"."""
    when = datetime.fromtimestamp(moment or time.time(), timezone(timedelta(hours=8)))
    return when.strftime("%a %b %d %H:%M:%S %z %Y")


@dataclass
class Reply:
    status: int
    body: bytes
    fields: dict[str, Any] = field(default_factory=dict)
    text: str | None = None  # the text of a passive reply, URL-decoded

    @property
    def empty(self) -> bool:
        return self.status == 200 and not self.body


class Pusher:
    """Weibo pushing to the channel at `url` for the account `account_id` with `app_secret`."""

    def __init__(self, url: str, app_secret: str, account_id: int = 1902538057) -> None:
        self.url = url
        self.app_secret = app_secret
        self.account_id = account_id
        self._nonce = 57155157

    def signed_query(self, timestamp: str | None = None) -> dict[str, str]:
        """signature, timestamp (milliseconds, as Weibo sends it) and nonce."""
        self._nonce += 1
        timestamp = timestamp or str(int(time.time() * 1000))
        nonce = str(self._nonce)
        return {"signature": sign(self.app_secret, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}

    def push(self, sender_id: int, kind: str = "text", text: str = "", data: dict[str, Any] | None = None) -> Reply:
        """A new push (created now), signed; its passive reply."""
        return self.send(self.body(sender_id, kind, text, data))

    def body(self, sender_id: int, kind: str = "text", text: str = "", data: dict[str, Any] | None = None) -> bytes:
        fields = {
            "type": kind,
            "receiver_id": self.account_id,
            "sender_id": sender_id,
            "created_at": created_at(),
            "text": text,
            "data": data or {},
        }
        return json.dumps(fields, ensure_ascii=False).encode("utf-8")

    def send(self, body: bytes, query: dict[str, str] | None = None, timeout: float = 30) -> Reply:
        answer = requests.post(self.url, params=query or self.signed_query(), data=body, timeout=timeout)
        reply = Reply(answer.status_code, answer.content)
        if answer.status_code == 200 and answer.content:
            reply.fields = answer.json()
            reply.text = json.loads(unquote(reply.fields["data"]))["text"]
        return reply
