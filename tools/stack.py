"""The assistant's three processes (CONTRACT.md §1), started as `make run`, tests and
benchmarks need them: the service platform, the action server and the Rasa server.

`make run` uses the default ports and this terminal; tests and benchmarks use `Stack`,
which picks free ports, keeps every runtime file under one directory and logs each
process to its own file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

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
    env = {"PLATFORM_URL": platform_url, **(env or {})}
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
    return Command("rasa", argv, {"RASA_TELEMETRY_ENABLED": "false"}, "/", port)


def write_endpoints(var_dir: Path, action_port: int) -> Path:
    """endpoints.yml for a stack whose runtime files live in `var_dir`: as the repository's,
    with this stack's action server and tracker database."""
    path = var_dir / "endpoints.yml"
    path.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{action_port}/webhook\n"
        "tracker_store:\n  type: bot.stores.redacting.RedactingTrackerStore\n"
        f"  store:\n    type: SQL\n    dialect: sqlite\n    db: {var_dir / 'tracker.db'}\n"
        f"  pii_slots: [{', '.join(PII_SLOTS)}]\n",
        encoding="utf-8",
    )
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
        self._log = log_path.open("w")
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
    """Platform, action server and Rasa server on free ports, runtime files in `var_dir`."""

    def __init__(self, var_dir: Path, model: Path, database_url: str | None = None) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        self.var_dir = var_dir
        self.model = model
        self.database_url = database_url or f"sqlite:///{var_dir / 'platform.db'}"
        self.processes: dict[str, Process] = {}

    def start(self) -> Stack:
        ports = {name: free_port() for name in DEFAULT_PORTS}
        self.token = rasa_token(self.var_dir)
        notify = {"RASA_URL": f"http://127.0.0.1:{ports['rasa']}", "RASA_AUTH_TOKEN": self.token}
        self.start_process(platform_command(ports["platform"], self.var_dir, self.database_url, notify))
        self.start_process(
            action_server_command(ports["actions"], self.processes["platform"].url, self.var_dir, notify)
        )
        endpoints = write_endpoints(self.var_dir, ports["actions"])
        self.start_process(rasa_command(ports["rasa"], self.model, endpoints, self.token))
        for process in self.processes.values():
            process.wait_until_up()
        return self

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
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
