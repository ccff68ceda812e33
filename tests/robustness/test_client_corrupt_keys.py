"""Enqueue into a queue whose keys hold the wrong type: a clear CorruptStateError naming the key,
and nothing half-written (no orphan task hash, no unique lock, no event), on every write path:
the MULTI/EXEC fast path, each enqueue script, and enqueue_many's batch script."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from dmq_tools import Client, CorruptStateError, DmqError, Inspector, Task
from dmq_tools.rdb import keys
from tests.helpers.redis_snapshot import snapshot


def _corrupt(r, key: str) -> None:
    r.delete(key)
    r.set(key, "garbage")


def _fresh_client(r) -> Client:
    """A client that has not seen the queue: its first write goes through a script (+ SADD)."""
    return Client(redis.Redis(connection_pool=redis.ConnectionPool(**r.connection_pool.connection_kwargs)))


def _warm_client(r, queue: str) -> Client:
    """A client that registered the queue: plain enqueues take the MULTI/EXEC fast path."""
    c = _fresh_client(r)
    info = c.enqueue(Task("warm"), queue=queue)
    Inspector(r).delete_task(queue, info.id)
    return c


CASES = [
    # (key that is corrupt, the enqueue options that write to it)
    (keys.pending("q"), {}),
    (keys.pending("q"), {"unique": 60}),
    (keys.pending("q"), {"task_id": "mine"}),
    (keys.wake("q"), {}),
    (keys.events("q"), {}),
    (keys.events("q"), {"unique": 60}),
    (keys.scheduled("q"), {"process_in": 60}),
    (keys.scheduled("q"), {"process_in": 60, "unique": 60}),
    (keys.group("q", "g"), {"group": "g"}),
    (keys.groups("q"), {"group": "g"}),
    (keys.groups("q"), {"group": "g", "unique": 60}),
    (keys.events("q"), {"group": "g"}),
]


def _ids(case: tuple) -> str:
    return f"{case[0]}-{'+'.join(case[1]) or 'plain'}"


@pytest.mark.parametrize("warm", [False, True], ids=["script-path", "fast-path"])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_enqueue_into_corrupt_key_writes_nothing(r, case, warm):
    key, opts = case
    c = _warm_client(r, "q") if warm else _fresh_client(r)
    if not warm:
        r.sadd(keys.ALL_QUEUES, "q")   # registered by someone else; our client does not know
    _corrupt(r, key)
    before = snapshot(r)
    with pytest.raises(CorruptStateError) as caught:
        c.enqueue(Task("t", {"x": 1}), queue="q", **opts)
    assert isinstance(caught.value, DmqError)
    assert caught.value.key == key
    assert key in str(caught.value) and "nothing was written" in str(caught.value)
    assert "127.0.0.1" in str(caught.value) or "localhost" in str(caught.value)
    assert snapshot(r) == before


def test_fast_path_takes_back_a_half_applied_transaction(r):
    """The events key corrupt: in the MULTI the HSET and LPUSH go in, XADD fails. The task must
    not stay pending behind an error (a caller who retries would run it twice)."""
    c = _warm_client(r, "q")
    for _ in range(3):
        c.enqueue(Task("ok"), queue="q")
    _corrupt(r, keys.events("q"))
    before = snapshot(r)
    with pytest.raises(CorruptStateError, match=r"dmq:\{q\}:events"):
        c.enqueue(Task("t"), queue="q")
    assert snapshot(r) == before
    assert r.llen(keys.pending("q")) == 3


def test_enqueue_many_into_corrupt_queue_writes_nothing(r):
    c = _warm_client(r, "q")
    _corrupt(r, keys.pending("q"))
    before = snapshot(r)
    with pytest.raises(CorruptStateError, match=r"asynq:\{q\}:pending"):
        c.enqueue_many([Task("t", {"i": i}) for i in range(600)], queue="q")
    with pytest.raises(CorruptStateError):
        c.enqueue_many([Task("t", {"i": i}) for i in range(5)], queue="q", process_in=timedelta(0))
    assert snapshot(r) == before


def test_other_queues_still_take_tasks(r):
    c = _warm_client(r, "q")
    _corrupt(r, keys.pending("q"))
    with pytest.raises(CorruptStateError):
        c.enqueue(Task("t"), queue="q")
    info = c.enqueue(Task("t"), queue="other")
    assert r.lrange(keys.pending("other"), 0, -1) == [info.id.encode()]
