"""Each worker transition script's key effects, on raw state seeded with keys.py + wire.py."""

import time
from datetime import datetime, timedelta, timezone

from dmq_tools.rdb import keys
from dmq_tools.rdb.worker_ops import Outcome, OutcomeKind, ServerState, WorkerState
from dmq_tools.rdb.wire import decode_task_message, pb
from tests.helpers.seed_worker import (events, message, seed_active, seed_group, seed_pending, seed_zset,
                                       stored)


def finish(rdb, kind, m, **kw) -> bool:
    """One outcome through the production path (RDB.write_outcomes, as OutcomeWriter writes it)."""
    return rdb.write_outcomes([Outcome(kind, m, m.id, m.queue, **kw)])[0]


Q = "default"


def test_dequeue_batch_leases_in_queue_order(r, rdb):
    a = [seed_pending(r, message(queue="high")) for _ in range(2)]
    b = [seed_pending(r, message(queue="low")) for _ in range(3)]
    got = rdb.dequeue(["high", "low"], 4, 30, "w1")
    assert [(q, tid) for q, tid, _ in got] == [("high", a[0].id), ("high", a[1].id), ("low", b[0].id),
                                              ("low", b[1].id)]
    for q, tid, raw in got:
        assert decode_task_message(raw).id == tid
        assert r.hget(keys.task(q, tid), "state") == b"active"
        assert not r.hexists(keys.task(q, tid), "pending_since")
        assert r.zscore(keys.lease(q), tid) >= time.time() + 25
    assert r.llen(keys.active("low")) == 2
    # a full batch with tasks left behind re-pushes the wake token
    assert r.llen(keys.wake("low")) == 1
    assert [e["e"] for e in events(r, "high")] == ["started", "started"]
    assert events(r, "high")[0]["t"] == "t"


def test_dequeue_skips_paused_queue_and_dangling_ids(r, rdb):
    seed_pending(r, message(queue="p"))
    r.set(keys.paused("p"), int(time.time()))
    r.lpush(keys.pending(Q), "ghost")          # id without a hash
    ok = seed_pending(r, message())
    got = rdb.dequeue(["p", Q], 10, 30)
    assert [tid for _, tid, _ in got] == [ok.id]
    assert r.llen(keys.pending("p")) == 1
    assert r.lrange(keys.active(Q), 0, -1) == [ok.id.encode()]


def test_done_batch_counts_and_releases_unique_lock(r, rdb):
    m1 = seed_active(r, message(unique_key=keys.unique(Q, "t", "abc")))
    m2 = seed_active(r, message())
    other = message(unique_key=keys.unique(Q, "t", "zzz"))
    seed_active(r, other)
    r.set(other.unique_key, "someone-else")
    codes = rdb.write_outcomes([Outcome("done", m, m.id, Q, duration_ms=1.5) for m in (m1, m2, other)]
                            + [Outcome("done", message(), "missing", Q)])
    assert codes == [True, True, True, False]
    assert not r.exists(keys.task(Q, m1.id)) and r.llen(keys.active(Q)) == 0 and r.zcard(keys.lease(Q)) == 0
    assert not r.exists(m1.unique_key)
    assert r.get(other.unique_key) == b"someone-else"        # released only if it holds the id
    day = rdb.today()
    assert r.get(keys.processed(Q, day)) == b"3" and r.get(keys.processed_total(Q)) == b"3"
    assert 0 < r.ttl(keys.processed(Q, day)) <= 90 * 86400
    minutes = r.hgetall(keys.minute_stats(Q, day))
    assert sum(int(v) for k, v in minutes.items() if k.startswith(b"p:")) == 3
    assert 0 < r.ttl(keys.minute_stats(Q, day)) <= 8 * 86400
    ev = events(r, Q)
    assert [e["e"] for e in ev] == ["succeeded"] * 3 and ev[0]["d"] == "1.500"


