"""Inspector task listing (asynq's order), task info and task transitions."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from dmq_tools.errors import (
    ConfigurationError,
    QueueNotFoundError,
    TaskAlreadyArchivedError,
    TaskNotFoundError,
    TaskStateError,
)
from dmq_tools.models import TaskInfo, TaskList, TaskState
from dmq_tools.rdb import keys
from tests.helpers.seed import (
    msg,
    seed_active,
    seed_aggregating,
    seed_archived,
    seed_completed,
    seed_pending,
    seed_retry,
    seed_scheduled,
    seed_unique_lock,
)


def test_list_pending_page_one_is_next_to_run(insp, r):
    msgs = [msg(id=f"p{i:02d}") for i in range(7)]
    seed_pending(r, msgs)
    page1 = insp.list_tasks("default", "pending", page=1, page_size=3)
    page2 = insp.list_tasks("default", TaskState.PENDING, page=2, page_size=3)
    page3 = insp.list_tasks("default", "pending", page=3, page_size=3)
    assert [t.id for t in page1] == ["p00", "p01", "p02"]
    assert [t.id for t in page2] == ["p03", "p04", "p05"]
    assert [t.id for t in page3] == ["p06"]
    assert insp.list_tasks("default", "pending", page=4, page_size=3) == []
    # the order matches what a worker dequeues: RPOPLPUSH takes the right end
    assert r.lindex(keys.pending("default"), -1).decode() == page1[0].id
    assert isinstance(page1, TaskList) and all(isinstance(t, TaskInfo) for t in page1)
    assert page1[0].state is TaskState.PENDING and page1[0].next_process_at is not None
    assert "<table" in page1._repr_html_()


def test_list_zset_states_ascending_by_score(insp, r):
    now = int(time.time())
    seed_scheduled(r, [(msg(id="s2"), now + 200), (msg(id="s1"), now + 100), (msg(id="s3"), now + 300)])
    seed_retry(r, [(msg(id="r1", retried=2, error_msg="boom", last_failed_at=now - 5), now + 10)])
    seed_archived(r, [(msg(id="a2"), now - 1), (msg(id="a1"), now - 100)])
    seed_completed(r, [(msg(id="c1", completed_at=now, retention=3600), now + 3600)], result=b'{"ok":true}')
    scheduled = insp.list_tasks("default", "scheduled")
    assert [t.id for t in scheduled] == ["s1", "s2", "s3"]
    assert int(scheduled[0].next_process_at.timestamp()) == now + 100
    assert [t.id for t in insp.list_tasks("default", "scheduled", page=2, page_size=2)] == ["s3"]
    retry = insp.list_tasks("default", "retry")[0]
    assert (retry.retried, retry.last_err, int(retry.last_failed_at.timestamp())) == (2, "boom", now - 5)
    assert [t.id for t in insp.list_tasks("default", "archived")] == ["a1", "a2"]
    assert insp.list_tasks("default", "archived")[0].next_process_at is None
    done = insp.list_tasks("default", "completed")[0]
    assert done.result_value == {"ok": True} and done.retention == timedelta(hours=1)
    assert int(done.completed_at.timestamp()) == now


def test_list_aggregating_needs_group_and_sorts_by_score(insp, r):
    seed_aggregating(r, [(msg(id="g2", group_key="g1"), 20), (msg(id="g1", group_key="g1"), 10)], group="g1")
    tasks = insp.list_tasks("default", "aggregating", group="g1")
    assert [t.id for t in tasks] == ["g1", "g2"] and tasks[0].group == "g1"
    with pytest.raises(ConfigurationError):
        insp.list_tasks("default", "aggregating")


def test_active_listing_marks_orphans_by_lease(insp, r):
    now = int(time.time())
    seed_active(r, [msg(id="live")], lease_until=now + 30)
    seed_active(r, [msg(id="dead")], lease_until=now - 30)
    by_id = {t.id: t for t in insp.list_tasks("default", "active")}
    assert by_id["live"].is_orphaned is False and by_id["dead"].is_orphaned is True
    assert insp.get_task_info("default", "dead").is_orphaned is True


def test_undecodable_and_dangling_ids_are_skipped(insp, r, caplog):
    seed_pending(r, [msg(id="ok1"), msg(id="ok2")])
    r.lpush(keys.pending("default"), "ghost")              # ID without a hash
    r.hset(keys.task("default", "bad"), mapping={"msg": b"\xff\xff\xff", "state": "pending"})
    r.lpush(keys.pending("default"), "bad")
    with caplog.at_level("WARNING"):
        tasks = insp.list_tasks("default", "pending")
    assert [t.id for t in tasks] == ["ok1", "ok2"]
    assert "ghost" in caplog.text and "bad" in caplog.text


def test_unknown_queue_and_state(insp, r):
    with pytest.raises(QueueNotFoundError):
        insp.list_tasks("nope", "pending")
    seed_pending(r, [msg()])
    with pytest.raises(ConfigurationError):
        insp.list_tasks("default", "sleeping")
    with pytest.raises(ConfigurationError):
        insp.list_tasks("default", "pending", page=0)


def test_get_task_info_fields(insp, r):
    now = int(time.time())
    m = msg("img:resize", b"\x00\x01binary", id="x1", retry=3, deadline=now + 60, headers={"k": "v"})
    seed_scheduled(r, [(m, now + 500)])
    info = insp.get_task_info("default", "x1")
    assert (info.type, info.max_retry, info.state) == ("img:resize", 3, TaskState.SCHEDULED)
    assert info.payload == b"\x00\x01binary" and info.payload_value == b"\x00\x01binary"
    assert int(info.next_process_at.timestamp()) == now + 500
    assert int(info.deadline.timestamp()) == now + 60 and info.headers == {"k": "v"}
    assert info.timeout == timedelta(seconds=1800)
    with pytest.raises(TaskNotFoundError):
        insp.get_task_info("default", "missing")


def test_iter_tasks_streams_every_task_once(insp, r):
    seed_pending(r, [msg(id=f"t{i:04d}") for i in range(2500)])
    batches = list(insp.iter_tasks("default", "pending", batch_size=1000))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    ids = [t.id for b in batches for t in b]
    assert ids == [f"t{i:04d}" for i in range(2500)]
    assert insp.count_tasks("default", "pending") == 2500


def test_run_task_from_each_state(insp, r):
    now = int(time.time())
    seed_scheduled(r, [(msg(id="s"), now + 100)])
    seed_archived(r, [(msg(id="a"), now)])
    seed_aggregating(r, [(msg(id="g", group_key="grp"), now)], group="grp")
    for tid in ("s", "a", "g"):
        insp.run_task("default", tid)
        assert insp.get_task_info("default", tid).state is TaskState.PENDING
    assert r.llen(keys.pending("default")) == 3
    assert not r.exists(keys.groups("default"))          # emptied group is SREM'd
    assert r.llen(keys.wake("default")) == 1
    with pytest.raises(TaskStateError, match="pending"):
        insp.run_task("default", "s")
    seed_active(r, [msg(id="act")])
    with pytest.raises(TaskStateError, match="running"):
        insp.run_task("default", "act")
    with pytest.raises(TaskNotFoundError):
        insp.run_task("default", "zzz")


def test_archive_task_rules(insp, r):
    now = int(time.time())
    seed_pending(r, [msg(id="p")])
    seed_retry(r, [(msg(id="rt"), now + 5)])
    insp.archive_task("default", "p")
    insp.archive_task("default", "rt")
    assert r.llen(keys.pending("default")) == 0 and r.zcard(keys.retry("default")) == 0
    assert {t.id for t in insp.list_tasks("default", "archived")} == {"p", "rt"}
    with pytest.raises(TaskAlreadyArchivedError):
        insp.archive_task("default", "p")
    seed_active(r, [msg(id="act")])
    with pytest.raises(TaskStateError, match="CancelProcessing"):
        insp.archive_task("default", "act")


def test_delete_task_releases_only_owned_unique_lock(insp, r):
    now = int(time.time())
    mine, other = msg(id="mine"), msg("other:type", id="other")
    seed_scheduled(r, [(mine, now + 10), (other, now + 20)])
    lock_mine = seed_unique_lock(r, mine)
    lock_other = seed_unique_lock(r, other, owner="someone-else")
    insp.delete_task("default", "mine")
    insp.delete_task("default", "other")
    assert not r.exists(lock_mine) and r.get(lock_other) == b"someone-else"
    assert not r.exists(keys.task("default", "mine")) and r.zcard(keys.scheduled("default")) == 0
    seed_active(r, [msg(id="act")])
    with pytest.raises(TaskStateError):
        insp.delete_task("default", "act")
    with pytest.raises(TaskNotFoundError):
        insp.delete_task("default", "mine")


def test_bulk_operations_return_counts(insp, r):
    now = int(time.time())
    seed_scheduled(r, [(msg(), now + i) for i in range(4)])
    seed_retry(r, [(msg(), now + i) for i in range(3)])
    seed_pending(r, [msg() for _ in range(5)])
    seed_aggregating(r, [(msg(), now), (msg(), now)], group="a")
    seed_aggregating(r, [(msg(), now)], group="b")
    assert insp.archive_all("default", "retry") == 3
    assert insp.archive_all("default", "pending") == 5
    assert insp.archive_all("default", "aggregating", group="a") == 2
    assert insp.get_queue_info("default").archived == 10
    assert insp.run_all("default", "archived") == 10
    assert insp.run_all("default", "aggregating") == 1     # every group when group is None
    assert insp.get_queue_info("default").pending == 11
    assert insp.delete_all("default", "scheduled") == 4
    assert insp.delete_all("default", "pending") == 11
    info = insp.get_queue_info("default")
    assert (info.size, info.groups) == (0, 0)
    with pytest.raises(ConfigurationError):
        insp.run_all("default", "active")


def test_delete_all_pending_keeps_unique_locks(insp, r):
    m = msg(id="u1")
    seed_pending(r, [m])
    lock = seed_unique_lock(r, m)
    assert insp.delete_all("default", "pending") == 1
    assert r.get(lock) == b"u1"                         # asynq trap T5
    seed_archived(r, [(msg(id="u2"), 1)])
    lock2 = seed_unique_lock(r, msg(id="u2"))
    assert insp.delete_all("default", "archived") == 1
    assert not r.exists(lock2)


def test_update_task_payload_scheduled_only(insp, r):
    now = int(time.time())
    seed_scheduled(r, [(msg(id="s", payload=b'{"a":1}', headers={"h": "1"}), now + 60)])
    seed_pending(r, [msg(id="p")])
    info = insp.update_task_payload("default", "s", {"a": 2})
    assert info.payload_value == {"a": 2}
    again = insp.get_task_info("default", "s")
    assert again.payload == b'{"a":2}' and again.headers == {"h": "1"} and again.state is TaskState.SCHEDULED
    with pytest.raises(TaskStateError):
        insp.update_task_payload("default", "p", "x")
    with pytest.raises(TaskNotFoundError):
        insp.update_task_payload("default", "nope", "x")


def test_cancel_processing_publishes(insp, r):
    pubsub = r.pubsub()
    pubsub.subscribe(keys.CANCEL_CHANNEL)
    pubsub.get_message(timeout=1)                       # subscribe confirmation
    insp.cancel_processing("task-42")
    message = pubsub.get_message(timeout=2)
    pubsub.close()
    assert message is not None and message["data"] == b"task-42"


def test_iter_tasks_many_round_trips_and_script_flush(insp, r):
    now = int(time.time())
    seed_retry(r, [(msg(id=f"r{i:04d}"), now + i) for i in range(1050)])
    insp.list_tasks("default", "retry")                 # scripts loaded
    r.script_flush()                                    # as after a server restart
    ids = [t.id for b in insp.iter_tasks("default", "retry", batch_size=100) for t in b]
    assert ids == [f"r{i:04d}" for i in range(1050)]
