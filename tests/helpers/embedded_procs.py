"""Helpers for the embedded-server tests: pids a data dir mentions, kill by PID, run a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except OSError:
        return True


def is_redis(pid: int) -> bool:
    """A redis-server or valkey-server process (by its command line)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return False
    return b"redis-server" in cmdline or b"valkey-server" in cmdline


def server_pids(data_dir: Path) -> set[int]:
    """Every pid the data dir's files mention (server.json and redis.pid)."""
    pids: set[int] = set()
    try:
        pids.add(int(json.loads((data_dir / "server.json").read_text())["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        pids.add(int((data_dir / "redis.pid").read_text().strip()))
    except (OSError, ValueError):
        pass
    return pids


def wait_dead(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def kill_by_pid(pid: int) -> None:
    """SIGKILL `pid` if it is still a live redis-server/valkey-server (never anything else)."""
    if pid_alive(pid) and is_redis(pid):
        os.kill(pid, signal.SIGKILL)
        wait_dead(pid)


def redis_pids_for_socket(sock: str) -> list[int]:
    """Live redis-server/valkey-server processes whose title names this unix socket (they set it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and is_redis(int(entry)) and pid_alive(int(entry)):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if os.fsencode(sock) in fh.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def run_python(code: str, *, env: dict[str, str] | None = None, cwd: str | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter with the repo importable."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True,
                          text=True, timeout=timeout, check=False, cwd=cwd)


def spawn_python(code: str, *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, "-c", code], env=full_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
