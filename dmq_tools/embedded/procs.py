"""Is this pid this data directory's server? Proof before any signal.

A pid file outlives the process it names: after a crash or a reboot the pid may belong to
anything, including another redis-server (the system's, or another data directory's). So a
process counts as ours only when it says so on our socket (INFO's `process_id` and CONFIG's
`dir` match), or, when it does not answer, when the OS shows it running in our directory (a
daemonized Redis/Valkey chdirs to its `dir`). Anything else is left alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..rdb.probe import socket_identity


__all__ = ["pid_alive", "is_server_process", "process_cwd", "ask", "owns"]

_SERVER_NAMES = (b"redis-server", b"valkey-server")


def pid_alive(pid: int) -> bool:
    """True when `pid` runs (zombies count as dead: a reaped-later child is gone for us)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # Windows: os.kill(pid, 0) is not a probe there
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[-1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _psutil_process(pid: int) -> Any:
    try:
        import psutil  # noqa: PLC0415 - where there is no /proc (macOS)
    except ImportError:
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def is_server_process(pid: int) -> bool:
    """The process is a redis-server or valkey-server (by its command line)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except FileNotFoundError:
        if sys.platform == "linux":
            return False
        proc = _psutil_process(pid)
        if proc is None:
            return False
        try:
            cmdline = os.fsencode(" ".join(proc.cmdline()))
        except Exception:  # noqa: BLE001 - psutil.Error, gone meanwhile: not provable
            return False
    except OSError:
        return False
    return any(name in cmdline for name in _SERVER_NAMES)


def process_cwd(pid: int) -> str | None:
    """The working directory of `pid`, or None when the OS will not tell us."""
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except FileNotFoundError:
        if sys.platform == "linux":
            return None
    except OSError:
        return None
    proc = _psutil_process(pid)
    if proc is None:
        return None
    try:
        return str(proc.cwd())
    except Exception:  # noqa: BLE001 - access denied, gone meanwhile: not provable
        return None


def _same_dir(a: str, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def ask(sock: str, timeout: float = 1.0) -> tuple[int, str] | None:
    """(process_id, dir) of the server answering on `sock`, or None when none answers them."""
    return socket_identity(sock, timeout)


def owns(path: Path, pid: int, sock: str) -> bool:
    """True only when `pid` is provably the server of data directory `path`."""
    if not pid_alive(pid):
        return False
    answer = ask(sock)
    if answer is not None:
        return answer[0] == pid and _same_dir(answer[1], path)
    cwd = process_cwd(pid)
    return cwd is not None and _same_dir(cwd, path) and is_server_process(pid)
