"""`dmq stats|queue|task|group|server|export` through click's test runner against real Redis."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from click.testing import CliRunner

from dmq_tools.cli.main import main
from dmq_tools.rdb import keys
from dmq_tools.rdb.wire import decode_task_message
from tests.helpers.seed import (
    msg,
    seed_aggregating,
    seed_archived,
    seed_daily_stats,
    seed_events,
    seed_minutes,
    seed_pending,
    seed_retry,
    seed_scheduled,
    seed_server,
)

UTC = timezone.utc


@pytest.fixture
def dmq(r, redis_url):
    runner = CliRunner()

    def run(*args: str, uri: bool = True):
        full = [*args, "--uri", redis_url] if uri else list(args)
        return runner.invoke(main, full, catch_exceptions=False)

    return run


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_stats_table_and_json(dmq, r):
    seed_pending(r, [msg(), msg()])
    seed_daily_stats(r, "default", {datetime.now(UTC).date(): (4, 1)})
    res = dmq("stats")
    assert res.exit_code == 0 and "default" in res.output and "redis_version" in res.output
    data = _json(dmq("stats", "--json"))
    assert data["by_state"]["pending"] == 2 and data["today"] == {"processed": 4, "failed": 1, "failure_rate": 0.25}
    assert data["queues"][0]["queue"] == "default"


def test_queue_commands(dmq, r):
    seed_pending(r, [msg()])
    seed_daily_stats(r, "default", {datetime.now(UTC).date(): (3, 0)})
    r.sadd(keys.ALL_QUEUES, "empty")
    assert [q["queue"] for q in _json(dmq("queue", "ls", "--json"))] == ["default", "empty"]
    assert _json(dmq("queue", "inspect", "default", "--json"))["pending"] == 1
    hist = _json(dmq("queue", "history", "default", "--days", "2", "--json"))
    assert [h["processed"] for h in hist["default"]] == [3, 0]
    assert dmq("queue", "pause", "default").exit_code == 0 and r.exists(keys.paused("default"))
    again = dmq("queue", "pause", "default")
    assert again.exit_code == 1 and "already paused" in again.output
    assert dmq("queue", "resume", "default").exit_code == 0 and not r.exists(keys.paused("default"))
    busy = dmq("queue", "remove", "default")
    assert busy.exit_code == 1 and "not empty" in busy.output
    assert dmq("queue", "remove", "empty").exit_code == 0
    assert dmq("queue", "remove", "default", "--force").exit_code == 0
    assert r.smembers(keys.ALL_QUEUES) == set()
    assert dmq("queue", "inspect", "nope").exit_code == 1


def test_task_ls_order_and_bad_arguments(dmq, r):
    seed_pending(r, [msg(id=f"t{i}") for i in range(5)])
    page = _json(dmq("task", "ls", "-q", "default", "-s", "pending", "--size", "2", "--page", "2", "--json"))
    assert [t["id"] for t in page] == ["t2", "t3"]
    assert "t0" in dmq("task", "ls", "-q", "default", "-s", "pending").output
    for args in (["task", "ls", "-q", "default", "-s", "sleeping"],
                 ["task", "ls", "-q", "default", "-s", "pending", "--page", "0"],
                 ["task", "ls", "-q", "default", "-s", "aggregating"],
                 ["task", "ls", "-s", "pending"],
                 ["task", "enqueue", "--type", "x", "--timeout", "soon"],
                 ["task", "enqueue", "--type", "x", "--process-at", "tomorrow"],
                 ["task", "enqueue", "--type", "x", "--process-in", "5m", "--process-at", "2030-01-01"],
                 ["task", "runall", "-q", "default", "-s", "pending"],
                 ["queue", "history", "default", "--days", "0"],
                 ["export", "tasks", "-o", "x.csv"],
                 ["export", "bananas", "-o", "x.csv"],
                 ["nosuchcommand"]):
        res = dmq(*args)
        assert res.exit_code == 2, (args, res.output)
        assert "Error" in res.output or "Usage" in res.output
    bad_uri = dmq("queue", "ls", "--uri", "ftp://nowhere", uri=False)
    assert bad_uri.exit_code == 2 and "scheme" in bad_uri.output


def test_unreachable_redis_is_exit_1(dmq):
    from tests.helpers.redis_server import free_port

    res = dmq("queue", "ls", "--uri", f"redis://127.0.0.1:{free_port()}/0", uri=False)
    assert res.exit_code == 1 and "cannot connect" in res.output.lower()


def test_task_inspect_and_single_transitions(dmq, r):
    now = int(time.time())
    seed_scheduled(r, [(msg(id="s1", payload=b'{"k":1}'), now + 100)])
    seed_archived(r, [(msg(id="a1"), now), (msg(id="a2"), now)])
    info = _json(dmq("task", "inspect", "-q", "default", "--id", "s1", "--json"))
    assert info["state"] == "scheduled" and info["payload"] == {"k": 1} and info["timeout"] == 1800.0
    assert "s1" in dmq("task", "inspect", "-q", "default", "--id", "s1").output
    missing = dmq("task", "inspect", "-q", "default", "--id", "zz")
    assert missing.exit_code == 1 and "cannot find task" in missing.output
    assert dmq("task", "run", "-q", "default", "--id", "s1").exit_code == 0
    assert r.hget(keys.task("default", "s1"), "state") == b"pending"
    assert dmq("task", "archive", "-q", "default", "--id", "s1").exit_code == 0
    assert r.hget(keys.task("default", "s1"), "state") == b"archived"
    assert dmq("task", "delete", "-q", "default", "--id", "a1").exit_code == 0
    assert not r.exists(keys.task("default", "a1"))
    res = dmq("task", "cancel", "some-id")
    assert res.exit_code == 0 and "some-id" in res.output


def test_bulk_commands(dmq, r):
    now = int(time.time())
    seed_retry(r, [(msg(), now + i) for i in range(3)])
    seed_pending(r, [msg(), msg()])
    seed_aggregating(r, [(msg(), now)], group="g")
    assert "3 tasks archived" in dmq("task", "archiveall", "-q", "default", "-s", "retry").output
    assert "3 tasks moved" in dmq("task", "runall", "-q", "default", "-s", "archived").output
    assert "1 tasks archived" in dmq("task", "archiveall", "-q", "default", "-s", "aggregating", "-g", "g").output
    assert "5 tasks deleted" in dmq("task", "deleteall", "-q", "default", "-s", "pending").output
    assert r.llen(keys.pending("default")) == 0


def test_task_enqueue_options(dmq, r):
    out = _json(dmq("task", "enqueue", "--type", "email:send", "--payload", '{"to":"a"}', "--queue", "mail",
                    "--retry", "3", "--timeout", "1m30s", "--process-in", "10m", "--retention", "1h",
                    "--id", "my-id", "--unique", "2h", "--json"))
    assert out["id"] == "my-id" and out["state"] == "scheduled"
    m = decode_task_message(r.hget(keys.task("mail", "my-id"), "msg"))
    assert (m.retry, m.timeout, m.retention, m.payload) == (3, 90, 3600, b'{"to":"a"}')
    score = r.zscore(keys.scheduled("mail"), "my-id")
    assert 590 <= score - time.time() <= 610
    assert r.exists(m.unique_key)
    dup = dmq("task", "enqueue", "--type", "email:send", "--payload", '{"to":"a"}', "--queue", "mail",
              "--unique", "2h")
    assert dup.exit_code == 1 and "already exists" in dup.output
    grouped = _json(dmq("task", "enqueue", "--type", "g", "--group", "grp", "--json"))
    assert grouped["state"] == "aggregating"
    assert [g["group"] for g in _json(dmq("group", "ls", "-q", "default", "--json"))] == ["grp"]
    assert "grp" in dmq("group", "ls", "-q", "default").output


def test_server_ls(dmq, r):
    sid = seed_server(r, host="box", pid=42, workers=[msg(id="w1")])
    data = _json(dmq("server", "ls", "--json"))
    assert data[0]["id"] == sid and data[0]["active_workers"][0]["task_id"] == "w1"
    assert "box" in dmq("server", "ls").output


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_tasks_each_format(dmq, r, tmp_path, fmt):
    seed_pending(r, [msg(id=f"t{i}") for i in range(4)])
    seed_retry(r, [(msg(id="r1"), time.time() + 5)])
    path = tmp_path / f"out.{fmt}"
    res = dmq("export", "tasks", "-q", "default", "--format", fmt, "-o", str(path))
    assert res.exit_code == 0 and "Wrote 5 rows" in res.output
    df = {"csv": pd.read_csv, "json": lambda p: pd.DataFrame(json.loads(p.read_text())),
          "parquet": pd.read_parquet}[fmt](path)
    assert list(df["id"]) == ["t0", "t1", "t2", "t3", "r1"] and list(df.columns[:3]) == ["id", "queue", "type"]


def test_export_other_frames(dmq, r, tmp_path):
    seed_pending(r, [msg()])
    seed_daily_stats(r, "default", {datetime.now(UTC).date(): (5, 1)})
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    seed_minutes(r, "default", {now - timedelta(minutes=1): (7, 2)})
    seed_events(r, "default", [(int(time.time() * 1000), {"e": "enqueued", "id": "x", "t": "t"})])
    seed_server(r)
    rows = {}
    for what in ("queues", "history", "events", "throughput", "servers", "scheduler"):
        path = tmp_path / f"{what}.csv"
        res = dmq("export", what, "-o", str(path), *(["--days", "3"] if what == "history" else []))
        assert res.exit_code == 0, (what, res.output)
        rows[what] = pd.read_csv(path) if path.stat().st_size > 1 else pd.DataFrame()
    assert rows["queues"].loc[0, "pending"] == 1
    assert list(rows["history"]["processed"]) == [0, 0, 5]
    assert list(rows["events"]["event"]) == ["enqueued"]
    assert rows["throughput"]["processed"].sum() == 7 and rows["throughput"]["failed"].sum() == 2
    assert len(rows["servers"]) == 1
    bad = dmq("export", "throughput", "-o", str(tmp_path / "t.csv"), "--freq", "fortnightly")
    assert bad.exit_code == 2
