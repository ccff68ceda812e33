"""Cross-checks against Go: robfig/cron v3 (asynq's parser) and asynq v0.26's Inspector.

Needs `go` and the asynq module in the Go module cache (offline build); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from dmq_tools import Task
from dmq_tools.errors import CronSpecError
from dmq_tools.scheduler.cron import parse

pytestmark = pytest.mark.interop
UTC = timezone.utc
GO_DIR = Path(__file__).parent / "go"


@pytest.fixture(scope="module")
def gocron(tmp_path_factory):
    if shutil.which("go") is None:
        pytest.skip("go not installed")
    out = tmp_path_factory.mktemp("gocron") / "dmqcron"
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": os.environ.get("GOPROXY", "off")}
    res = subprocess.run(["go", "build", "-o", str(out), "."], cwd=GO_DIR, env=env,
                         capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        pytest.skip(f"cannot build the Go helper offline: {res.stderr[-300:]}")
    return str(out)


def _go_lines(binary: str, *args: str) -> list[dict]:
    res = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


SPECS = [
    "* * * * *", "*/15 * * * *", "5/20 * * * *", "0 9-17/2 * * mon-fri", "30 12 1,15 * ?",
    "0 0 1 * mon", "0 0 * * sun", "15 3 29 2 *", "0 0 1 JAN,jul *", "@yearly", "@annually",
    "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@every 30s", "@every 1h30m",
    "@every 1.5s", "@every 200ms", "CRON_TZ=America/New_York 0 9 * * *",
    "TZ=Asia/Kolkata 30 */6 * * *", "CRON_TZ=Europe/Berlin @daily",
    "CRON_TZ=America/New_York 30 2 * * *", "CRON_TZ=America/New_York 30 1 * * *",
    "CRON_TZ=America/New_York 0 * * * *", "CRON_TZ=Australia/Lord_Howe 0 2 * * *",
    # rejected by robfig too
    "* * * * 7", "61 * * * *", "* * * *", "@every x", "*/0 * * * *", "5-1 * * * *", "@foo",
]
STARTS = [datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC), datetime(2024, 3, 9, 12, tzinfo=UTC),
          datetime(2024, 11, 2, 12, tzinfo=UTC), datetime(2024, 10, 5, 12, tzinfo=UTC)]


@pytest.mark.parametrize("start", STARTS, ids=lambda s: s.strftime("%Y-%m-%d"))
def test_next_fire_times_match_robfig(gocron, start):
    results = _go_lines(gocron, "next", str(int(start.timestamp())), *SPECS)
    mismatches = []
    for res in results:
        spec = res["spec"]
        if "error" in res:
            with pytest.raises(CronSpecError):
                parse(spec)
            continue
        schedule, t, ours = parse(spec), start, []
        for _ in range(5):
            t = schedule.next(t)
            ours.append(int(t.timestamp()))
        if ours != res["next"]:
            mismatches.append((spec, ours, res["next"]))
    assert not mismatches


def test_asynq_inspector_reads_our_entries_and_history(gocron, r, redis_url, make_scheduler):
    url = urlsplit(redis_url)
    if url.scheme not in ("redis", "") or url.path not in ("", "/", "/0"):
        pytest.skip("the Go helper connects to db 0 over TCP")
    addr = f"{url.hostname}:{url.port or 6379}"
    s = make_scheduler()
    deadline = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    eid = s.register("@every 30s", Task("email:digest", {"a": 1}), queue="low", max_retry=3,
                     timeout=timedelta(minutes=30), unique=timedelta(hours=1), deadline=deadline,
                     retention=timedelta(days=1), process_in=timedelta(seconds=90))
    s.heartbeat_once()
    (entry,) = _go_lines(gocron, "entries", addr)[0]
    assert (entry["id"], entry["spec"], entry["type"], entry["payload"]) == (
        eid, "@every 30s", "email:digest", '{"a":1}')
    # asynq parsed every option string back into an Option (what it cannot parse it drops)
    assert entry["opts"] == ['Queue("low")', "MaxRetry(3)", "Timeout(30m0s)", "Unique(1h0m0s)",
                             "Deadline(Wed Jan  2 03:04:05 UTC 2030)", "Retention(24h0m0s)",
                             "ProcessIn(1m30s)"]
    assert entry["prev_zero"] is True
    assert entry["next"] == int(s.entries()[0].next_enqueue_at.timestamp())
    r_time = datetime(2024, 5, 1, tzinfo=UTC)
    s._rdb.record_scheduler_enqueue_event(eid, "task-1", r_time)
    (events,) = _go_lines(gocron, "history", addr, eid)
    assert events == [{"task_id": "task-1", "at": int(r_time.timestamp())}]
