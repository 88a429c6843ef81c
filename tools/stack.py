"""The assistant's three processes (CONTRACT.md §1), started as `make run`, tests and
benchmarks need them: the service platform, the action server and the Rasa server.

`make run` uses the default ports and this terminal; tests and benchmarks use `Stack`,
which picks free ports, keeps every runtime file under one directory and logs each
process to its own file.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

import requests

from backend.settings import read_dotenv, secret_from_file

ROOT = Path(__file__).resolve().parent.parent
PII_SLOTS = (
    "applicant_name",
    "id_number",
    "phone",
    "verification_code",
    "complaint_contact",
    "complaint_code",
    "rating_code",
)
DEFAULT_PORTS = {"platform": 8000, "actions": 5055, "rasa": 5005}
WINDOW = int(os.environ.get("ZW_TRACKER_WINDOW", "40"))
"""Events a conversation is read back with (bot/stores/windowed.py); 0: Rasa's own storing."""


@dataclass
class Command:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health: str = "/"
    port: int = 0


def platform_command(
    port: int, var_dir: Path | None = None, database_url: str | None = None, env: dict[str, str] | None = None
) -> Command:
    """The platform; with `var_dir` (tests, benchmarks) on 127.0.0.1 with its state there;
    `env` adds or overrides variables (RASA_URL, RASA_AUTH_TOKEN, …)."""
    env = {"PLATFORM_PORT": str(port), **(env or {})}
    if var_dir is not None:
        env.update(PLATFORM_HOST="127.0.0.1", ZW_VAR_DIR=str(var_dir))
    if database_url:
        env["DATABASE_URL"] = database_url
    return Command("platform", [sys.executable, "-m", "backend"], env, "/health", port)


def action_server_command(
    port: int, platform_url: str, var_dir: Path | None = None, env: dict[str, str] | None = None
) -> Command:
    """The action server; it keeps the key that seals personal details, and the outbox of
    reports not yet filed, in `var_dir`. `env` adds RASA_URL and RASA_AUTH_TOKEN, with which
    it tells a citizen the number of a report filed late."""
    argv = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    # Only Rasa calls it: not open to the network (rasa_sdk listens on 0.0.0.0 otherwise).
    env = {"PLATFORM_URL": platform_url, "SANIC_HOST": "127.0.0.1", **(env or {})}
    if var_dir is not None:
        env["ZW_VAR_DIR"] = str(var_dir)
    return Command("actions", argv, env, "/health", port)


def rasa_token(var_dir: Path) -> str:
    """The token of Rasa's HTTP API: RASA_AUTH_TOKEN (environment or .env), else generated into var/."""
    configured = os.environ.get("RASA_AUTH_TOKEN") or read_dotenv(ROOT / ".env").get("RASA_AUTH_TOKEN")
    return configured or secret_from_file(var_dir / "rasa-token")


def rasa_command(port: int, model: Path, endpoints: Path, token: str) -> Command:
    """Rasa with its HTTP API (trackers, trigger_intent) open only to holders of `token`."""
    argv = [sys.executable, "-m", "rasa", "run", "--model", str(model), "--port", str(port)]
    argv += ["--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")]
    argv += ["--enable-api", f"--auth-token={token}"]  # "=": a token may begin with "-"
    # The token in the environment too: the privacy routes (bot/channels/privacy.py) check it.
    return Command("rasa", argv, {"RASA_TELEMETRY_ENABLED": "false", "RASA_AUTH_TOKEN": token}, "/", port)


def endpoints_yaml(
    action_url: str,
    tracker_db: Path | str,
    redis_url: str | None = None,
    key_prefix: str = "zhengwu",
    window: int = WINDOW,
) -> str:
    """endpoints.yml: the action server at `action_url`; conversations in SQLite at
    `tracker_db` (a path, or a postgresql:// URL for PostgreSQL), or with `redis_url` in
    Redis (expiring after the retention period) with the lock store there too, so that
    several Rasa processes can share conversations. Either way through the store that
    redacts personal data, windowed (`window` events, bot/stores/windowed.py)."""
    lines = [f"action_endpoint:\n  url: {action_url}\n  enable_selective_domain: true\n"]
    lines.append("tracker_store:\n  type: bot.stores.redacting.RedactingTrackerStore\n")
    if redis_url:
        redis = redis_settings(redis_url, key_prefix)
        lines.append("  store:\n    type: redis\n" + _indented(redis, 4))
        lines.append(f"  pii_slots: [{', '.join(PII_SLOTS)}]\n  window: {window}\n")
        lines.append("lock_store:\n  type: bot.stores.locks.AtomicRedisLockStore\n" + _indented(redis, 2))
    else:
        lines.append("  store:\n    type: SQL\n" + _indented(sql_settings(tracker_db), 4))
        lines.append(f"  pii_slots: [{', '.join(PII_SLOTS)}]\n  window: {window}\n")
    return "".join(lines)


def sql_settings(database: Path | str) -> dict[str, str | int]:
    """The settings of Rasa's SQL tracker store for a SQLite file (a path or sqlite:///path)
    or a postgresql:// URL."""
    if isinstance(database, Path) or not str(database).startswith("postgresql://"):
        path = str(database)
        return {
            "dialect": "sqlite",
            "db": unquote(path[len("sqlite:///") :]) if path.startswith("sqlite:///") else path,
        }
    parsed = urlsplit(str(database))
    settings: dict[str, str | int] = {"dialect": "postgresql", "url": parsed.hostname or "localhost"}
    settings["port"] = parsed.port or 5432
    settings["db"] = parsed.path.strip("/") or "postgres"
    if parsed.username:
        settings["username"] = unquote(parsed.username)
    if parsed.password:
        settings["password"] = unquote(parsed.password)
    return settings


