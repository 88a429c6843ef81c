"""`make run`: start every process of the assistant in the foreground; Ctrl-C stops them all.

Trains the model first if none matches the checkout. Each process gets the same
environment; when one exits, the others are stopped too. With REDIS_URL set,
conversations and locks go to Redis and SANIC_WORKERS Rasa processes share the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools.stack import (
    DEFAULT_PORTS,
    Command,
    action_server_command,
    endpoints_yaml,
    platform_command,
    rasa_command,
    rasa_token,
)
from tools.train import ensure_model

ROOT = Path(__file__).resolve().parent.parent


def commands() -> list[Command]:
    platform_port = int(os.environ.get("PLATFORM_PORT", DEFAULT_PORTS["platform"]))
    platform_url = os.environ.get("PLATFORM_URL", f"http://localhost:{platform_port}")
    token = rasa_token(ROOT / "var")
    return [
        platform_command(platform_port, env={"RASA_AUTH_TOKEN": token}),
        action_server_command(DEFAULT_PORTS["actions"], platform_url, env={"RASA_AUTH_TOKEN": token}),
        rasa_command(DEFAULT_PORTS["rasa"], ensure_model(), endpoints(), token),
    ]


def endpoints() -> Path:
    """endpoints.yml as it is (SQLite under var/), or with REDIS_URL set one written to
    var/ that keeps conversations and locks in Redis, so that SANIC_WORKERS > 1 works."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        return ROOT / "endpoints.yml"
    path = ROOT / "var" / "endpoints-redis.yml"
    action_url = f"http://localhost:{DEFAULT_PORTS['actions']}/webhook"
    path.write_text(endpoints_yaml(action_url, ROOT / "var" / "tracker.db", redis_url), encoding="utf-8")
    return path


def main() -> int:
    (ROOT / "var").mkdir(exist_ok=True)
    running = {
        command.name: subprocess.Popen(
            command.argv, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **command.env}
        )
        for command in commands()
    }
    print("started: " + ", ".join(f"{name} (pid {p.pid})" for name, p in running.items()), flush=True)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, process in running.items():
            code = process.poll()
            if code is not None:
                print(f"{name} exited with code {code}; stopping the others", flush=True)
                exit_code = code or 1
                stopping = True
                break
        time.sleep(0.3)
    for process in running.values():
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 15
    for process in running.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
