"""RDB scheduler records: asynq's entries/history layout, caps, TTLs, fire locks, anchors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dmq_tools.rdb import keys
from dmq_tools.rdb.scheduler_ops import MAX_HISTORY_EVENTS, SchedulerEntryRecord
from tests.helpers.scheduler_raw import is_go_zero, raw_entries, raw_history, scheduler_keys, seed_history

UTC = timezone.utc


def _entry(i: int, prev=None) -> SchedulerEntryRecord:
    return SchedulerEntryRecord(
        id=f"id-{i}", spec="@every 30s", task_type="t:x", task_payload=b'{"a":1}',
        enqueue_options=['Queue("low")', "Timeout(30m0s)"],
        next_enqueue_at=datetime(2030, 1, 1, tzinfo=UTC), prev_enqueue_at=prev,
    )


def test_write_entries_layout_ttl_and_go_zero_time(r, rdb):
    rdb.write_scheduler_entries("host:1:abc", [_entry(1), _entry(2, datetime(2024, 1, 1, tzinfo=UTC))], 20)
    key = keys.scheduler_entries("host:1:abc")
    assert key == "asynq:schedulers:{host:1:abc}"
    assert scheduler_keys(r) == [key]
    score = r.zscore(keys.ALL_SCHEDULERS, key)
    assert abs(score - (datetime.now(UTC).timestamp() + 20)) < 5
    assert 0 < r.ttl(key) <= 20
    msgs = raw_entries(r, key)
    assert sorted(m.id for m in msgs) == ["id-1", "id-2"]
    by_id = {m.id: m for m in msgs}
    assert list(by_id["id-1"].enqueue_options) == ['Queue("low")', "Timeout(30m0s)"]
    assert is_go_zero(by_id["id-1"].prev_enqueue_time)
    assert by_id["id-2"].prev_enqueue_time.seconds == int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    # a rewrite replaces the list
    rdb.write_scheduler_entries("host:1:abc", [_entry(3)], 20)
    assert [m.id for m in raw_entries(r, key)] == ["id-3"]


def test_list_entries_reads_back_and_skips_expired_schedulers(r, rdb):
    rdb.write_scheduler_entries("s1", [_entry(1)], 20)
    r.zadd(keys.ALL_SCHEDULERS, {keys.scheduler_entries("dead"): 1})  # expired index entry
    got = rdb.list_scheduler_entries()
    assert [e.id for e in got] == ["id-1"]
    assert got[0].prev_enqueue_at is None and got[0].next_enqueue_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert got[0].enqueue_options == ['Queue("low")', "Timeout(30m0s)"]


def test_clear_entries(r, rdb):
    rdb.write_scheduler_entries("s1", [_entry(1)], 20)
    rdb.clear_scheduler_entries("s1")
    assert r.zcard(keys.ALL_SCHEDULERS) == 0
    assert not r.exists(keys.scheduler_entries("s1"))


def test_history_record_decode_and_order(r, rdb):
    t = datetime(2024, 5, 1, 10, 0, 0, 500_000, tzinfo=UTC)
    rdb.record_scheduler_enqueue_event("e1", "task-a", t)
    rdb.record_scheduler_enqueue_event("e1", "task-b", t + timedelta(seconds=1))
    raw = raw_history(r, "e1")
    assert [(m.task_id, score) for m, score in raw] == [("task-a", t.timestamp() // 1),
                                                        ("task-b", t.timestamp() // 1 + 1)]
    assert raw[0][0].enqueue_time.seconds == int(t.timestamp()) and raw[0][0].enqueue_time.nanos == 500_000_000
    assert r.ttl(keys.scheduler_history("e1")) == -1  # no TTL unless asked
    newest_first = rdb.list_scheduler_history("e1")
    assert [e.task_id for e in newest_first] == ["task-b", "task-a"]
    assert newest_first[1].enqueued_at == t
    assert [e.task_id for e in rdb.list_scheduler_history("e1", 1, 1)] == ["task-a"]


def test_history_capped_at_1000(r, rdb):
    seed_history(r, "e1", 1005)
    rdb.record_scheduler_enqueue_event("e1", "newest", datetime(2030, 1, 1, tzinfo=UTC))
    assert r.zcard(keys.scheduler_history("e1")) == MAX_HISTORY_EVENTS == 1000
    ids = [m.task_id for m, _ in raw_history(r, "e1")]
    assert ids[-1] == "newest" and ids[0] == "task-6"  # the oldest were trimmed


def test_history_ttl_and_clear(r, rdb):
    rdb.record_scheduler_enqueue_event("e1", "x", datetime.now(UTC), ttl_s=3600)
    assert 3500 < r.ttl(keys.scheduler_history("e1")) <= 3600
    rdb.clear_scheduler_history("e1")
    assert not r.exists(keys.scheduler_history("e1"))


def test_claim_fire_once_per_entry_and_time(r, rdb):
    assert rdb.claim_fire("k", 1000, 30) is True
    assert rdb.claim_fire("k", 1000, 30) is False
    assert rdb.claim_fire("k", 1001, 30) is True
    assert rdb.claim_fire("other", 1000, 30) is True
    assert 0 < r.ttl(keys.scheduler_fire_lock("k", 1000)) <= 30


def test_anchor_first_writer_wins_and_ttl_refreshes(r, rdb):
    assert rdb.scheduler_anchor("k", 500, 100) == 500
    r.expire(keys.scheduler_anchor("k"), 10)
    assert rdb.scheduler_anchor("k", 900, 100) == 500
    assert r.ttl(keys.scheduler_anchor("k")) > 10
