"""Each producer transition writes asynq's keys, types, hash fields and units, and nothing else.

Reference: asynq-protocol.md §3 (keys), §4 (task hash), §6.1 (producer scripts), §2.1 (units);
dmq's additions (DESIGN.md §4): dmq:{q}:wake and dmq:{q}:events.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from dmq_tools import Task
from dmq_tools.errors import DuplicateTaskError, TaskIDConflictError
from dmq_tools.rdb import RDB, EnqueueRequest, keys
from dmq_tools.rdb.producer import PlainTasks, raise_for_code
from dmq_tools.rdb.records import TaskMessage
from dmq_tools.rdb.wire import encode_task_message
from tests.foundation.conftest import NOW, NOW_NS, NOW_S
from tests.helpers.seed import key_types, seed_task, stored_message, task_hash

Q = "critical"
TID = "11111111-2222-4333-8444-555555555555"


def msg(**kw) -> TaskMessage:
    base = dict(type="email:send", payload=b'{"to":"a@b"}', id=TID, queue=Q, retry=25, timeout=1800)
    base.update(kw)
    return TaskMessage(**base)


# ---- every path that writes a pending task (all production paths) ----

def _by_script(rdb: RDB, m: TaskMessage) -> None:          # enqueue.lua (Client.enqueue, general path)
    rdb.write_task(EnqueueRequest(m))


def _by_transaction(rdb: RDB, m: TaskMessage) -> None:     # MULTI/EXEC (Client.enqueue, plain fast path)
    rdb.register_queues(m.queue)                              # the transaction is for known queues
    rdb.start_plain_task(m.queue, m.retry, m.timeout, m.deadline, m.retention, m.type, m.id,
                         m.payload).finish()


def _plain(m: TaskMessage) -> PlainTasks:
    plain = PlainTasks(m.queue, m.retry, m.timeout, m.deadline, m.retention)
    plain.add(m.id, m.type, m.payload)
    return plain


def _by_batch(rdb: RDB, m: TaskMessage) -> None:           # enqueue_batch.lua (Client.enqueue_many)
    raise_for_code(rdb.write_task_chunks([[_plain(m)]])[0])


def _by_group_commit(rdb: RDB, m: TaskMessage) -> None:    # write_items (threads sharing a Client)
    code = rdb.write_items([_plain(m)])[0]
    if isinstance(code, Exception):
        raise code
    raise_for_code(code)


PENDING_PATHS = {"script": _by_script, "transaction": _by_transaction, "batch": _by_batch,
                 "group_commit": _by_group_commit}
#: The transaction skips the ID check (a generated ID does not collide): not for conflict tests.
CHECKED_PATHS = {k: v for k, v in PENDING_PATHS.items() if k != "transaction"}


@pytest.fixture(params=list(PENDING_PATHS))
def enqueue(request):
    return PENDING_PATHS[request.param]


@pytest.fixture(params=list(CHECKED_PATHS))
def checked_enqueue(request):
    return CHECKED_PATHS[request.param]


def events(r, q=Q):
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in r.xrange(keys.events(q))]


def enqueued_events(r, q=Q):
    """The events, a batch's one `ids` event (enqueue_batch.lua) read as one event per ID."""
    import json

    out = []
    for e in events(r, q):
        ids = json.loads(e.pop("ids")) if "ids" in e else [e.pop("id")]
        out += [{**e, "id": tid} for tid in ids]
    return out


# ---- enqueue ----

def test_enqueue_keys_and_fields(frdb, r, enqueue):
    m = msg()
    enqueue(frdb, m)
    assert key_types(r) == {
        "asynq:queues": "set",
        f"asynq:{{{Q}}}:t:{TID}": "hash",
        f"asynq:{{{Q}}}:pending": "list",
        f"dmq:{{{Q}}}:wake": "list",
        f"dmq:{{{Q}}}:events": "stream",
    }
    assert r.smembers("asynq:queues") == {Q.encode()}
    assert task_hash(r, Q, TID) == {
        "msg": encode_task_message(m), "state": b"pending", "pending_since": str(NOW_NS).encode(),
    }
    assert r.lrange(keys.pending(Q), 0, -1) == [TID.encode()]
    assert r.lrange(keys.wake(Q), 0, -1) == [b"1"]
    assert enqueued_events(r) == [{"e": "enqueued", "id": TID, "t": "email:send"}]
    assert r.ttl(keys.task(Q, TID)) == -1


def test_enqueue_lpush_order_and_single_wake_token(frdb, r, enqueue):
    enqueue(frdb, msg(id="a"))
    enqueue(frdb, msg(id="b"))
    # newest on the left, the consumer RPOPLPUSHes the oldest from the right (T2)
    assert r.lrange(keys.pending(Q), 0, -1) == [b"b", b"a"]
    assert r.llen(keys.wake(Q)) == 1


