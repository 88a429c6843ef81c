"""Shared fixtures: the catalogue built from the data files, and real running platforms.

The platform runs as its own process (`python -m backend`) against SQLite and against the
PostgreSQL server of this machine (POSTGRES_TEST_URL, default postgresql://127.0.0.1/test).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import Engine

from backend.catalogue import sources
from backend.catalogue.catalogue import Catalogue
from backend.settings import ROOT
from backend.store import make_engine, metadata

POSTGRES_URL = os.environ.get("POSTGRES_TEST_URL", "postgresql://127.0.0.1/test")


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningPlatform:
    def __init__(self, database_url: str, var_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = var_dir / "platform.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PLATFORM_HOST": "127.0.0.1",
            "PLATFORM_PORT": str(self.port),
            "ZW_VAR_DIR": str(var_dir),
        }
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backend"], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("platform exited:\n" + self.log_path.read_text())
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("platform did not come up:\n" + self.log_path.read_text())

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


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
