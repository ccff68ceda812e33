"""PeriodicTaskManager: provider sync (diff by entry key), file configs, invalid configs."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools import Task
from dmq_tools.errors import ConfigurationError, CronSpecError
from dmq_tools.scheduler import PeriodicTaskConfig, PeriodicTaskManager, load_configs
from tests.helpers.scheduler_raw import pending_ids

UTC = timezone.utc


@pytest.fixture
def make_manager(r):
    made = []

    def make(**kwargs):
        m = PeriodicTaskManager(r, **kwargs)
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()


def test_sync_registers_only_changed_entries(r, make_manager, frozen_clock):
    configs = [
        {"cron": "@every 10s", "task": "a", "payload": {"n": 1}},
        PeriodicTaskConfig("*/5 * * * *", Task("b"), {"queue": "low"}),
    ]
    m = make_manager(provider=lambda: configs, clock=frozen_clock)
    first = m.sync()
    assert (first.added, first.removed, first.unchanged) == (2, 0, 0)
    ids = {e.task_type: e.id for e in m.entries()}
    frozen_clock.advance(timedelta(seconds=10))
    assert m.scheduler.run_once() == 1  # "a" fired: its entry now has a prev time
    configs[1] = PeriodicTaskConfig("*/10 * * * *", Task("b"), {"queue": "low"})  # changed
    configs.append({"cron": "@hourly", "task": "c", "options": {"max_retry": 2}})  # added
    result = m.sync()
    assert (result.added, result.removed, result.unchanged) == (2, 1, 1)
    after = {e.task_type: e for e in m.entries()}
    assert after["a"].id == ids["a"] and after["a"].prev_enqueue_at is not None  # kept as it was
    assert after["b"].id != ids["b"] and after["b"].spec == "*/10 * * * *"
    assert after["c"].opts == ("MaxRetry(2)",)
    assert m.sync() == type(result)(0, 0, 3)


def test_invalid_config_fails_the_sync_and_keeps_entries(make_manager):
    configs = [{"cron": "@daily", "task": "a"}]
    m = make_manager(provider=lambda: configs)
    m.sync()
    before = m.entries()
    configs.append({"cron": "99 * * * *", "task": "b"})
    configs[0] = {"cron": "@hourly", "task": "a"}
    with pytest.raises(CronSpecError):
        m.sync()
    assert m.entries() == before


def test_start_raises_on_invalid_config(make_manager):
    m = make_manager(provider=lambda: [{"cron": "@daily"}])
    with pytest.raises(ConfigurationError, match="task"):
        m.start()
    with pytest.raises(ConfigurationError, match="callable or file"):
        PeriodicTaskManager(provider=None)  # type: ignore[arg-type]


def test_background_sync_skips_bad_configs_with_a_log(make_manager, caplog):
    state = {"configs": [{"cron": "@daily", "task": "a"}]}
    calls = threading.Semaphore(0)

    def provider():
        calls.release()
        return state["configs"]

    m = make_manager(provider=provider, sync_interval=timedelta(seconds=0.05))
    with caplog.at_level(logging.ERROR, logger="dmq_tools.scheduler.periodic"):
        m.start()
        assert calls.acquire(timeout=5)
        state["configs"] = [{"cron": "@daily", "task": "a", "options": {"priority": 1}}]
        for _ in range(3):
            assert calls.acquire(timeout=5)
        assert [e.task_type for e in m.entries()] == ["a"]
        state["configs"] = [{"cron": "@daily", "task": "b"}]
        for _ in range(3):
            assert calls.acquire(timeout=5)
        assert [e.task_type for e in m.entries()] == ["b"]
    assert any("sync skipped" in rec.getMessage() and "priority" in rec.getMessage()
               for rec in caplog.records)


YAML = """
- cron: "*/5 * * * *"
  task: email:digest
  payload: {"list": "weekly"}
  options:
    queue: low
    max_retry: 3
    timeout: 30m
    unique: 1h
    retention: 86400
    deadline: "2030-01-02T03:04:05+00:00"
- cron: "CRON_TZ=Europe/Paris 0 9 * * mon-fri"
  task: report:daily
"""

TOML = """
[[tasks]]
cron = "@every 30s"
task = "ping"
payload = "hello"
options = { queue = "critical", timeout = "1m30s" }
"""


def test_load_yaml_and_toml(tmp_path):
    y = tmp_path / "schedule.yaml"
    y.write_text(YAML)
    a, b = load_configs(y)
    assert (a.cron, a.task.type, a.task.payload) == ("*/5 * * * *", "email:digest", b'{"list":"weekly"}')
    assert a.options == {"queue": "low", "max_retry": 3, "timeout": timedelta(minutes=30),
                         "unique": timedelta(hours=1), "retention": timedelta(days=1),
                         "deadline": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert (b.cron, b.task.type, b.task.payload, b.options) == (
        "CRON_TZ=Europe/Paris 0 9 * * mon-fri", "report:daily", None, {})
    t = tmp_path / "schedule.toml"
    t.write_text(TOML)
    (c,) = load_configs(t)
    assert (c.cron, c.task.payload, c.options) == ("@every 30s", b"hello",
                                                  {"queue": "critical", "timeout": timedelta(seconds=90)})


@pytest.mark.parametrize("text,match", [
    ("- cron: '@daily'\n", "task"),
    ("- task: x\n", "cron"),
    ("- {cron: '@daily', task: x, options: {timeout: 5 minutes}}\n", "bad duration"),
    ("- {cron: '@daily', task: x, options: {deadline: '2030-01-01'}}\n", "UTC offset"),
    ("- {cron: '@daily', task: x, color: red}\n", "unknown key"),
    ("cron: x\n", "list"),
    ("- [unclosed\n", "invalid YAML"),
])
def test_bad_files(tmp_path, text, match):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(ConfigurationError, match=match):
        load_configs(p)


def test_manager_from_file_fires(r, tmp_path, make_manager, frozen_clock):
    p = tmp_path / "schedule.yml"
    p.write_text("- {cron: '@every 10s', task: ping, options: {queue: q1}}\n")
    m = make_manager(provider=str(p), clock=frozen_clock)
    m.sync()
    frozen_clock.advance(timedelta(seconds=10))
    assert m.scheduler.run_once() == 1
    assert len(pending_ids(r, "q1")) == 1
    p.write_text("[]\n")
    assert m.sync().removed == 1 and m.entries() == []