def test_processed_total_wraps_at_maxint(r, rdb):
    m = seed_active(r, message())
    r.set(keys.processed_total(Q), "9223372036854775807")
    assert finish(rdb, OutcomeKind.DONE, m)
    assert r.get(keys.processed_total(Q)) == b"1"


def test_mark_as_complete_with_retention_and_result(r, rdb):
    m = seed_active(r, message(retention=3600))
    assert finish(rdb, OutcomeKind.COMPLETE, m, result=b'{"ok":1}')
    state, msg = stored(r, Q, m.id)
    assert state == "completed" and msg.completed_at >= int(time.time()) - 2
    score = r.zscore(keys.completed(Q), m.id)
    assert msg.completed_at + 3600 - 1 <= score <= msg.completed_at + 3600
    assert r.hget(keys.task(Q, m.id), "result") == b'{"ok":1}'
    assert r.llen(keys.active(Q)) == 0 and r.get(keys.processed_total(Q)) == b"1"


def test_retry_failure_and_non_failure(r, rdb):
    m = seed_active(r, message(retried=2))
    assert finish(rdb, OutcomeKind.RETRY, m, event="failed", error="boom", retry_delay=60, is_failure=True)
    state, msg = stored(r, Q, m.id)
    assert state == "retry" and msg.retried == 3 and msg.error_msg == "boom" and msg.last_failed_at > 0
    assert abs(r.zscore(keys.retry(Q), m.id) - (time.time() + 60)) < 3
    assert r.get(keys.failed_total(Q)) == b"1" and r.get(keys.processed_total(Q)) == b"1"
    n = seed_active(r, message(retried=1))
    assert finish(rdb, OutcomeKind.RETRY, n, event="retried", error="soft", retry_delay=10, is_failure=False)
    _, msg2 = stored(r, Q, n.id)
    assert msg2.retried == 1 and msg2.last_failed_at > 0
    assert r.get(keys.failed_total(Q)) == b"1"                    # not counted
    assert [e["e"] for e in events(r, Q)] == ["failed", "retried"]
    assert events(r, Q)[0]["err"] == "boom"


def test_archive_trims_by_age_and_size(r, rdb, monkeypatch):
    import dmq_tools.rdb.worker_ops as ops

    monkeypatch.setattr(ops, "ARCHIVE_MAX_SIZE", 5)
    now = time.time()
    old = seed_zset(r, message(), "archived", now - 91 * 86400)
    recent = [seed_zset(r, message(), "archived", now - 100 + i) for i in range(6)]
    m = seed_active(r, message(retried=1))
    assert finish(rdb, OutcomeKind.ARCHIVE, m, event="archived", error="gave up")
    state, msg = stored(r, Q, m.id)
    assert state == "archived" and msg.error_msg == "gave up" and msg.retried == 1
    members = {x.decode() for x in r.zrange(keys.archived(Q), 0, -1)}
    assert old.id not in members and not r.exists(keys.task(Q, old.id))
    assert len(members) == 4                       # ZRANGE 0 -5 keeps size-1 (asynq's off-by-one)
    assert m.id in members
    assert not r.exists(keys.task(Q, recent[0].id)) and not r.exists(keys.task(Q, recent[1].id))
    assert r.get(keys.failed_total(Q)) == b"1"


def test_requeue_puts_task_next(r, rdb):
    first = seed_pending(r, message())
    m = seed_active(r, message(retried=3))
    assert finish(rdb, OutcomeKind.REQUEUE, m, event="requeued")
    assert r.lindex(keys.pending(Q), -1) == m.id.encode()       # consumption end
    state, msg = stored(r, Q, m.id)
    assert state == "pending" and msg.retried == 3
    assert r.llen(keys.pending(Q)) == 2 and r.lindex(keys.pending(Q), 0) == first.id.encode()


