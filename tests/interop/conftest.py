"""Build the Go interop programs (asynq v0.26 Client, Inspector, Server) once per session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

GO_DIR = Path(__file__).resolve().parent / "go"
PROGRAMS = ("inspect", "enqueue", "worker")


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    env.setdefault("CGO_ENABLED", "0")
    return env


@pytest.fixture(scope="session")
def go_bin() -> Path:
    """A temp dir holding the compiled programs; skips when `go` is not installed."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed: the asynq interop tests need Go >= 1.22 (see tests/interop/README.md)")
    out = Path(tempfile.mkdtemp(prefix="dmq-interop-go-"))
    env = _go_env()
    for cmd, timeout in (([go, "mod", "download"], 300), ([go, "build", "-o", str(out) + os.sep, "./cmd/..."], 300)):
        proc = subprocess.run(cmd, cwd=GO_DIR, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed in {GO_DIR}:\n{proc.stdout}\n{proc.stderr}")
    yield out
    shutil.rmtree(out, ignore_errors=True)


@pytest.fixture
def go(go_bin: Path, redis_url: str):
    """go(program, *args, db=0, timeout=60) -> list of parsed JSON lines from its stdout."""
    parts = urlsplit(redis_url)
    addr = f"{parts.hostname}:{parts.port or 6379}"

    def run(program: str, *args: str, db: int = 0, timeout: float = 60) -> list[Any]:
        return run_go_program([str(go_bin / program), "-addr", addr, "-db", str(db), *args], timeout)

    return run


def run_go_program(cmd: list[str], timeout: float = 60) -> list[Any]:
    """Run a built Go program; its stdout's JSON lines, or AssertionError with its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stdout}\n{proc.stderr}")
    return lines


@pytest.fixture
def r1(redis_url: str, r):
    """Database 1 of the session server (flushed): where Go writes when we compare side by side."""
    parts = urlsplit(redis_url)
    client = redis.Redis(host=parts.hostname, port=parts.port or 6379, db=1)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
