"""Inspector queue stats, history, pause/remove, groups, servers, scheduler, INFO, events,
throughput."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest

from dmq_tools.errors import QueueNotEmptyError, QueueNotFoundError, QueuePausedStateError
from dmq_tools.models import QueueInfo, QueueList, ServerInfo, TaskEvent
from dmq_tools.rdb import keys
from dmq_tools.rdb.wire import pb, to_timestamp
from tests.helpers.seed import (
    msg,
    seed_active,
    seed_aggregating,
    seed_archived,
    seed_completed,
    seed_daily_stats,
    seed_events,
    seed_minutes,
    seed_pending,
    seed_retry,
    seed_scheduled,
    seed_server,
    seed_totals,
)

UTC = timezone.utc


def test_queue_info_counts_and_counters(insp, r):
    now = int(time.time())
    since = time.time_ns() - 5_000_000_000                 # oldest pending 5 s ago
    seed_pending(r, [msg(), msg()], pending_since_ns=since)
    seed_active(r, [msg()])
    seed_scheduled(r, [(msg(), now + 10)])
    seed_retry(r, [(msg(), now + 10), (msg(), now + 20)])
    seed_archived(r, [(msg(), now)])
    seed_completed(r, [(msg(), now + 100)])
    seed_aggregating(r, [(msg(), now), (msg(), now)], group="a")
    seed_aggregating(r, [(msg(), now)], group="b")
    today = datetime.now(UTC).date()
    seed_daily_stats(r, "default", {today: (7, 2)})
    seed_totals(r, "default", 100, 9)
    info = insp.get_queue_info("default")
    assert isinstance(info, QueueInfo)
    assert (info.pending, info.active, info.scheduled, info.retry, info.archived, info.completed,
            info.aggregating, info.groups) == (2, 1, 1, 2, 1, 1, 3, 2)
    assert info.size == 11
    assert (info.processed, info.failed, info.processed_total, info.failed_total) == (7, 2, 100, 9)
    assert timedelta(seconds=4) < info.latency < timedelta(seconds=60)
    assert info.memory_usage > 0 and info.paused is False and info.timestamp is not None
    infos = insp.queue_infos()
    assert isinstance(infos, QueueList) and [i.queue for i in infos] == ["default"]
    assert "<table" in infos._repr_html_() and "<table" in info._repr_html_()


def test_memory_usage_tolerates_dangling_ids(insp, r):
    seed_pending(r, [msg()])
    r.lpush(keys.pending("default"), "ghost")
    r.zadd(keys.scheduled("default"), {"ghost2": 1})
    assert insp.get_queue_info("default").memory_usage > 0


def test_queues_sorted_and_unknown_queue(insp, r):
    seed_pending(r, [msg(queue="b")], queue="b")
    seed_pending(r, [msg(queue="a")], queue="a")
    assert insp.queues() == ["a", "b"]
    with pytest.raises(QueueNotFoundError, match="does not exist"):
        insp.get_queue_info("zzz")


def test_history_days_newest_first(insp, r):
    today = datetime.now(UTC).date()
    seed_daily_stats(r, "default", {today: (10, 1), today - timedelta(days=2): (5, 5)})
    hist = insp.history("default", days=3)
    assert [h.date for h in hist] == [today, today - timedelta(days=1), today - timedelta(days=2)]
    assert [(h.processed, h.failed) for h in hist] == [(10, 1), (0, 0), (5, 5)]
    assert all(isinstance(h.date, date) for h in hist)


def test_pause_and_unpause_errors(insp, r):
    seed_pending(r, [msg()])
    insp.pause_queue("default")
    assert r.exists(keys.paused("default")) and insp.get_queue_info("default").paused
    with pytest.raises(QueuePausedStateError, match="already paused"):
        insp.pause_queue("default")
    insp.unpause_queue("default")
    with pytest.raises(QueuePausedStateError, match="not paused"):
        insp.unpause_queue("default")
    with pytest.raises(QueueNotFoundError):
        insp.pause_queue("other")


def test_remove_queue_rules(insp, r):
    seed_pending(r, [msg(id="p1")])
    with pytest.raises(QueueNotEmptyError):
        insp.remove_queue("default")
    insp.remove_queue("default", force=True)
    assert "default" not in insp.queues() and not r.exists(keys.task("default", "p1"))
    seed_active(r, [msg(queue="busy")], queue="busy")
    with pytest.raises(QueueNotEmptyError, match="active"):
        insp.remove_queue("busy", force=True)
    r.sadd(keys.ALL_QUEUES, "empty")
    insp.remove_queue("empty")
    assert insp.queues() == ["busy"]


def test_groups(insp, r):
    seed_aggregating(r, [(msg(), 1), (msg(), 2)], group="b")
    seed_aggregating(r, [(msg(), 1)], group="a")
    assert [(g.group, g.size) for g in insp.groups("default")] == [("a", 1), ("b", 2)]


def test_servers_join_workers_and_prune_stale(insp, r):
    running = msg("img:resize", id="w1")
    sid = seed_server(r, host="h1", pid=7, queues={"default": 3, "low": 1}, workers=[running])
    stale = seed_server(r, host="h2", pid=8, expires_at=int(time.time()) - 100)
    r.set(keys.server_info("h3", 9, "bad"), b"\xff\xff")
    r.zadd(keys.ALL_SERVERS, {keys.server_info("h3", 9, "bad"): int(time.time()) + 10})
    servers = insp.servers()
    assert [s.id for s in servers] == [sid]
    s = servers[0]
    assert isinstance(s, ServerInfo) and (s.host, s.pid, s.queues) == ("h1", 7, {"default": 3, "low": 1})
    assert [w.task_id for w in s.active_workers] == ["w1"] and s.active_workers[0].task_type == "img:resize"
    assert s.started is not None and s.active_workers[0].deadline is not None
    members = {m.decode() for m in r.zrange(keys.ALL_SERVERS, 0, -1)}
    assert keys.server_info("h2", 8, stale) not in members


def test_scheduler_entries_and_history(insp, r):
    entry = pb.SchedulerEntry(id="e1", spec="@every 30s", task_type="report", task_payload=b'{"a":1}',
                              enqueue_options=['Queue("low")'])
    nxt = datetime.now(UTC) + timedelta(seconds=30)
    entry.next_enqueue_time.CopyFrom(to_timestamp(nxt))
    entry.prev_enqueue_time.CopyFrom(to_timestamp(None))            # Go zero time = never
    skey = keys.scheduler_entries("host:1:abc")
    r.zadd(keys.ALL_SCHEDULERS, {skey: int(time.time()) + 20})
    r.lpush(skey, entry.SerializeToString())
    for i in range(5):
        ev = pb.SchedulerEnqueueEvent(task_id=f"t{i}")
        ev.enqueue_time.CopyFrom(to_timestamp(datetime.fromtimestamp(1_700_000_000 + i, UTC)))
        r.zadd(keys.scheduler_history("e1"), {ev.SerializeToString(): 1_700_000_000 + i})
    (e,) = insp.scheduler_entries()
    assert (e.id, e.spec, e.task_type, e.opts, e.prev_enqueue_at) == ("e1", "@every 30s", "report",
                                                                     ('Queue("low")',), None)
    assert abs((e.next_enqueue_at - nxt).total_seconds()) < 1
    hist = insp.scheduler_history("e1", page=1, page_size=2)
    assert [h.task_id for h in hist] == ["t4", "t3"]
    assert [h.task_id for h in insp.scheduler_history("e1", page=3, page_size=2)] == ["t0"]


def test_redis_info(insp, r):
    info = insp.redis_info()
    assert info["redis_version"].count(".") >= 1 and all(isinstance(v, str) for v in info.values())


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def test_events_window_limit_and_all_queues(insp, r):
    base = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    seed_pending(r, [msg()])
    seed_pending(r, [msg(queue="low")], queue="low")
    seed_events(r, "default", [
        (_ms(base), {"e": "enqueued", "id": "a", "t": "x"}),
        (_ms(base + timedelta(seconds=1)), {"e": "started", "id": "a", "t": "x", "w": "srv1"}),
        (_ms(base + timedelta(seconds=2)), {"e": "failed", "id": "a", "t": "x", "d": "12.5", "err": "boom"}),
    ])
    seed_events(r, "low", [(_ms(base + timedelta(milliseconds=1500)), {"e": "enqueued", "id": "b", "t": "y"})])
    every = insp.events()
    assert [(e.queue, e.event) for e in every] == [("default", "enqueued"), ("default", "started"),
                                                   ("low", "enqueued"), ("default", "failed")]
    failed = every[-1]
    assert isinstance(failed, TaskEvent) and failed.duration == timedelta(milliseconds=12.5)
    assert failed.error == "boom" and failed.time == base + timedelta(seconds=2)
    window = insp.events("default", since=base + timedelta(seconds=1), until=base + timedelta(seconds=1))
    assert [e.event for e in window] == ["started"] and window[0].worker == "srv1"
    assert [e.event for e in insp.events("default", limit=2)] == ["started", "failed"]
    with pytest.raises(QueueNotFoundError):
        insp.events("nope")


def test_iter_events_batches_cover_everything(insp, r):
    seed_pending(r, [msg()])
    t0 = 1_700_000_000_000
    seed_events(r, "default", [(t0 + i // 3, {"e": "enqueued", "id": str(i)}) for i in range(25)])
    batches = list(insp.iter_events("default", batch_size=10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [e.task_id for b in batches for e in b] == [str(i) for i in range(25)]


def test_throughput_per_minute_dense(insp, r):
    seed_pending(r, [msg()])
    until = datetime(2026, 3, 1, 0, 2, 30, tzinfo=UTC)
    since = datetime(2026, 2, 28, 23, 58, tzinfo=UTC)                # crosses midnight
    seed_minutes(r, "default", {
        datetime(2026, 2, 28, 23, 59, tzinfo=UTC): (4, 1),
        datetime(2026, 3, 1, 0, 1, tzinfo=UTC): (10, 0),
        datetime(2026, 3, 1, 0, 5, tzinfo=UTC): (99, 99),            # outside the window
    })
    points = insp.throughput("default", since=since, until=until)
    assert [p.time.strftime("%H:%M") for p in points] == ["23:58", "23:59", "00:00", "00:01", "00:02"]
    assert [(p.processed, p.failed) for p in points] == [(0, 0), (4, 1), (0, 0), (10, 0), (0, 0)]
    assert points[1].failure_rate == 0.25