def redis_settings(redis_url: str, key_prefix: str = "zhengwu") -> dict[str, str | int]:
    """The settings Rasa's Redis stores take, from a redis:// or rediss:// URL."""
    parsed = urlsplit(redis_url)
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise ValueError("REDIS_URL must look like redis://[:password@]host[:port][/db]")
    if not key_prefix.isalnum():
        raise ValueError("the Redis key prefix must be letters and digits only (Rasa's rule)")
    settings: dict[str, str | int] = {"url": parsed.hostname, "port": parsed.port or 6379}
    settings["db"] = int(parsed.path.strip("/") or 0)
    if parsed.password:
        settings["password"] = unquote(parsed.password)
    if parsed.username:
        settings["username"] = unquote(parsed.username)
    if parsed.scheme == "rediss":
        settings["use_ssl"] = "true"
    settings["key_prefix"] = key_prefix
    return settings


def _indented(settings: dict[str, str | int], indent: int) -> str:
    # JSON strings are YAML strings: a password with ':' or '#' stays one value.
    return "".join(f"{' ' * indent}{key}: {json.dumps(value)}\n" for key, value in settings.items())


def write_endpoints(
    var_dir: Path,
    action_port: int,
    redis_url: str | None = None,
    key_prefix: str = "zhengwu",
    window: int = WINDOW,
    tracker_url: str | None = None,
) -> Path:
    """endpoints.yml for a stack whose runtime files live in `var_dir`: as the repository's,
    with this stack's action server and tracker database (or Redis)."""
    path = var_dir / "endpoints.yml"
    action_url = f"http://127.0.0.1:{action_port}/webhook"
    path.write_text(endpoints_yaml(action_url, var_dir / "tracker.db", redis_url, key_prefix, window), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """One process started in the background, logging to a file, up once its health check answers."""

    def __init__(self, command: Command, log_path: Path) -> None:
        self.command = command
        self.url = f"http://127.0.0.1:{command.port}"
        self.log_path = log_path
        # Appended to: a process started again (Stack.restart) keeps what the killed one logged.
        self._log = log_path.open("a")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **command.env}
        self.process = subprocess.Popen(command.argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_until_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command.name} exited:\n{self.log()}")
            try:
                if requests.get(self.url + self.command.health, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.command.name} did not come up:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Stack:
    """Platform, action server and Rasa server on free ports, runtime files in `var_dir`.

    `tracker_url`: conversations in that PostgreSQL database instead of SQLite in var_dir.
    With `redis_url`: conversations and locks in Redis under a key prefix of this stack's
    own (`key_prefix`), REDIS_URL given to every process (channel caches), and
    `rasa_workers` Rasa processes serving the one port (SANIC_WORKERS).
    """

    def __init__(
        self,
        var_dir: Path,
        model: Path,
        database_url: str | None = None,
        redis_url: str | None = None,
        rasa_workers: int = 1,
        action_workers: int = 1,
        env: dict[str, str] | None = None,
        window: int = WINDOW,
        tracker_url: str | None = None,
    ) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        self.window = window
        self.tracker_url = tracker_url
        self.var_dir = var_dir
        self.model = model
        self.database_url = database_url or f"sqlite:///{var_dir / 'platform.db'}"
        self.redis_url = redis_url
        self.key_prefix = "zw" + secrets.token_hex(4)
        self.rasa_workers = rasa_workers
        self.action_workers = action_workers
        self.env = dict(env or {})
        self.processes: dict[str, Process] = {}

    def start(self) -> Stack:
        ports = {name: free_port() for name in DEFAULT_PORTS}
        self.token = rasa_token(self.var_dir)
        shared = {**self.env, **({"REDIS_URL": self.redis_url} if self.redis_url else {})}
        notify = {"RASA_URL": f"http://127.0.0.1:{ports['rasa']}", "RASA_AUTH_TOKEN": self.token, **shared}
        self.start_process(platform_command(ports["platform"], self.var_dir, self.database_url, notify))
        actions = action_server_command(ports["actions"], self.processes["platform"].url, self.var_dir, notify)
        actions.env["ACTION_SERVER_SANIC_WORKERS"] = str(self.action_workers)
        self.start_process(actions)
        endpoints = write_endpoints(
            self.var_dir, ports["actions"], self.redis_url, self.key_prefix, self.window, self.tracker_url
        )
        rasa = rasa_command(ports["rasa"], self.model, endpoints, self.token)
        rasa.env.update(shared, SANIC_WORKERS=str(self.rasa_workers))
        self.start_process(rasa)
        for process in self.processes.values():
            process.wait_until_up()
        return self

    def restart(self, name: str, timeout: float = 180) -> Process:
        """Start the process `name` again (after `stop` or a kill) with the same command."""
        process = self.processes[name]
        process.stop()
        again = self.start_process(process.command)
        again.wait_until_up(timeout)
        return again

    def start_process(self, command: Command) -> Process:
        process = Process(command, self.var_dir / f"{command.name}.log")
        self.processes[command.name] = process
        return process

    @property
    def rasa_url(self) -> str:
        return self.processes["rasa"].url

    def say(self, sender: str, message: str, metadata: dict | None = None, timeout: float = 30) -> list[dict]:
        """The assistant's answers to one message over the REST channel."""
        body: dict = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        response = requests.post(self.rasa_url + "/webhooks/rest/webhook", json=body, timeout=timeout)
        response.raise_for_status()
        answers: list[dict] = response.json()
        return answers

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()  # what came up before the failure does not outlive it
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
