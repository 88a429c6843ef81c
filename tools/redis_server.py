"""A redis-server of one's own, for tests and benchmarks that stop Redis on purpose.

Killing the machine's shared Redis would break everyone else's conversations; this one
runs on a free port of 127.0.0.1 with its files in a directory of its own, and is gone
with it. Persistent by default (append-only file, fsync at every write, as a Redis that
holds conversations should run): a server killed and started again in the same directory
comes back with every conversation it had acknowledged.

    with RedisServer(tmp_path) as redis:
        stack = Stack(var_dir, model, redis_url=redis.url, rasa_workers=2)
        ...
        redis.kill()      # SIGKILL, as a crash or an OOM kill would
        redis.start()     # same port, same files
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from tools.stack import free_port


def redis_server_binary() -> str | None:
    """The redis-server on PATH, or None when there is none."""
    return shutil.which("redis-server")


class RedisServer:
    def __init__(self, directory: Path, port: int | None = None, persistent: bool = True) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = port or free_port()
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        argv += ["--save", "", "--protected-mode", "yes"]
        if self.persistent:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        return argv

    def start(self, timeout: float = 20) -> RedisServer:
        """Starts the server (again, after `kill` or `stop`) and waits until it answers PING."""
        if self.running:
            return self
        self._starts += 1
        log = (self.directory / f"redis-{self._starts}.log").open("wb")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        log.close()  # the child has its own copy
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {self.log()}")
                try:
                    if client.ping():
                        return self
                except redis.RedisError:
                    time.sleep(0.05)
        finally:
            client.close()
        self.kill()
        raise RuntimeError(f"redis-server did not answer within {timeout} s: {self.log()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to save or to close connections."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM (Redis flushes its append-only file and exits), SIGKILL if it hangs."""
        if self.running:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        path = self.directory / f"redis-{self._starts}.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
