"""DataFrame exports: columns, dtypes, streaming, files."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from dmq_tools import export
from dmq_tools.errors import ConfigurationError, MissingDependencyError
from dmq_tools.models import TaskInfo, TaskState
from dmq_tools.rdb.wire import pb, to_timestamp
from dmq_tools.rdb import keys
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
)

UTC = timezone.utc
DT = "datetime64[ns, UTC]"
TD = "timedelta64[ns]"

TASK_COLUMNS = ["id", "queue", "type", "payload", "payload_value", "state", "max_retry", "retried",
                "last_err", "last_failed_at", "timeout", "deadline", "group", "next_process_at",
                "is_orphaned", "retention", "completed_at", "result", "result_value", "headers"]


def _every_state(r):
    now = int(time.time())
    seed_pending(r, [msg(id="p1", payload=b'{"to":"a"}'), msg(id="p2", payload=b"\xff\x00")])
    seed_active(r, [msg(id="a1")])
    seed_scheduled(r, [(msg(id="s1", deadline=now + 60), now + 100)])
    seed_retry(r, [(msg(id="r1", error_msg="boom", last_failed_at=now), now + 5)])
    seed_archived(r, [(msg(id="x1"), now)])
    seed_completed(r, [(msg(id="c1", completed_at=now, retention=60), now + 60)], result=b"done")
    seed_aggregating(r, [(msg(id="g1", group_key="grp"), now)], group="grp")


def test_tasks_frame_all_states_columns_and_dtypes(insp, r):
    _every_state(r)
    df = export.tasks_frame(insp, "default")
    assert list(df.columns) == TASK_COLUMNS
    assert len(df) == 8 and set(df["id"]) == {"p1", "p2", "a1", "s1", "r1", "x1", "c1", "g1"}
    assert isinstance(df["state"].dtype, pd.CategoricalDtype)
    assert list(df["state"].cat.categories) == [s.value for s in TaskState]
    assert isinstance(df["queue"].dtype, pd.CategoricalDtype)
    for col in ("last_failed_at", "deadline", "next_process_at", "completed_at"):
        assert str(df[col].dtype) == DT, col
    for col in ("timeout", "retention"):
        assert str(df[col].dtype) == TD, col
    assert str(df["max_retry"].dtype) == "int64" and str(df["is_orphaned"].dtype) == "bool"
    by_id = df.set_index("id")
    assert by_id.loc["p1", "payload"] == b'{"to":"a"}' and by_id.loc["p1", "payload_value"] == {"to": "a"}
    assert by_id.loc["p2", "payload_value"] == b"\xff\x00"
    assert by_id.loc["c1", "result_value"] == "done" and by_id.loc["c1", "retention"] == pd.Timedelta(seconds=60)
    assert by_id.loc["r1", "last_err"] == "boom" and pd.isna(by_id.loc["p1", "deadline"])
    assert by_id.loc["s1", "timeout"] == pd.Timedelta(minutes=30)


def test_tasks_frame_one_state_streams_batches(insp, r):
    seed_pending(r, [msg(id=f"t{i:04d}") for i in range(1234)])
    seen: list[int] = []
    df = export.tasks_frame(insp, "default", "pending", batch_size=500, progress=seen.append)
    assert seen == [500, 500, 234]
    assert list(df["id"]) == [f"t{i:04d}" for i in range(1234)]      # next to run first


def test_tasks_frame_empty_keeps_columns(insp, r):
    r.sadd(keys.ALL_QUEUES, "default")
    df = export.tasks_frame(insp, "default", "retry")
    assert list(df.columns) == TASK_COLUMNS and len(df) == 0
    assert str(df["next_process_at"].dtype) == DT


def test_queues_frame(insp, r):
    _every_state(r)
    seed_daily_stats(r, "default", {datetime.now(UTC).date(): (10, 4)})
    df = export.queues_frame(insp)
    assert list(df.columns[:4]) == ["queue", "memory_usage", "latency", "size"]
    assert df.columns[-1] == "failure_rate" and df.loc[0, "failure_rate"] == 0.4
    assert str(df["latency"].dtype) == TD and str(df["timestamp"].dtype) == DT
    assert df.loc[0, "size"] == 8 and df.loc[0, "pending"] == 2


def test_history_frame(insp, r):
    today = datetime.now(UTC).date()
    seed_daily_stats(r, "default", {today: (10, 5)})
    seed_daily_stats(r, "low", {today - timedelta(days=1): (4, 0)})
    df = export.history_frame(insp, days=3)
    assert list(df.columns) == ["queue", "date", "processed", "failed", "failure_rate"]
    assert len(df) == 6 and str(df["date"].dtype) == DT and isinstance(df["queue"].dtype, pd.CategoricalDtype)
    last = df[df["queue"] == "default"].iloc[-1]
    assert last["date"].date() == today and last["failure_rate"] == 0.5
    assert df[df["queue"] == "default"]["date"].is_monotonic_increasing


def test_events_frame(insp, r):
    seed_pending(r, [msg()])
    seed_pending(r, [msg(queue="low")], queue="low")
    t0 = 1_767_225_600_000
    seed_events(r, "default", [(t0, {"e": "started", "id": "a", "t": "x"}),
                               (t0 + 2000, {"e": "succeeded", "id": "a", "t": "x", "d": "2000"})])
    seed_events(r, "low", [(t0 + 1000, {"e": "failed", "id": "b", "t": "y", "err": "bad"})])
    df = export.events_frame(insp)
    assert list(df.columns) == ["time", "queue", "event", "task_id", "type", "duration", "worker", "error"]
    assert list(df["task_id"]) == ["a", "b", "a"]
    assert str(df["time"].dtype) == DT and str(df["duration"].dtype) == TD
    assert isinstance(df["event"].dtype, pd.CategoricalDtype)
    assert df.loc[2, "duration"] == pd.Timedelta(seconds=2)
    since = datetime.fromtimestamp((t0 + 500) / 1000, UTC)
    assert list(export.events_frame(insp, "default", since=since)["event"]) == ["succeeded"]
    assert list(export.events_frame(insp, limit=1)["event"]) == ["succeeded"]


def test_throughput_frame_resampled(insp, r):
    seed_pending(r, [msg()])
    seed_pending(r, [msg(queue="low")], queue="low")
    until = datetime(2026, 5, 1, 12, 9, 30, tzinfo=UTC)
    seed_minutes(r, "default", {datetime(2026, 5, 1, 12, m, tzinfo=UTC): (10, 1) for m in range(10)})
    seed_minutes(r, "low", {datetime(2026, 5, 1, 12, 3, tzinfo=UTC): (10, 9)})
    df = export.throughput_frame(insp, freq="5min", window=timedelta(minutes=10), until=until)
    assert list(df.columns) == ["time", "processed", "failed", "failure_rate"]
    assert str(df["time"].dtype) == DT
    assert [t.strftime("%H:%M") for t in df["time"]] == ["11:55", "12:00", "12:05"]
    assert list(df["processed"]) == [0, 60, 50] and list(df["failed"]) == [0, 14, 5]
    assert df.loc[1, "failure_rate"] == pytest.approx(14 / 60) and df.loc[0, "failure_rate"] == 0.0
    per_queue = export.throughput_frame(insp, freq="1min", window=timedelta(minutes=10), until=until,
                                        by_queue=True)
    assert list(per_queue.columns) == ["time", "queue", "processed", "failed", "failure_rate"]
    assert per_queue[per_queue["queue"] == "low"]["processed"].sum() == 10
    only_low = export.throughput_frame(insp, "low", window=timedelta(minutes=10), until=until)
    assert only_low["processed"].sum() == 10 and only_low["failed"].sum() == 9


def test_servers_and_scheduler_frames(insp, r):
    seed_server(r, host="h", pid=1, workers=[msg(id="w1"), msg(id="w2")])
    df = export.servers_frame(insp)
    assert list(df.columns) == ["id", "host", "pid", "concurrency", "queues", "strict_priority", "started",
                                "status", "active_workers", "active_worker_count"]
    assert df.loc[0, "active_worker_count"] == 2 and str(df["started"].dtype) == DT
    entry = pb.SchedulerEntry(id="e1", spec="@daily", task_type="t", task_payload=b"{}")
    entry.next_enqueue_time.CopyFrom(to_timestamp(datetime(2030, 1, 1, tzinfo=UTC)))
    entry.prev_enqueue_time.CopyFrom(to_timestamp(None))
    r.zadd(keys.ALL_SCHEDULERS, {keys.scheduler_entries("s1"): int(time.time()) + 20})
    r.lpush(keys.scheduler_entries("s1"), entry.SerializeToString())
    sf = export.scheduler_frame(insp)
    assert list(sf.columns) == ["id", "spec", "task_type", "task_payload", "task_payload_value", "opts",
                                "next_enqueue_at", "prev_enqueue_at"]
    assert sf.loc[0, "next_enqueue_at"] == pd.Timestamp("2030-01-01", tz="UTC")
    assert pd.isna(sf.loc[0, "prev_enqueue_at"])


def test_to_frame_generic_and_empty():
    info = TaskInfo(id="1", queue="q", type="t", payload=b"x", state=TaskState.RETRY)
    df = export.to_frame([info])
    assert df.loc[0, "state"] == "retry" and df.loc[0, "payload_value"] == "x"
    with pytest.raises(ConfigurationError):
        export.to_frame([])
    assert list(export.to_frame([], TaskInfo).columns) == TASK_COLUMNS


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_write_frame_formats(insp, r, tmp_path, fmt):
    _every_state(r)
    df = export.tasks_frame(insp, "default")
    path = tmp_path / f"tasks.{fmt}"
    export.write_frame(df, str(path), fmt)
    if fmt == "csv":
        back = pd.read_csv(path)
    elif fmt == "json":
        back = pd.DataFrame(json.loads(path.read_text()))
    else:
        back = pd.read_parquet(path)
    assert list(back.columns) == TASK_COLUMNS and len(back) == 8
    row = back.set_index("id").loc["p1"]
    assert row["payload"] == '{"to":"a"}'
    assert back.set_index("id").loc["p2", "payload"].startswith("base64:")
    with pytest.raises(ConfigurationError):
        export.write_frame(df, str(path), "xlsx")


def test_missing_pandas_raises_with_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"pip install dmq_tools\[pandas\]"):
        export.to_frame([TaskInfo(id="1", queue="q", type="t", payload=None, state=TaskState.PENDING)])