def test_pending_since_is_nanoseconds(frdb, r, enqueue):
    enqueue(frdb, msg())
    ns = int(task_hash(r, Q, TID)["pending_since"])
    assert ns == NOW_NS and len(str(ns)) == 19


def test_enqueue_id_conflict_writes_nothing(frdb, r, checked_enqueue):
    old = seed_task(r, Q, TID, "archived", score=5)
    with pytest.raises(TaskIDConflictError):
        checked_enqueue(frdb, msg())
    assert task_hash(r, Q, TID) == {"msg": old, "state": b"archived"}
    assert not r.exists(keys.pending(Q), keys.wake(Q), keys.events(Q))


# ---- enqueue_unique ----

def test_enqueue_unique_keys_and_fields(frdb, r):
    ukey = RDB.unique_key(Q, "email:send", b'{"to":"a@b"}')
    m = msg(unique_key=ukey)
    frdb.write_task(EnqueueRequest(m, unique_key=ukey, unique_ttl=3600))
    types = key_types(r)
    assert types[ukey] == "string" and types[f"asynq:{{{Q}}}:pending"] == "list"
    assert set(types) == {"asynq:queues", keys.task(Q, TID), keys.pending(Q), keys.wake(Q), keys.events(Q), ukey}
    assert r.get(ukey) == TID.encode()
    assert 3599 <= r.ttl(ukey) <= 3600
    assert task_hash(r, Q, TID) == {
        "msg": encode_task_message(m), "state": b"pending", "pending_since": str(NOW_NS).encode(),
        "unique_key": ukey.encode(),
    }
    assert stored_message(r, Q, TID).unique_key == ukey


def test_enqueue_unique_duplicate(frdb, r):
    ukey = RDB.unique_key(Q, "email:send", b"x")
    r.set(ukey, "someone-else", ex=100)
    with pytest.raises(DuplicateTaskError):
        frdb.write_task(EnqueueRequest(msg(unique_key=ukey), unique_key=ukey, unique_ttl=60))
    assert r.get(ukey) == b"someone-else"
    assert not r.exists(keys.task(Q, TID), keys.pending(Q))


def test_enqueue_unique_id_conflict_keeps_the_lock(frdb, r):
    # asynq T5: the lock taken before the ID check is not rolled back
    seed_task(r, Q, TID, "completed")
    ukey = RDB.unique_key(Q, "email:send", b"x")
    with pytest.raises(TaskIDConflictError):
        frdb.write_task(EnqueueRequest(msg(unique_key=ukey), unique_key=ukey, unique_ttl=60))
    assert r.get(ukey) == TID.encode()
    assert 59 <= r.ttl(ukey) <= 60
    assert not r.exists(keys.pending(Q))


# ---- schedule ----

def test_schedule_keys_and_fields(frdb, r):
    m = msg()
    at = NOW_S + 300
    frdb.write_task(EnqueueRequest(m, process_at=at))
    assert key_types(r) == {
        "asynq:queues": "set", keys.task(Q, TID): "hash", keys.scheduled(Q): "zset", keys.events(Q): "stream",
    }
    assert task_hash(r, Q, TID) == {"msg": encode_task_message(m), "state": b"scheduled"}
    assert r.zrange(keys.scheduled(Q), 0, -1, withscores=True) == [(TID.encode(), float(at))]
    assert events(r) == [{"e": "scheduled", "id": TID, "t": "email:send"}]


def test_schedule_id_conflict(frdb, r):
    seed_task(r, Q, TID, "pending")
    with pytest.raises(TaskIDConflictError):
        frdb.write_task(EnqueueRequest(msg(), process_at=NOW_S + 10))
    assert not r.exists(keys.scheduled(Q))
    assert task_hash(r, Q, TID)["state"] == b"pending"


def test_schedule_unique_keys_and_fields(frdb, r):
    ukey = RDB.unique_key(Q, "email:send", b"p")
    m = msg(unique_key=ukey)
    frdb.write_task(EnqueueRequest(m, process_at=NOW_S + 100, unique_key=ukey, unique_ttl=160))
    assert r.get(ukey) == TID.encode() and 159 <= r.ttl(ukey) <= 160
    assert task_hash(r, Q, TID) == {"msg": encode_task_message(m), "state": b"scheduled",
                                    "unique_key": ukey.encode()}
    assert r.zscore(keys.scheduled(Q), TID) == NOW_S + 100
    assert not r.exists(keys.pending(Q), keys.wake(Q))


def test_schedule_unique_duplicate_and_conflict(frdb, r):
    ukey = RDB.unique_key(Q, "email:send", b"p")
    frdb.write_task(EnqueueRequest(msg(unique_key=ukey), process_at=NOW_S + 100, unique_key=ukey, unique_ttl=160))
    with pytest.raises(DuplicateTaskError):
        frdb.write_task(EnqueueRequest(msg(id="other", unique_key=ukey), process_at=NOW_S + 100, unique_key=ukey,
                                       unique_ttl=160))
    r.delete(ukey)
    with pytest.raises(TaskIDConflictError):
        frdb.write_task(EnqueueRequest(msg(unique_key=ukey), process_at=NOW_S + 100, unique_key=ukey, unique_ttl=160))
    assert r.get(ukey) == TID.encode()  # T5: kept
    assert r.zcard(keys.scheduled(Q)) == 1


