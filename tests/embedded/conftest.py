"""Fixtures for the embedded-server and connect() tests: tmp data dirs, servers stopped by PID."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.helpers.embedded_procs import kill_by_pid, server_pids
from tests.helpers.redis_server import free_port, redis_server_binary

_ENV_VARS = ("REDIS_URL", "DMQ_REDIS_URL", "REDIS_PASSWORD", "DMQ_DATA_DIR", "DMQ_REDIS_PORT")


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    """No inherited Redis settings, and a cwd (tmp) without a stray .env."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def make_data_dir(tmp_path):
    """Factory of data dirs; every server that ran in one is stopped at teardown, by its PID."""
    from dmq_tools import embedded

    if redis_server_binary() is None:
        pytest.skip("redis-server not found")
    made = []

    def make(name: str = "dmq"):
        path = tmp_path / name
        made.append(path)
        return path

    yield make
    for path in made:
        pids = server_pids(path)
        if path.is_dir():
            embedded.stop(path)
        for pid in pids:
            kill_by_pid(pid)


@pytest.fixture
def data_dir(make_data_dir):
    return make_data_dir("dmq")


@pytest.fixture
def password_redis(tmp_path):
    """A plain redis-server on 127.0.0.1 that requires a password; stopped by PID at teardown."""
    import redis

    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server not found")
    port, password = free_port(), "s3cr3t-Pa55"
    work = tmp_path / "pw-redis"
    work.mkdir()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(work),
                             "--save", "", "--appendonly", "no", "--requirepass", password],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("password redis-server did not start")
                time.sleep(0.01)
        client.close()
        yield port, password
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
