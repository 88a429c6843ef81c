"""The stock `rasa init` assistant, as the baseline benchmarks compare ours with.

    from bench.stock import StockAssistant, CONVERSATIONS, write_endpoints

    with StockAssistant(var_dir) as stock:              # in-memory tracker store
        stock.say("ana", "hello")                       # [{"recipient_id": "ana", "text": "Hey! How are you?"}]
        stock.tracker("ana")                            # the tracker, through the token-protected API

    endpoints = write_endpoints(var_dir / "endpoints.yml", redis_url="redis://127.0.0.1:6379/0", key_prefix="stock1")
    with StockAssistant(var_dir, endpoints) as stock:   # or sql_url="sqlite:///…" / "postgresql://…"
        ...

`stock_model()` creates the project under var/bench/stock with `python -m rasa init
--no-prompt` (Rasa's own config, domain and training data, untouched; telemetry off), which
trains it, and remembers the model with a fingerprint of the project files: later runs
reuse it while those files are unchanged, and train again (`rasa train`) when they
changed. `StockAssistant` serves that model with `rasa run --enable-api` on a free port
with the project's credentials (REST on) and the endpoints file given (the project's own
by default: no action server, conversations in memory), as tools/stack.py serves ours:
the same `Process` (var_dir/stock.log, `.url`, `.process`), up once `/` answers.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from tools.stack import ROOT, Command, Process, free_port, redis_settings, sql_settings

STOCK_DIR = ROOT / "var" / "bench" / "stock"
MODEL_RECORD = ".bench-model.json"  # {"fingerprint", "model"}: which model the project files trained
TELEMETRY_OFF = {"RASA_TELEMETRY_ENABLED": "false"}

# Conversations in the stock assistant's own domain (greet, mood, affirm/deny, goodbye,
# bot_challenge), each message one its stories or rules answer.
CONVERSATIONS = [
    ["hello", "I am feeling great", "goodbye"],
    ["hi there", "I am very sad", "yes", "bye"],
    ["good morning", "not good", "no", "see you later"],
    ["hey", "are you a bot?", "I am amazing", "have a nice day"],
    ["good evening", "my day was horrible", "of course", "good night"],
]


def project_fingerprint(project_dir: Path = STOCK_DIR) -> str:
    """A hash of what training reads (config, domain, data) and of the Rasa version."""
    import rasa

    digest = hashlib.sha256(rasa.__version__.encode())
    files = [project_dir / "config.yml", project_dir / "domain.yml", *sorted((project_dir / "data").rglob("*.yml"))]
    for path in files:
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def stock_model(project_dir: Path = STOCK_DIR) -> Path:
    """The trained stock model: created with `rasa init` the first time, trained again only
    when the project files changed. Safe to call from several benchmarks at once."""
    project_dir.mkdir(parents=True, exist_ok=True)
    with (project_dir.parent / f"{project_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one creator at a time; the others then reuse its model
        record_path = project_dir / MODEL_RECORD
        if not (project_dir / "domain.yml").exists():
            _rasa(project_dir, ["init", "--no-prompt", "--init-dir", str(project_dir)])
            models = sorted((project_dir / "models").glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
            _record(record_path, project_fingerprint(project_dir), models[-1])
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        fingerprint = project_fingerprint(project_dir)
        model = project_dir / record.get("model", "-")
        if record.get("fingerprint") != fingerprint or not model.exists():
            name = f"stock-{fingerprint}"
            _rasa(project_dir, ["train", "--out", "models", "--fixed-model-name", name])
            model = project_dir / "models" / f"{name}.tar.gz"
            _record(record_path, fingerprint, model)
        return model


def _rasa(project_dir: Path, arguments: list[str]) -> None:
    log_path = project_dir.parent / f"{project_dir.name}-train.log"
    with log_path.open("a") as log:
        subprocess.run(
            [sys.executable, "-m", "rasa", *arguments],
            cwd=project_dir,
            env={**os.environ, **TELEMETRY_OFF},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )


def _record(record_path: Path, fingerprint: str, model: Path) -> None:
    model_name = str(model.relative_to(record_path.parent))
    record_path.write_text(json.dumps({"fingerprint": fingerprint, "model": model_name}) + "\n")


def write_endpoints(
    path: Path, redis_url: str | None = None, key_prefix: str = "stock", sql_url: str | None = None
) -> Path:
    """An endpoints file for the stock assistant: no action server; conversations in
    memory, or in Redis (`redis_url`, keys under `key_prefix`, letters and digits) with the
    lock store there too, or in an SQL database (`sql_url`: sqlite:///path or postgresql://…)."""
    lines = []
    if redis_url:
        settings = redis_settings(redis_url, key_prefix)
        body = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in settings.items())
        lines += ["tracker_store:\n  type: redis\n" + body, "lock_store:\n  type: redis\n" + body]
    elif sql_url:
        lines.append(
            "tracker_store:\n  type: SQL\n"
            + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in sql_settings(sql_url).items())
        )
    path.write_text("".join(lines) or "{}\n", encoding="utf-8")
    return path


class StockAssistant:
    """The stock assistant served on a free port, logging to `var_dir`/stock.log.

    `endpoints`: an endpoints file (`write_endpoints`); the project's own when None.
    `workers`: SANIC_WORKERS (Rasa serves more than one only with a lock store not in memory).
    """

    def __init__(self, var_dir: Path, endpoints: Path | None = None, workers: int = 1) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        self.var_dir = var_dir
        self.endpoints = endpoints or STOCK_DIR / "endpoints.yml"
        self.workers = workers
        self.token = secrets.token_urlsafe(16)

    def start(self) -> StockAssistant:
        self.model = stock_model()
        port = free_port()
        argv = [sys.executable, "-m", "rasa", "run", "--model", str(self.model), "--port", str(port)]
        # Explicit paths: Rasa would otherwise read ./credentials.yml and ./endpoints.yml, ours.
        argv += ["--endpoints", str(self.endpoints), "--credentials", str(STOCK_DIR / "credentials.yml")]
        argv += ["--enable-api", f"--auth-token={self.token}"]
        env = {**TELEMETRY_OFF, "SANIC_WORKERS": str(self.workers)}
        self.process = Process(Command("stock", argv, env, "/", port), self.var_dir / "stock.log")
        self.url = self.process.url
        self.process.wait_until_up()
        return self

    def say(self, sender: str, message: str, timeout: float = 30) -> list[dict[str, Any]]:
        """The assistant's answers to one message over the REST channel."""
        response = requests.post(
            self.url + "/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=timeout
        )
        response.raise_for_status()
        answers: list[dict[str, Any]] = response.json()
        return answers

    def tracker(self, sender: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/conversations/{sender}/tracker", params={"token": self.token}, timeout=30)
        response.raise_for_status()
        tracker: dict[str, Any] = response.json()
        return tracker

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> StockAssistant:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