# ---- add_to_group ----

def test_add_to_group_keys_and_fields(frdb, r):
    m = msg(group_key="batch-1")
    frdb.write_task(EnqueueRequest(m, group="batch-1"))
    assert key_types(r) == {
        "asynq:queues": "set", keys.task(Q, TID): "hash", keys.group(Q, "batch-1"): "zset",
        keys.groups(Q): "set", keys.events(Q): "stream",
    }
    assert keys.group(Q, "batch-1") == f"asynq:{{{Q}}}:g:batch-1"
    assert task_hash(r, Q, TID) == {"msg": encode_task_message(m), "state": b"aggregating", "group": b"batch-1"}
    assert r.zrange(keys.group(Q, "batch-1"), 0, -1, withscores=True) == [(TID.encode(), float(NOW_S))]
    assert r.smembers(keys.groups(Q)) == {b"batch-1"}
    assert events(r) == [{"e": "aggregating", "id": TID, "t": "email:send"}]


def test_add_to_group_id_conflict(frdb, r):
    seed_task(r, Q, TID, "retry")
    with pytest.raises(TaskIDConflictError):
        frdb.write_task(EnqueueRequest(msg(group_key="g"), group="g"))
    assert not r.exists(keys.group(Q, "g"), keys.groups(Q))


def test_add_to_group_unique_has_no_unique_key_field(frdb, r):
    ukey = RDB.unique_key(Q, "email:send", b"p")
    m = msg(group_key="g", unique_key=ukey)
    frdb.write_task(EnqueueRequest(m, group="g", unique_key=ukey, unique_ttl=90))
    assert r.get(ukey) == TID.encode() and 89 <= r.ttl(ukey) <= 90
    assert task_hash(r, Q, TID) == {"msg": encode_task_message(m), "state": b"aggregating", "group": b"g"}
    assert stored_message(r, Q, TID).unique_key == ukey  # the message carries it, the hash doesn't


def test_add_to_group_unique_duplicate_and_conflict(frdb, r):
    ukey = RDB.unique_key(Q, "email:send", b"p")
    r.set(ukey, "x", ex=50)
    with pytest.raises(DuplicateTaskError):
        frdb.write_task(EnqueueRequest(msg(group_key="g"), group="g", unique_key=ukey, unique_ttl=90))
    r.delete(ukey)
    seed_task(r, Q, TID, "completed")
    with pytest.raises(TaskIDConflictError):
        frdb.write_task(EnqueueRequest(msg(group_key="g"), group="g", unique_key=ukey, unique_ttl=90))
    assert r.get(ukey) == TID.encode()
    assert not r.exists(keys.group(Q, "g"))


# ---- through the Client: the same keys with options applied ----

def test_client_scheduled_unique_lock_ttl(fclient, r):
    info = fclient.enqueue(Task("t", b"p"), queue=Q, process_in=timedelta(seconds=100), unique=timedelta(seconds=60))
    ukey = RDB.unique_key(Q, "t", b"p")
    # (process_at + ttl) - now = 160 s
    assert r.get(ukey) == info.id.encode() and 159 <= r.ttl(ukey) <= 160
    # score: floor of process_at in seconds (now has .75 s)
    assert r.zscore(keys.scheduled(Q), info.id) == NOW_S + 100


def test_client_group_with_future_process_at_is_scheduled_without_group_field(fclient, r):
    # T10: asynq's scheduleCmd does not store `group`, and the groups set is not touched
    info = fclient.enqueue(Task("t", b"p"), queue=Q, group="g", process_at=NOW + timedelta(minutes=5))
    assert info.state.value == "scheduled"
    h = task_hash(r, Q, info.id)
    assert set(h) == {"msg", "state"} and h["state"] == b"scheduled"
    assert stored_message(r, Q, info.id).group_key == "g"
    assert not r.exists(keys.groups(Q), keys.group(Q, "g"))


def test_events_disabled_with_maxlen_zero(r, clock, enqueue):
    rdb = RDB(r, clock=clock, events_maxlen=0)
    enqueue(rdb, msg(id="a"))
    rdb.write_task(EnqueueRequest(msg(id="b"), process_at=NOW_S + 5))
    rdb.write_task(EnqueueRequest(msg(id="c", group_key="g"), group="g"))
    assert not r.exists(keys.events(Q))


def test_events_stream_is_capped(r, clock, enqueue):
    rdb = RDB(r, clock=clock, events_maxlen=10)
    for i in range(500):
        enqueue(rdb, msg(id=f"t{i}"))
    assert r.xlen(keys.events(Q)) < 500  # MAXLEN ~ trims whole macro nodes

