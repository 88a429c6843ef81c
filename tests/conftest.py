"""Shared fixtures: the catalogue built from the data files, real running platforms, and
a fake of Rasa's HTTP API that records the notifications the platform sends.

The platform runs as its own process (`python -m backend`) against SQLite and against the
PostgreSQL server of this machine (POSTGRES_TEST_URL, default postgresql://127.0.0.1/test).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from sqlalchemy.engine import Engine

from backend.catalogue import sources
from backend.catalogue.catalogue import Catalogue
from backend.complaints.records import ComplaintDraft
from backend.store import make_engine, metadata
from tools.stack import Process, free_port, platform_command

POSTGRES_URL = os.environ.get("POSTGRES_TEST_URL", "postgresql://127.0.0.1/test")
# A test conversation sends its messages faster than any citizen: the stacks the tests start
# (their processes inherit this environment) allow 600 a minute. tests/test_rate_limit.py
# gives the limit its own numbers.
os.environ.setdefault("ZW_RATE_LIMIT_PER_MINUTE", "600")


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return sources.catalogue_from_files()


def fresh_engine(url: str) -> Engine:
    """An engine on an emptied database: the project's tables dropped and made anew."""
    engine = make_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'platform.db'}"
    else:
        fresh_engine(POSTGRES_URL).dispose()
        yield POSTGRES_URL


class RunningPlatform:
    """The platform as its own process on a free port, its log in `var_dir`.

    `env` adds to or overrides the defaults (a known staff token, no Rasa). Each run
    logs to its own file, so a platform can be restarted on the same `var_dir`.
    """

    def __init__(self, database_url: str, var_dir: Path, env: dict[str, str] | None = None) -> None:
        # Unless a test brings its own Rasa, notifications go nowhere (port 9, discard) and stay queued.
        env = {"PLATFORM_STAFF_TOKEN": "staff-token-for-tests", "RASA_URL": "http://127.0.0.1:9", **(env or {})}
        command = platform_command(free_port(), var_dir, database_url, env=env)
        self.staff_token = env["PLATFORM_STAFF_TOKEN"]
        self.database_url = database_url
        self._process = Process(command, var_dir / f"platform-{command.port}.log")
        self.url = self._process.url
        self._process.wait_until_up(timeout=60)

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]

    @property
    def staff(self) -> dict[str, str]:
        """Headers of a staff request."""
        return {"Authorization": f"Bearer {self.staff_token}"}

    def log(self) -> str:
        return self._process.log()

    def stop(self) -> None:
        self._process.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    var_dir = tmp_path_factory.mktemp(f"var-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{var_dir / 'platform.db'}"
    else:
        fresh_engine(POSTGRES_URL).dispose()
        url = POSTGRES_URL
    running = RunningPlatform(url, var_dir)
    yield running
    running.stop()


@dataclass(frozen=True)
class Call:
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int


class FakeRasa:
    """Answers POSTs like Rasa's trigger_intent, on a fixed port, once started."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.calls: list[Call] = []
        self.failures_to_answer = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeRasa:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                status = 200
                if fake.failures_to_answer:
                    fake.failures_to_answer -= 1
                    status = 500
                url = urlsplit(self.path)
                fake.calls.append(Call(url.path, parse_qs(url.query), body, status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def calls_for(self, conversation_id: str) -> list[Call]:
        path = f"/conversations/{quote(conversation_id, safe='')}/trigger_intent"
        return [call for call in self.calls if call.path == path]


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def complaint_draft(**fields: Any) -> ComplaintDraft:
    """A report as the platform records it, for tests that write one straight to the database."""
    defaults: dict[str, Any] = dict(
        category="noise",
        request_type="help",
        description="",
        region_code="510107",
        address=None,
        address_id=None,
        latitude=None,
        longitude=None,
        occurred_at=None,
        photo_urls=(),
        contact_name=None,
        contact_phone="13987654321",
        contact_email=None,
        account_id=None,
        device_id=None,
        channel="rest",
        conversation_id=None,
        lang="zh",
    )
    return ComplaintDraft(**{**defaults, **fields})