def test_forward_due_tasks_and_group_branch(r, rdb):
    now = time.time()
    due = seed_zset(r, message(), "scheduled", now - 5)
    later = seed_zset(r, message(), "scheduled", now + 600)
    retry_due = seed_zset(r, message(), "retry", now - 1)
    grouped = seed_zset(r, message(group_key="g1"), "retry", now - 1, group="g1")
    assert rdb.forward(Q) == 3
    assert set(r.lrange(keys.pending(Q), 0, -1)) == {due.id.encode(), retry_due.id.encode()}
    assert r.hexists(keys.task(Q, due.id), "pending_since")
    assert r.zscore(keys.scheduled(Q), later.id) is not None
    assert r.zscore(keys.group(Q, "g1"), grouped.id) is not None
    assert r.hget(keys.task(Q, grouped.id), "state") == b"aggregating"
    assert r.sismember(keys.groups(Q), "g1")       # dmq keeps `groups` consistent (T10)
    assert r.llen(keys.wake(Q)) == 1


def test_lease_expired_listing_extend_and_recovery(r, rdb):
    expired = seed_active(r, message(), lease_expiry=time.time() - 60)
    live = seed_active(r, message(), lease_expiry=time.time() + 30)
    r.zadd(keys.lease(Q), {"ghost": 1})
    r.lpush(keys.active(Q), "ghost")
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=30)
    got = rdb.list_lease_expired(Q, cutoff)
    assert [tid for tid, _ in got] == [expired.id]
    assert r.zscore(keys.lease(Q), "ghost") is None and b"ghost" not in r.lrange(keys.active(Q), 0, -1)
    rdb.extend_lease(Q, [live.id, "finished-already"], 30)
    assert r.zscore(keys.lease(Q), "finished-already") is None     # XX: never re-added
    assert r.zscore(keys.lease(Q), live.id) >= int(time.time()) + 29


def test_janitor_deletes_expired_completed(r, rdb):
    now = time.time()
    gone = [seed_zset(r, message(), "completed", now - 10) for _ in range(5)]
    kept = seed_zset(r, message(), "completed", now + 100)
    assert rdb.delete_expired_completed(Q, batch_size=2) == 5
    assert all(not r.exists(keys.task(Q, m.id)) for m in gone)
    assert r.zrange(keys.completed(Q), 0, -1) == [kept.id.encode()]


def test_write_result(r, rdb):
    m = seed_active(r, message())
    assert rdb.write_result(Q, m.id, b"abc") == 3
    assert r.hget(keys.task(Q, m.id), "result") == b"abc"


def test_server_state_is_asynq_protobuf(r, rdb):
    st = ServerState.new(7, {"critical": 6, "default": 3}, False)
    started = datetime.now(timezone.utc)
    st.workers = [WorkerState("tid1", "email:send", b"{}", "critical", started, started + timedelta(minutes=5))]
    st.active_workers = 1
    rdb.write_server_state(st, 10)
    skey = keys.server_info(st.host, st.pid, st.server_id)
    info = pb.ServerInfo()
    info.ParseFromString(r.get(skey))
    assert (info.host, info.pid, info.server_id, info.concurrency) == (st.host, st.pid, st.server_id, 7)
    assert dict(info.queues) == {"critical": 6, "default": 3} and info.status == "active"
    assert info.active_worker_count == 1 and 0 < r.ttl(skey) <= 10
    wi = pb.WorkerInfo()
    wi.ParseFromString(r.hget(keys.workers(st.host, st.pid, st.server_id), "tid1"))
    assert wi.server_id == st.server_id and wi.task_type == "email:send" and wi.queue == "critical"
    assert wi.deadline.seconds == int((started + timedelta(minutes=5)).timestamp())
    assert r.zscore(keys.ALL_SERVERS, skey) > time.time()
    rdb.clear_server_state(st.host, st.pid, st.server_id)
    assert not r.exists(skey) and r.zcard(keys.ALL_SERVERS) == 0 and r.zcard(keys.ALL_WORKERS) == 0


