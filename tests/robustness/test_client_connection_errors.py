"""Redis unreachable or stalled during Client / Inspector / Scheduler calls: dmq errors
(ConnectionFailedError, RedisTimeoutError) naming the address, never the password; lookups
(QueueNotFoundError, TaskNotFoundError) name the Redis that was asked."""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Callable

import pytest
import redis

import dmq_tools as dmq
from dmq_tools import (Client, ConnectionFailedError, DmqError, Inspector, QueueNotFoundError, RedisTimeoutError,
                       Scheduler, Task, TaskNotFoundError)

SECRET = "s3cret-Pa55word-xyz"


@pytest.fixture
def locked_server(make_redis_process):
    """A redis-server of our own that needs a password."""
    proc = make_redis_process(persist=False)
    redis.Redis(host="127.0.0.1", port=proc.port).config_set("requirepass", SECRET)
    return proc


def _url(proc) -> str:
    return f"redis://:{SECRET}@127.0.0.1:{proc.port}/0"


CALLS: dict[str, Callable[[Client, Inspector, Scheduler], object]] = {
    "enqueue": lambda c, i, s: c.enqueue(Task("t")),                      # queue known: MULTI fast path
    "enqueue-new-queue": lambda c, i, s: c.enqueue(Task("t"), queue="new"),  # script + SADD
    "enqueue-unique": lambda c, i, s: c.enqueue(Task("t"), unique=60),
    "enqueue_in": lambda c, i, s: c.enqueue_in(Task("t"), 30),
    "enqueue_many": lambda c, i, s: c.enqueue_many([Task("t")] * 300),
    "queues": lambda c, i, s: i.queues(),
    "get_queue_info": lambda c, i, s: i.get_queue_info("default"),
    "list_tasks": lambda c, i, s: i.list_tasks("default", "pending"),
    "iter_tasks": lambda c, i, s: list(i.iter_tasks("default", "pending")),
    "history": lambda c, i, s: i.history("default"),
    "servers": lambda c, i, s: i.servers(),
    "scheduler_entries": lambda c, i, s: i.scheduler_entries(),
    "events": lambda c, i, s: i.events("default", limit=5),
    "pause_queue": lambda c, i, s: i.pause_queue("default"),
    "delete_all": lambda c, i, s: i.delete_all("default", "pending"),
    "scheduler.heartbeat_once": lambda c, i, s: s.heartbeat_once(),
    "scheduler.register-every": lambda c, i, s: s.register("@every 10s", Task("tick")),
}


def _parts(proc, **kw):
    r = dmq.connect(_url(proc), **kw)
    c, i, s = Client(r), Inspector(r), Scheduler(r)
    c.enqueue(Task("warm"))    # scripts loaded, queue registered: the fast path is taken next
    return r, c, i, s


def _assert_clean(exc: BaseException, proc, kind: type) -> None:
    assert isinstance(exc, kind) and isinstance(exc, DmqError)
    text = str(exc)
    assert f"127.0.0.1:{proc.port}" in text, text
    rendered = "".join(traceback.format_exception(exc))
    assert SECRET not in rendered


@pytest.mark.parametrize("name", list(CALLS))
def test_server_gone(locked_server, name):
    r, c, i, s = _parts(locked_server)
    locked_server.stop()
    with pytest.raises(ConnectionFailedError) as caught:
        CALLS[name](c, i, s)
    _assert_clean(caught.value, locked_server, ConnectionFailedError)
    assert "cannot reach Redis" in str(caught.value)
    # existing handlers of redis-py's own class still catch it
    assert isinstance(caught.value, redis.ConnectionError)


@pytest.mark.parametrize("name", ["enqueue", "enqueue-unique", "enqueue_many", "get_queue_info", "list_tasks",
                                  "scheduler.heartbeat_once"])
def test_server_stalled(locked_server, name):
    r, c, i, s = _parts(locked_server, socket_timeout=0.5)
    os.kill(locked_server.proc.pid, signal.SIGSTOP)
    try:
        with pytest.raises(RedisTimeoutError) as caught:
            CALLS[name](c, i, s)
    finally:
        os.kill(locked_server.proc.pid, signal.SIGCONT)
    _assert_clean(caught.value, locked_server, ConnectionFailedError)
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, redis.TimeoutError)
    # and once Redis answers again, the same objects work
    assert c.enqueue(Task("after")).id
    assert i.get_queue_info("default").pending >= 2


def test_wrong_password_names_the_address_not_the_password(locked_server):
    r = redis.Redis(host="127.0.0.1", port=locked_server.port, password=SECRET)
    c = Client(r)
    c.enqueue(Task("warm"))
    redis.Redis(host="127.0.0.1", port=locked_server.port, password=SECRET).config_set("requirepass", "other")
    r.connection_pool.disconnect()
    c.rdb.scripts.lean.close()
    with pytest.raises(ConnectionFailedError) as caught:
        c.enqueue(Task("t"))
    _assert_clean(caught.value, locked_server, ConnectionFailedError)


def test_lookups_name_the_redis_asked(r):
    insp = Inspector(r)
    where = r.connection_pool.connection_kwargs
    with pytest.raises(QueueNotFoundError) as caught:
        insp.get_queue_info("nope")
    assert f"{where['host']}:{where['port']}" in str(caught.value)
    assert caught.value.redis and caught.value.queue == "nope"
    Client(r).enqueue(Task("t"))
    with pytest.raises(TaskNotFoundError) as caught2:
        insp.get_task_info("default", "no-such-id")
    assert f"{where['host']}:{where['port']}" in str(caught2.value)
    assert str(caught2.value).count("Redis at") == 1
