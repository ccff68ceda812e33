"""Scheduler: firing via run_once with an injected clock, replicas, records asynq reads, cleanup."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools import Task
from dmq_tools.errors import ConfigurationError, CronSpecError
from dmq_tools.rdb import keys
from dmq_tools.rdb.wire import decode_task_message
from tests.helpers.scheduler_raw import (
    all_raw_entries, is_go_zero, pending_ids, raw_entries, raw_history, scheduler_keys,
)

UTC = timezone.utc


def test_register_ids_are_deterministic_and_idempotent(make_scheduler):
    a, b = make_scheduler(), make_scheduler()
    t = Task("report:daily", {"x": 1})
    id_a = a.register("@daily", t, queue="low")
    assert b.register("@daily", Task("report:daily", {"x": 1}), queue="low") == id_a
    assert a.register("@daily", t, queue="low") == id_a and len(a.entries()) == 1
    assert a.register("@daily", t, queue="high") != id_a
    assert a.register("@hourly", t, queue="low") != id_a
    assert a.register("@daily", Task("report:daily", {"x": 2}), queue="low") != id_a
    assert len(a.entries()) == 4


def test_register_rejects_bad_spec_and_options(make_scheduler):
    s = make_scheduler()
    with pytest.raises(CronSpecError, match="'61 \\* \\* \\* \\*'"):
        s.register("61 * * * *", Task("x"))
    with pytest.raises(ConfigurationError, match="priority"):
        s.register("@daily", Task("x"), priority=3)
    with pytest.raises(ConfigurationError):
        s.register("@daily", "not a task")  # type: ignore[arg-type]
    assert s.entries() == []


def test_unregister(make_scheduler):
    s = make_scheduler()
    eid = s.register("@hourly", Task("x"))
    s.unregister(eid)
    assert s.entries() == []
    with pytest.raises(KeyError):
        s.unregister(eid)


def test_run_once_fires_at_the_tick_with_options_and_history(r, make_scheduler, frozen_clock):
    s = make_scheduler(clock=frozen_clock)
    eid = s.register("*/5 * * * *", Task("cleanup", {"dir": "/tmp"}), queue="low", max_retry=3,
                     timeout=timedelta(minutes=2))
    assert s.run_once() == 0  # 10:00:00 is the registration time, next tick is 10:05
    frozen_clock.advance(timedelta(minutes=4, seconds=59))
    assert s.run_once() == 0
    frozen_clock.advance(timedelta(seconds=1))
    assert s.run_once() == 1
    assert s.run_once() == 0  # the same tick never fires twice
    (task_id,) = pending_ids(r, "low")
    msg = decode_task_message(r.hget(keys.task("low", task_id), "msg"))
    assert (msg.type, msg.payload, msg.retry, msg.timeout) == ("cleanup", b'{"dir":"/tmp"}', 3, 120)
    ((event, score),) = raw_history(r, eid)
    assert event.task_id == task_id
    assert score == datetime(2024, 5, 1, 10, 5, tzinfo=UTC).timestamp()
    (entry,) = s.entries()
    assert entry.prev_enqueue_at == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    assert entry.next_enqueue_at == datetime(2024, 5, 1, 10, 10, tzinfo=UTC)


def test_two_schedulers_fire_each_tick_once(r, make_scheduler, frozen_clock):
    a = make_scheduler(clock=frozen_clock)
    b = make_scheduler(clock=frozen_clock)
    t = Task("ping")
    assert a.register("@every 10s", t) == b.register("@every 10s", t)
    fired = 0
    for _ in range(12):
        frozen_clock.advance(timedelta(seconds=5))
        fired += a.run_once() + b.run_once()
    assert fired == 6
    assert len(pending_ids(r)) == 6


def test_every_replicas_share_the_anchor(r, make_scheduler, frozen_clock):
    a = make_scheduler(clock=frozen_clock)
    eid = a.register("@every 10s", Task("ping"))
    frozen_clock.advance(timedelta(seconds=3))
    b = make_scheduler(clock=frozen_clock)  # registers 3 s later: same ticks as a
    b.register("@every 10s", Task("ping"))
    assert a.next_runs(3)[eid] == b.next_runs(3)[eid]
    assert a.next_runs(1)[eid] == [datetime(2024, 5, 1, 10, 0, 10, tzinfo=UTC)]


def test_missed_ticks_fire_at_most_once_within_grace(r, make_scheduler, frozen_clock):
    s = make_scheduler(clock=frozen_clock, misfire_grace=timedelta(seconds=60))
    s.register("@every 10s", Task("ping"))
    frozen_clock.advance(timedelta(minutes=5, seconds=4))  # 30 ticks missed (a stalled loop)
    assert s.run_once() == 1
    (event, score), = raw_history(r, s.entries()[0].id)
    assert score == frozen_clock.time()  # history holds the enqueue time (asynq)
    assert s.entries()[0].prev_enqueue_at == datetime(2024, 5, 1, 10, 5, 0, tzinfo=UTC)  # latest tick
    assert s.entries()[0].next_enqueue_at == datetime(2024, 5, 1, 10, 5, 10, tzinfo=UTC)


def test_missed_ticks_older_than_grace_are_skipped(r, make_scheduler, frozen_clock):
    s = make_scheduler(clock=frozen_clock, misfire_grace=timedelta(seconds=60))
    s.register("*/5 * * * *", Task("ping"))
    frozen_clock.set(datetime(2024, 5, 1, 10, 22, 30, tzinfo=UTC))  # latest tick 10:20 is 150 s old
    assert s.run_once() == 0
    assert pending_ids(r) == []
    assert s.entries()[0].next_enqueue_at == datetime(2024, 5, 1, 10, 25, tzinfo=UTC)
    frozen_clock.set(datetime(2024, 5, 1, 10, 25, 10, tzinfo=UTC))
    assert s.run_once() == 1


def test_time_zone_option_and_next_runs(make_scheduler, frozen_clock):
    s = make_scheduler(clock=frozen_clock, tz="America/New_York")
    eid = s.register("0 9 * * *", Task("x"))
    utc_id = s.register("CRON_TZ=UTC 0 9 * * *", Task("x"))
    runs = s.next_runs(2)
    assert runs[eid] == [datetime(2024, 5, 1, 13, tzinfo=UTC), datetime(2024, 5, 2, 13, tzinfo=UTC)]
    assert runs[utc_id][0] == datetime(2024, 5, 2, 9, tzinfo=UTC)


def test_heartbeat_writes_asynq_entries(r, make_scheduler, frozen_clock):
    s = make_scheduler(clock=frozen_clock, heartbeat_interval=timedelta(seconds=7))
    deadline = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    eid = s.register("@every 30s", Task("email:digest", {"list": "weekly"}), queue="low", max_retry=3,
                     timeout=timedelta(minutes=30), unique=timedelta(hours=1), deadline=deadline,
                     retention=timedelta(days=1), group="g")
    s.heartbeat_once()
    key = keys.scheduler_entries(s.id)
    assert scheduler_keys(r, now=frozen_clock.time()) == [key]
    assert r.zscore(keys.ALL_SCHEDULERS, key) == frozen_clock.time() + 14
    assert 0 < r.ttl(key) <= 14
    (e,) = raw_entries(r, key)
    assert (e.id, e.spec, e.task_type, e.task_payload) == (eid, "@every 30s", "email:digest",
                                                           b'{"list":"weekly"}')
    assert list(e.enqueue_options) == [
        'Queue("low")', "MaxRetry(3)", "Timeout(30m0s)", "Unique(1h0m0s)",
        "Deadline(Wed Jan  2 03:04:05 UTC 2030)", "Retention(24h0m0s)", 'Group("g")']
    assert is_go_zero(e.prev_enqueue_time)  # never enqueued: Go zero time, "N/A" in asynq's CLI
    assert e.next_enqueue_time.seconds == int(frozen_clock.time()) + 30


def test_task_default_options_are_merged_with_register_options(make_scheduler):
    s = make_scheduler()
    s.register("@daily", Task("x", queue="low", max_retry=1), max_retry=2, timeout=60)
    assert s.entries()[0].opts == ('Queue("low")', "MaxRetry(2)", "Timeout(1m0s)")


def test_hooks(r, make_scheduler, frozen_clock):
    seen = []
    s = make_scheduler(clock=frozen_clock,
                       pre_enqueue=lambda task, opts: seen.append(("pre", task.type, dict(opts))),
                       post_enqueue=lambda info, err: seen.append(("post", info.id if info else None, err)))
    s.register("@every 10s", Task("x"), queue="q")
    frozen_clock.advance(timedelta(seconds=10))
    s.run_once()
    assert seen[0] == ("pre", "x", {"queue": "q"})
    assert seen[1][0] == "post" and seen[1][1] == pending_ids(r, "q")[0] and seen[1][2] is None


def test_pre_hook_error_skips_tick_and_enqueue_error_reaches_post_hook(r, make_scheduler, frozen_clock):
    errors = []

    def pre(task, opts):
        if task.type == "bad":
            raise RuntimeError("no")

    s = make_scheduler(clock=frozen_clock, pre_enqueue=pre, post_enqueue=lambda i, e: errors.append(e))
    s.register("@every 10s", Task("bad"))
    s.register("@every 10s", Task("dup"), task_id="fixed")
    frozen_clock.advance(timedelta(seconds=10))
    assert s.run_once() == 1
    frozen_clock.advance(timedelta(seconds=10))
    assert s.run_once() == 0  # TaskID("fixed") conflicts with the first run (asynq #1055)
    assert len(pending_ids(r)) == 1
    assert errors[0] is None and type(errors[1]).__name__ == "TaskIDConflictError"


def test_stop_clears_entries_and_keeps_history_unless_asked(r, make_scheduler, frozen_clock):
    s = make_scheduler(clock=frozen_clock)
    eid = s.register("@every 10s", Task("x"))
    frozen_clock.advance(timedelta(seconds=10))
    s.run_once()
    s.heartbeat_once()
    s.stop()
    assert not r.exists(keys.scheduler_entries(s.id)) and r.zcard(keys.ALL_SCHEDULERS) == 0
    assert len(raw_history(r, eid)) == 1
    assert 0 < r.ttl(keys.scheduler_history(eid)) <= 30 * 86400
    s.stop(clear_history=True)
    assert raw_history(r, eid) == []


def test_real_time_every_second_smoke(r, make_scheduler):
    s = make_scheduler()
    eid = s.register("@every 1s", Task("tick"))
    s.start()
    assert s.running
    deadline = time.monotonic() + 3.2
    while time.monotonic() < deadline:
        time.sleep(0.1)
    assert [e.id for e in all_raw_entries(r)] == [eid]  # heartbeat written at start
    s.stop()
    assert not s.running
    n = len(pending_ids(r))
    assert 2 <= n <= 4
    assert len(raw_history(r, eid)) == n
    assert all_raw_entries(r) == []


def test_two_real_schedulers_enqueue_once_per_tick(r, make_scheduler):
    a, b = make_scheduler(), make_scheduler()
    eid = a.register("@every 1s", Task("tick"))
    b.register("@every 1s", Task("tick"))
    a.start(), b.start()
    time.sleep(5)
    a.stop(), b.stop()
    ticks = sorted(score for _, score in raw_history(r, eid))
    assert len(ticks) >= 3
    assert len(set(ticks)) == len(ticks)  # no tick recorded twice
    assert len(pending_ids(r)) == len(ticks)  # one task per tick, not two
    locks = list(r.scan_iter("dmq:scheduler:fire:*"))
    assert len(locks) == len(ticks)


def test_running_and_stop_all(make_scheduler):
    from dmq_tools.scheduler import running, stop_all

    a, b = make_scheduler(), make_scheduler()
    a.start(), b.start()
    a.start()  # a second start is a no-op
    assert {id(s) for s in running()} >= {id(a), id(b)}
    assert stop_all() >= 2
    assert not a.running and not b.running and a not in running()


def test_redis_outage_loses_ticks_but_not_the_scheduler(make_redis_process, frozen_clock):
    import redis as redis_lib

    from dmq_tools.scheduler import Scheduler

    proc = make_redis_process()
    conn = redis_lib.Redis.from_url(proc.url, socket_timeout=1, socket_connect_timeout=1)
    s = Scheduler(conn, clock=frozen_clock)
    s.register("@every 10s", Task("x"))
    proc.stop()
    frozen_clock.advance(timedelta(seconds=10))
    assert s.run_once() == 0  # no exception: the tick is skipped with a warning
    proc.restart()
    frozen_clock.advance(timedelta(seconds=10))
    assert s.run_once() == 1
    assert conn.llen(keys.pending("default")) == 1
    s.stop()
