"""Shared fixtures: the catalogue built from the data files, and real running platforms.

The platform runs as its own process (`python -m backend`) against SQLite and against the
PostgreSQL server of this machine (POSTGRES_TEST_URL, default postgresql://127.0.0.1/test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import Engine

from backend.catalogue import sources
from backend.catalogue.catalogue import Catalogue
from backend.store import make_engine, metadata
from tools.stack import Process, free_port, platform_command

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
