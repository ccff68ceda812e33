"""Every Client option with asynq's defaults, encodings and units (asynq-protocol.md §8)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools import Task
from dmq_tools.errors import (
    ConfigurationError, DmqError, DuplicateTaskError, InvalidTaskError, TaskIDConflictError,
)
from dmq_tools.models import TaskInfo, TaskState
from dmq_tools.rdb import RDB, keys
from tests.foundation.conftest import NOW, NOW_S
from tests.helpers.seed import seed_task, stored_message, task_hash

UTC = timezone.utc


def enq(fclient, r, task=None, **opts):
    """Enqueue and return (info, stored message)."""
    info = fclient.enqueue(task or Task("t", b"p"), **opts)
    return info, stored_message(r, info.queue, info.id)


# ---- defaults ----

def test_defaults(fclient, r):
    info, m = enq(fclient, r)
    assert isinstance(info, TaskInfo)
    assert (m.queue, m.retry, m.timeout, m.deadline, m.retention) == ("default", 25, 1800, 0, 0)
    assert (m.unique_key, m.group_key, m.retried, m.error_msg, m.headers) == ("", "", 0, "", {})
    assert info.state is TaskState.PENDING and info.next_process_at == NOW
    assert info.timeout == timedelta(minutes=30) and info.deadline is None and info.retention is None
    assert (info.retried, info.last_err, info.is_orphaned, info.completed_at, info.result) == (0, "", False, None, None)
    assert r.lrange(keys.pending("default"), 0, -1) == [info.id.encode()]


def test_default_task_id_is_uuid4(fclient, r):
    import uuid

    ids = {fclient.enqueue(Task("t")).id for _ in range(20)}
    assert len(ids) == 20
    assert all(uuid.UUID(i).version == 4 for i in ids)


# ---- queue / max_retry ----

def test_queue(fclient, r):
    info, m = enq(fclient, r, queue="Critical")
    assert info.queue == m.queue == "Critical"
    assert r.smembers("asynq:queues") == {b"Critical"}
    assert r.exists(keys.task("Critical", info.id))


@pytest.mark.parametrize("given,stored", [(0, 0), (5, 5), (-3, 0)])
def test_max_retry(fclient, r, given, stored):
    info, m = enq(fclient, r, max_retry=given)
    assert m.retry == info.max_retry == stored


# ---- timeout / deadline ----

@pytest.mark.parametrize("given,stored", [
    (timedelta(minutes=10), 600), (timedelta(seconds=90.9), 90), (42, 42), (2.999, 2),
    # a sub-second timeout counts as "set" and truncates to 0, as in Go (no 1800 default)
    (timedelta(milliseconds=500), 0),
    # zero means "not set": the default applies
    (timedelta(0), 1800),
])
def test_timeout_truncation(fclient, r, given, stored):
    info, m = enq(fclient, r, timeout=given)
    assert (m.timeout, m.deadline) == (stored, 0)


def test_deadline_only_means_no_default_timeout(fclient, r):
    when = NOW + timedelta(hours=1, milliseconds=900)
    info, m = enq(fclient, r, deadline=when)
    # now is x.75 s, + 1 h 0.9 s = x+3601.65 s: floored like Go's Unix()
    assert (m.timeout, m.deadline) == (0, NOW_S + 3601)
    assert info.timeout is None and info.deadline == datetime.fromtimestamp(NOW_S + 3601, UTC)


def test_timeout_and_deadline_both_stored(fclient, r):
    info, m = enq(fclient, r, timeout=30, deadline=NOW + timedelta(minutes=5))
    assert (m.timeout, m.deadline) == (30, NOW_S + 300)


def test_deadline_other_timezone(fclient, r):
    tz = timezone(timedelta(hours=5))
    info, m = enq(fclient, r, deadline=datetime(2030, 1, 1, 5, 0, tzinfo=tz))
    assert m.deadline == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())


# ---- unique ----

def test_unique_immediate_ttl(fclient, r):
    info, m = enq(fclient, r, unique=timedelta(hours=1, milliseconds=700))
    ukey = RDB.unique_key("default", "t", b"p")
    assert m.unique_key == ukey and r.get(ukey) == info.id.encode()
    assert 3599 <= r.ttl(ukey) <= 3600
    assert task_hash(r, "default", info.id)["unique_key"] == ukey.encode()


def test_unique_scheduled_ttl_counts_from_process_at(fclient, r):
    info, m = enq(fclient, r, unique=60, process_in=timedelta(minutes=10))
    assert 659 <= r.ttl(m.unique_key) <= 660


def test_unique_duplicate(fclient, r):
    first = fclient.enqueue(Task("t", {"a": 1}), unique=60)
    with pytest.raises(DuplicateTaskError) as exc:
        fclient.enqueue(Task("t", {"a": 1}), unique=60)
    assert str(exc.value) == "task already exists"
    assert r.llen(keys.pending("default")) == 1
    # another payload, queue or type is another lock
    fclient.enqueue(Task("t", {"a": 2}), unique=60)
    fclient.enqueue(Task("t", {"a": 1}), unique=60, queue="other")
    fclient.enqueue(Task("t2", {"a": 1}), unique=60)
    assert r.get(RDB.unique_key("default", "t", b'{"a":1}')) == first.id.encode()


@pytest.mark.parametrize("ttl", [timedelta(milliseconds=999), 0.5, 0, -1])
def test_unique_below_one_second(fclient, ttl):
    with pytest.raises(ConfigurationError, match="Unique TTL cannot be less than 1s"):
        fclient.enqueue(Task("t"), unique=ttl)


# ---- task_id ----

def test_task_id(fclient, r):
    info, m = enq(fclient, r, task_id="my-id")
    assert info.id == m.id == "my-id"


@pytest.mark.parametrize("state", ["pending", "scheduled", "retry", "archived", "completed"])
def test_task_id_conflict_in_any_state(fclient, r, state):
    seed_task(r, "default", "dup", state)
    with pytest.raises(TaskIDConflictError) as exc:
        fclient.enqueue(Task("t"), task_id="dup")
    assert str(exc.value) == "task ID conflicts with another task"


def test_same_task_id_in_other_queue_is_fine(fclient, r):
    fclient.enqueue(Task("t"), task_id="x")
    assert fclient.enqueue(Task("t"), task_id="x", queue="q2").queue == "q2"


# ---- process_at / process_in ----

def test_process_in(fclient, r):
    info, m = enq(fclient, r, process_in=timedelta(minutes=5))
    assert info.state is TaskState.SCHEDULED and info.next_process_at == NOW + timedelta(minutes=5)
    assert r.zscore(keys.scheduled("default"), info.id) == NOW_S + 300


def test_process_at(fclient, r):
    when = NOW + timedelta(days=1, seconds=0.2)  # x.95 s
    info, m = enq(fclient, r, process_at=when)
    assert info.next_process_at == when
    assert r.zscore(keys.scheduled("default"), info.id) == NOW_S + 86400  # floor, as Go's Unix()


@pytest.mark.parametrize("opts", [dict(process_at=NOW), dict(process_at=NOW - timedelta(hours=1)),
                                  dict(process_in=0), dict(process_in=-5)])
def test_process_at_not_in_future_is_pending(fclient, r, opts):
    info, _ = enq(fclient, r, **opts)
    assert info.state is TaskState.PENDING and info.next_process_at == NOW
    assert r.llen(keys.pending("default")) == 1


def test_last_of_process_at_and_process_in_wins(fclient, r):
    a = fclient.enqueue(Task("t", process_in=100), process_at=NOW + timedelta(seconds=7))
    assert a.next_process_at == NOW + timedelta(seconds=7)
    b = fclient.enqueue(Task("t", process_at=NOW + timedelta(seconds=7)), process_in=100)
    assert b.next_process_at == NOW + timedelta(seconds=100)
    c = fclient.enqueue(Task("t"), process_at=NOW + timedelta(seconds=7), process_in=100)
    assert c.next_process_at == NOW + timedelta(seconds=100)
    d = fclient.enqueue(Task("t"), process_in=100, process_at=NOW + timedelta(seconds=7))
    assert d.next_process_at == NOW + timedelta(seconds=7)


def test_enqueue_in_and_enqueue_at(fclient, r):
    a = fclient.enqueue_in(Task("t"), timedelta(seconds=30), queue="x")
    b = fclient.enqueue_at(Task("t"), NOW + timedelta(hours=2), process_in=5)
    assert (a.queue, a.state, a.next_process_at) == ("x", TaskState.SCHEDULED, NOW + timedelta(seconds=30))
    assert b.next_process_at == NOW + timedelta(hours=2)


# ---- retention / group ----

def test_retention(fclient, r):
    info, m = enq(fclient, r, retention=timedelta(hours=2, milliseconds=300))
    assert m.retention == 7200 and info.retention == timedelta(hours=2)


def test_group(fclient, r):
    info, m = enq(fclient, r, group="g1")
    assert info.state is TaskState.AGGREGATING and info.group == m.group_key == "g1"
    assert info.next_process_at is None
    assert r.zscore(keys.group("default", "g1"), info.id) == NOW_S


def test_group_with_future_process_at_quirk(fclient, r):
    info, m = enq(fclient, r, group="g1", process_in=60)
    assert info.state is TaskState.SCHEDULED and m.group_key == "g1"
    assert "group" not in task_hash(r, "default", info.id)


# ---- headers ----

def test_headers_merged_task_then_options(fclient, r):
    t = Task("t", b"p", headers={"a": "1", "b": "task"})
    info, m = enq(fclient, r, t, headers={"b": "opt", "c": "3"})
    assert m.headers == info.headers == {"a": "1", "b": "opt", "c": "3"}
    assert t.headers == {"a": "1", "b": "task"}  # the task is not mutated


def test_task_level_options_and_call_headers(fclient, r):
    info, m = enq(fclient, r, Task("t", headers={"x": "0"}, queue="hq"), headers={"y": "1"})
    assert m.headers == {"x": "0", "y": "1"} and m.queue == "hq"


def test_header_values_must_be_str(fclient):
    with pytest.raises(ConfigurationError):
        fclient.enqueue(Task("t"), headers={"a": 1})


# ---- payload encodings ----

@pytest.mark.parametrize("payload,stored", [
    ({"b": [1, 2], "a": "é"}, '{"b":[1,2],"a":"é"}'.encode()),
    ([1, "x", None, True], b'[1,"x",null,true]'),
    ("héllo", "héllo".encode()),
    (b"\x00\xff", b"\x00\xff"),
    (b"", b""),
    (None, b""),
    (3.5, b"3.5"),
])
def test_payload_encodings(fclient, r, payload, stored):
    info, m = enq(fclient, r, Task("t", payload))
    assert m.payload == stored
    assert info.payload == (None if payload is None else stored)


def test_nil_payload_unique_key(fclient, r):
    info, m = enq(fclient, r, Task("t"), unique=10)
    assert m.unique_key == "asynq:{default}:unique:t:"


@pytest.mark.parametrize("payload", [object(), {"a": {1, 2}}, float("nan"), {"d": datetime.now(UTC)}])
def test_non_json_payload(payload):
    with pytest.raises(InvalidTaskError, match="JSON"):
        Task("t", payload)


# ---- bad input ----

@pytest.mark.parametrize("kind", ["", "   ", None, 3])
def test_blank_type(kind):
    with pytest.raises(InvalidTaskError):
        Task(kind)


@pytest.mark.parametrize("opts", [
    dict(queue=""), dict(queue="  "), dict(group=""), dict(group=" \t"), dict(task_id=""),
    dict(task_id="   "), dict(timeout=-1), dict(retention=-1),
    dict(process_at=datetime(2030, 1, 1)), dict(deadline=datetime(2030, 1, 1)),
    dict(timeout="10"), dict(unknown_option=1),
])
def test_bad_options(fclient, r, opts):
    with pytest.raises(ConfigurationError):
        fclient.enqueue(Task("t"), **opts)
    assert r.dbsize() == 0


def test_naive_datetime_message(fclient):
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        fclient.enqueue(Task("t"), process_at=datetime(2030, 1, 1))


def test_not_a_task(fclient):
    with pytest.raises(InvalidTaskError):
        fclient.enqueue("t")  # type: ignore[arg-type]


def test_errors_share_the_root():
    assert issubclass(TaskIDConflictError, DmqError) and issubclass(DuplicateTaskError, DmqError)
    assert issubclass(InvalidTaskError, ConfigurationError)