def test_aggregation_check_read_delete_and_reclaim(r, rdb):
    now = time.time()
    members = [seed_group(r, message(payload=str(i).encode()), "g", now - 100 + i) for i in range(3)]
    assert rdb.aggregation_check(Q, "g", grace_s=60, max_delay_s=0, max_size=0) is not None
    # the newest was added 98 s ago > grace 60 s: the whole group went into a set
    sets = r.zrange(keys.aggregation_sets(Q), 0, -1)
    assert len(sets) == 1 and r.zcard(keys.group(Q, "g")) == 0 and not r.sismember(keys.groups(Q), "g")
    set_key = sets[0].decode()
    raws, deadline = rdb.read_aggregation_set(Q, set_key)
    assert [decode_task_message(x).id for x in raws] == [m.id for m in members]
    assert deadline is not None and deadline > datetime.now(timezone.utc)
    # a stale set goes back into its group, and the group becomes visible again
    r.zadd(keys.aggregation_sets(Q), {set_key: 1})
    assert rdb.reclaim_stale_aggregation_sets(Q) == 1
    assert r.zcard(keys.group(Q, "g")) == 3 and r.sismember(keys.groups(Q), "g")
    set_key = rdb.aggregation_check(Q, "g", grace_s=1, max_delay_s=0, max_size=2)
    assert set_key is not None and r.zcard(set_key) == 2 and r.zcard(keys.group(Q, "g")) == 1
    assert rdb.delete_aggregation_set(Q, set_key) == 2
    assert not r.exists(set_key) and not r.exists(keys.task(Q, members[0].id))
    assert r.zcard(keys.aggregation_sets(Q)) == 0


def test_aggregation_check_waits_for_grace(r, rdb):
    seed_group(r, message(), "g", time.time())
    assert rdb.aggregation_check(Q, "g", grace_s=60, max_delay_s=0, max_size=0) is None
    assert rdb.aggregation_check(Q, "g", grace_s=60, max_delay_s=0, max_size=1) is not None


def test_dequeue_and_done_write_one_history_entry_per_call(r, rdb):
    """One "started" entry per queue and dequeue call, one "succeeded" entry per done call
    (ids, t or types, ds); the reader (and the inspector) sees one event per task."""
    from dmq_tools.rdb.inspect_history import event_records

    ms = [seed_pending(r, message("a" if i < 2 else "b")) for i in range(3)]
    got = rdb.dequeue([Q], 10, 30, "w1")
    assert len(got) == 3
    codes = rdb.write_outcomes([Outcome("done", m, m.id, Q, duration_ms=1.5 + i) for i, m in enumerate(ms)], "w1")
    assert codes == [True] * 3
    raw = r.xrange(keys.events(Q))
    assert len(raw) == 2
    assert raw[0][1][b"e"] == b"started" and b"types" in raw[0][1] and raw[0][1][b"w"] == b"w1"
    assert raw[1][1][b"e"] == b"succeeded" and b"ds" in raw[1][1]
    ev = events(r, Q)
    assert [(e["e"], e["id"], e["t"]) for e in ev] == (
        [("started", m.id, m.type) for m in ms] + [("succeeded", m.id, m.type) for m in ms])
    assert [e["d"] for e in ev[3:]] == ["1.500", "2.500", "3.500"] and all(e["w"] == "w1" for e in ev)
    assert len(event_records(Q, *raw[1])) == 3


def test_done_with_mixed_events_writes_one_entry_each(r, rdb):
    a, b = seed_active(r, message()), seed_active(r, message())
    rdb.write_outcomes([Outcome("done", a, a.id, Q, event="succeeded", duration_ms=1.0),
                        Outcome("done", b, b.id, Q, event="revoked", duration_ms=2.0)])
    raw = r.xrange(keys.events(Q))
    assert [f[b"e"] for _, f in raw] == [b"succeeded", b"revoked"]
    assert [(e["id"], e["d"]) for e in events(r, Q)] == [(a.id, "1.000"), (b.id, "2.000")]
