"""`dmq scheduler` and `dmq cron ls|history` with click's CliRunner (and one real process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from dmq_tools import Task
from dmq_tools.cli.main import main
from tests.helpers.scheduler_raw import all_raw_entries, pending_ids, seed_history


@pytest.fixture
def cli(redis_url):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [*args, "--uri", redis_url], catch_exceptions=False)

    return invoke


def test_cron_ls_table_and_json(r, cli, make_scheduler):
    s = make_scheduler()
    eid = s.register("@every 30s", Task("email:digest", {"a": 1}), queue="low")
    s.heartbeat_once()
    out = cli("cron", "ls")
    assert out.exit_code == 0, out.output
    assert eid in out.output and "email:digest" in out.output and "N/A" in out.output
    data = json.loads(cli("cron", "ls", "--json").output)
    assert [(d["id"], d["spec"], d["opts"], d["prev_enqueue_at"]) for d in data] == [
        (eid, "@every 30s", ['Queue("low")'], None)]


def test_cron_history_pages_and_json(r, cli):
    seed_history(r, "e1", 5)
    data = json.loads(cli("cron", "history", "e1", "other", "--size", "2", "--page", "2", "--json").output)
    assert [ev["task_id"] for ev in data["e1"]] == ["task-2", "task-1"]
    assert data["other"] == []
    out = cli("cron", "history", "e1")
    assert out.exit_code == 0 and "task-4" in out.output and "Entry e1" in out.output


@pytest.mark.parametrize("args", [
    ["cron", "history"],
    ["cron", "history", "e1", "--page", "0"],
    ["cron", "history", "e1", "--size", "x"],
    ["cron", "nope"],
    ["scheduler"],
    ["scheduler", "--config", "/does/not/exist.yaml"],
])
def test_bad_arguments_exit_2(cli, args):
    assert cli(*args).exit_code == 2


def test_scheduler_bad_file_or_spec_exit_2(cli, tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("- {cron: '61 * * * *', task: x}\n")
    out = cli("scheduler", "--config", str(bad), "--dry-run")
    assert out.exit_code == 2 and "61 * * * *" in out.output
    bad.write_text("- {cron: '@daily'}\n")
    assert cli("scheduler", "--config", str(bad)).exit_code == 2
    good = tmp_path / "g.yaml"
    good.write_text("- {cron: '@daily', task: x}\n")
    assert cli("scheduler", "--config", str(good), "--heartbeat", "0.1s").exit_code == 2


def test_scheduler_dry_run(cli, tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("- {cron: 'CRON_TZ=UTC 0 0 1 1 *', task: happy:new-year}\n")
    out = cli("scheduler", "--config", str(p), "--dry-run")
    assert out.exit_code == 0 and "happy:new-year" in out.output and "-01-01 00:00:00" in out.output


def test_scheduler_process_runs_and_cleans_up_on_sigterm(r, redis_url, tmp_path):
    p = tmp_path / "schedule.yaml"
    p.write_text("- {cron: '@every 1s', task: tick, options: {queue: cli}}\n")
    env = {**os.environ, "REDIS_URL": redis_url}
    proc = subprocess.Popen([sys.executable, "-m", "dmq_tools.cli.main", "scheduler", "--config", str(p)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 15
        while time.monotonic() < end and (len(pending_ids(r, "cli")) < 2 or not all_raw_entries(r)):
            time.sleep(0.1)
        assert [e.task_type for e in all_raw_entries(r)] == ["tick"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()
    assert len(pending_ids(r, "cli")) >= 2
    assert all_raw_entries(r) == []  # entries cleared on stop
