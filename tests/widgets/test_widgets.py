"""Every widget builds, refreshes and acts on a real Redis, as the inspector would."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from dmq_tools import TaskState
from dmq_tools.errors import TaskNotFoundError
from dmq_tools.widgets import Dashboard, QueueTable, SchedulerPanel, TaskBrowser, ThroughputChart, WorkerPanel
from tests.helpers import seed
from tests.widgets.conftest import timer_threads


def test_import_without_ipywidgets_names_the_extra(monkeypatch):
    import subprocess
    import sys

    code = ("import sys; sys.modules['ipywidgets'] = None\n"
            "try:\n    import dmq_tools.widgets\nexcept ImportError as e:\n"
            "    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "MissingDependencyError pip install dmq_tools[jupyter]"


def test_queue_table_shows_queues_and_pauses_per_row(inspector, seeded):
    qt = QueueTable(inspector)
    assert qt.table.row_ids == ["critical", "default", "low"]
    assert [i.queue for i in qt.infos] == ["critical", "default", "low"]
    assert qt.info("low").paused and not qt.info("default").paused
    keys = [c["key"] for c in qt.table.columns]
    # all-zero columns are hidden; memory is shown
    assert "active" not in keys and "completed" not in keys and "aggregating" not in keys
    assert {"pending", "scheduled", "retry", "archived", "memory", "latency"} <= set(keys)
    rows = {r["id"]: r for r in qt.table.rows}
    assert rows["low"]["actions"] == ["resume"] and rows["default"]["actions"] == ["pause"]
    qt.table.action("default", "pause")  # the row's Pause button
    assert inspector.get_queue_info("default").paused
    assert {r["id"]: r for r in qt.table.rows}["default"]["cls"] == "dmq-paused"
    qt.table.action("default", "resume")
    assert not inspector.get_queue_info("default").paused
    assert qt.refresh_count >= 3 and "updated" in qt.status.value


def test_queue_row_click_opens_the_state_clicked(inspector, seeded):
    qt = QueueTable(inspector)
    opened = []
    qt.on_open(lambda q, s: opened.append((q, s)))
    qt.table.click("low", "archived")
    qt.table.click("low", "queue")      # the name: the first non-empty state
    qt.table.click("default", "scheduled")
    assert opened == [("low", "archived"), ("low", "retry"), ("default", "scheduled")]
    assert qt.table.selected == "default"


def test_errors_are_shown_in_the_widget_not_raised(inspector, seeded):
    qt = QueueTable(inspector)
    qt.pause("low")  # already paused: the inspector raises, the widget shows it
    assert "dmq-error-msg" in qt.status.value and "pause low failed" in qt.status.value
    assert inspector.get_queue_info("low").paused


def test_refresh_error_from_a_dead_redis_is_shown(make_redis_process):
    import redis

    from dmq_tools.inspector import Inspector

    proc = make_redis_process(persist=False)
    raw = redis.Redis.from_url(proc.url)
    seed.seed_pending(raw, [seed.msg(queue="survivor")], "survivor")
    raw.close()
    insp = Inspector(proc.url)
    qt = QueueTable(insp)
    assert qt.last_error == "" and qt.table.row_ids == ["survivor"]
    proc.stop()
    assert qt.refresh() is False
    assert "refresh failed: ConnectionFailedError" in qt.status.value   # a dmq error naming the address
    assert f"127.0.0.1:{proc.port}" in qt.status.value
    assert qt.table.row_ids == ["survivor"]  # the last good view stays
    d = Dashboard(insp)  # building against a dead server works too: errors land in the status line
    assert d.refresh() is False and "refresh Overview failed: ConnectionFailedError" in d.status.value
    d.close()
    insp.close()


def test_task_browser_pages_and_shows_detail(inspector, seeded):
    tb = TaskBrowser(inspector, queue="default", page_size=20)
    assert tb.state.count == 45 and tb.state.pages == 3
    first_page = [t.id for t in tb.tasks]
    assert first_page == [m.id for m in seeded["default"][:20]]
    tb.next_button.click()
    assert [t.id for t in tb.tasks] == [m.id for m in seeded["default"][20:40]]
    assert tb.page_label.value == "page 2 / 3 · 45 pending"
    tb.table.click(seeded["default"][25].id, "payload")  # a click on the row shows its detail
    assert tb.table.selected == seeded["default"][25].id
    assert tb.detail.id == seeded["default"][25].id
    assert "&quot;w&quot;: 25" in tb.detail_box.value


def test_task_browser_single_actions_change_redis(inspector, seeded):
    tb = TaskBrowser(inspector, queue="low", state="retry")
    victim = seeded["retry"][0].id
    assert {r["id"]: r for r in tb.table.rows}[victim]["actions"] == ["run", "archive", "delete"]
    tb.table.action(victim, "run")
    assert inspector.get_task_info("low", victim).state == TaskState.PENDING
    tb.select("low", "archived")
    arch = seeded["archived"][0].id
    assert tb.state.selected == arch
    tb.table.action(arch, "delete")
    with pytest.raises(TaskNotFoundError):
        inspector.get_task_info("low", arch)
    tb.select("default", "pending", seeded["default"][0].id)
    tb.table.action(seeded["default"][0].id, "archive")
    assert inspector.get_task_info("default", seeded["default"][0].id).state == TaskState.ARCHIVED


def test_task_browser_bulk_action_needs_confirmation(inspector, seeded):
    tb = TaskBrowser(inspector, queue="default")
    tb.delete_all_button.click()
    assert tb.confirm_bar.layout.display == "flex"
    assert inspector.get_queue_info("default").pending == 45  # nothing happened yet
    tb.abort_button.click()
    assert tb.confirm_bar.layout.display == "none" and inspector.get_queue_info("default").pending == 45
    tb.archive_all_button.click()
    assert "Archive all 45 pending" in tb.confirm_text.value
    tb.confirm_button.click()
    info = inspector.get_queue_info("default")
    assert info.pending == 0 and info.archived == 45
    assert "archive: 45 tasks" in tb.status.value


def test_task_browser_batch_action_on_checked_rows(inspector, seeded):
    tb = TaskBrowser(inspector, queue="default")
    assert tb.run_checked_button.disabled and tb.archive_checked_button.disabled
    picked = [m.id for m in seeded["default"][:3]]
    tb.table.checked = picked          # what ticking three checkboxes does
    assert "3 checked" in tb.selection_label.value and not tb.archive_checked_button.disabled
    assert tb.run_checked_button.disabled  # pending tasks cannot be "run"
    tb.archive_checked_button.click()
    assert [inspector.get_task_info("default", i).state for i in picked] == [TaskState.ARCHIVED] * 3
    assert inspector.get_queue_info("default").pending == 42
    assert tb.table.checked == [] and "archive: 3 of 3 tasks" in tb.status.value


def test_task_browser_search_by_id_type_and_payload(inspector, seeded):
    tb = TaskBrowser(inspector, queue="default")
    tb.search.value = '"w": 17'
    assert [t.id for t in tb.tasks] == [seeded["default"][17].id]
    tb.search.value = seeded["default"][3].id[:13]
    assert [t.id for t in tb.tasks] == [seeded["default"][3].id]
    tb.search.value = "IMAGE:res"
    assert tb.state.count == 45
    tb.search.value = "no such thing"
    assert tb.tasks == [] and tb.state.count == 0


def test_task_browser_cancel_publishes_for_active(inspector, r, seeded):
    m = seed.msg("slow:job", b"{}", queue="critical")
    seed.seed_active(r, [m], "critical")
    pubsub = r.pubsub()
    pubsub.subscribe("asynq:cancel")
    pubsub.get_message(timeout=1)
    tb = TaskBrowser(inspector, queue="critical", state="active")
    assert tb.state.selected == m.id and tb.table.rows[0]["actions"] == ["cancel"]
    tb.table.action(m.id, "cancel")
    got = pubsub.get_message(timeout=2)
    assert got and got["data"] == m.id.encode()
    pubsub.close()


def test_worker_panel_read_only_lists_servers_and_failures(inspector, r, seeded):
    running = seed.msg("email:deliver", b'{"to":"z"}', queue="critical")
    seed.seed_server(r, host="gohost", pid=42, queues={"critical": 6, "default": 3}, workers=[running])
    wp = WorkerPanel(inspector)
    assert wp.start_button.disabled
    assert "gohost:42" in wp.servers_box.value and running.type in wp.running_box.value
    # failures come from dmq's events stream; an asynq-written history has none recorded
    assert "No failures recorded." in wp.failures_box.value


def test_worker_panel_failures_from_events_stream(inspector, r, seeded):
    now_ms = int(time.time() * 1000)
    seed.seed_events(r, "default", [
        (now_ms - 2000, {"e": "started", "id": "t1", "t": "image:resize"}),
        (now_ms - 1000, {"e": "retried", "id": "t1", "t": "image:resize", "err": "disk full"}),
        (now_ms - 500, {"e": "succeeded", "id": "t2", "t": "image:resize", "d": "3.5"}),
    ])
    wp = WorkerPanel(inspector)
    failures = wp.recent_failures()
    assert [(e.task_id, e.event, e.error) for e in failures] == [("t1", "retried", "disk full")]
    assert "disk full" in wp.failures_box.value


def test_scheduler_panel_lists_entries_and_validates_spec(inspector, seeded):
    sp = SchedulerPanel(inspector)
    assert "No scheduler entries" in sp.entries_box.value
    sp.spec.value = "*/5 * * * *"
    assert "next:" in sp.preview.value
    sp.spec.value = "not a spec"
    assert "dmq-error-msg" in sp.preview.value
    sp.task_type.value = "report:daily"
    assert sp.register() is None and "register failed" in sp.status.value


def test_throughput_chart_draws_svg_total_per_queue_and_daily(inspector, r, seeded):
    pytest.importorskip("dmq_tools.export")
    from datetime import datetime, timezone

    tc = ThroughputChart(inspector, queue="default", window="15 min")
    assert tc.image.value.startswith("<svg")
    assert int(tc.frame["processed"].sum()) == sum(10 + k for k in range(10))
    assert "processed" in tc.summary.value
    tc.queue_select.value = "critical"
    assert int(tc.frame["processed"].sum()) == 0
    tc.queue_select.value = "(all queues)"
    tc.view_select.value = "per queue"
    assert set(tc.frame["queue"]) == {"critical", "default", "low"} and tc.image.value.startswith("<svg")
    seed.seed_daily_stats(r, "default", {datetime.now(timezone.utc).date(): (70, 7)})
    tc.view_select.value = "daily"
    assert int(tc.frame["processed"].sum()) == 70 and "last 14 days" in tc.summary.value


def test_dashboard_composes_every_panel_in_tabs(inspector, seeded):
    d = Dashboard(inspector)
    assert d.tab.titles == ("Overview", "Tasks", "Workers", "Scheduler", "Charts")
    assert d.queues.table.row_ids == ["critical", "default", "low"]
    s = d.overview.summary
    assert (s.queues, s.paused, s.pending, s.workers_alive) == (3, 1, 48, 0)
    assert "data-card='oldest pending'" in d.overview.cards.value
    assert "<svg class='dmq-stacked'" in d.overview.sizes.value  # stacked queue sizes, vector
    assert "<svg class='dmq-bars'" in d.overview.recent.value     # the seeded minutes of "default"
    spark = {r["id"]: r for r in d.queues.table.rows}["default"]["cells"]["trend"]
    assert spark.startswith("<svg class='dmq-spark'")
    assert d.tasks.refresh_count == 0  # tabs load when shown
    d.tab.selected_index = 1
    assert d.tasks.refresh_count == 1 and d.tasks.table.rows
    d.refresh_button.click()
    assert d.tasks.refresh_count == 2 and d.throughput.refresh_count == 0
    bundle = d._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_auto_refresh_timer_runs_and_stops_on_close(inspector, seeded):
    qt = QueueTable(inspector, interval=0.5)
    qt.interval.value = 0.5
    n0 = qt.refresh_count
    qt.auto_button.value = True
    assert qt.auto_button.description == "Pause" and len(timer_threads()) == 1
    deadline = time.monotonic() + 10
    while qt.refresh_count < n0 + 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert qt.refresh_count >= n0 + 2
    qt.auto_button.value = False
    assert timer_threads() == []
    qt.auto_button.value = True
    qt.auto_button.value = True  # twice: still one thread
    assert len(timer_threads()) == 1
    qt.widget.close()  # closing the widget itself (not the Panel) must stop the timer
    assert timer_threads() == []


def test_auto_refresh_off_by_default_and_close_closes_children(inspector, seeded):
    d = Dashboard(inspector)
    assert d.auto_button.value is False and timer_threads() == []
    d.start_auto_refresh(1.0)
    assert len(timer_threads()) == 1
    d.close()
    assert timer_threads() == []
    assert d.widget.comm is None and d.queues.table.comm is None


def test_queue_click_opens_the_tasks_tab_on_that_state(inspector, seeded):
    d = Dashboard(inspector)
    d.queues.table.click("low", "archived")
    assert d.tab.selected_index == 1
    assert (d.tasks.state.queue, d.tasks.state.state) == ("low", "archived")
    assert [t.id for t in d.tasks.tasks] == [m.id for m in seeded["archived"]]
    assert d.tasks.detail.id == seeded["archived"][0].id and "cannot identify" in d.tasks.detail_box.value


def test_a_new_dashboard_and_stop_all_stop_earlier_timers(inspector, seeded):
    import dmq_tools as dmq

    d1 = Dashboard(inspector)
    d1.start_auto_refresh(1.0)
    d2 = Dashboard(inspector)  # re-running the cell
    assert not d1.timer.running and d1.auto_button.value is False
    d2.start_auto_refresh(1.0)
    assert len(timer_threads()) == 1
    dmq.stop_all()
    assert timer_threads() == [] and d2.auto_button.value is False


def test_worker_panel_starts_and_stops_an_in_notebook_worker(inspector, r, redis_url):
    import dmq_tools as dmq

    mux = dmq.ServeMux()
    done: list[str] = []

    @mux.handle("greet")
    def greet(task):
        done.append(task.json()["name"])
        return {"greeting": "hello " + task.json()["name"]}

    wp = WorkerPanel(inspector, mux=mux, redis=redis_url, concurrency=2, queues="panel=1")
    wp.queues_text.value = "panel=2"
    wp.start_button.click()
    assert len(wp.workers) == 1 and wp.workers[0].is_running
    assert "panel=2" in wp.local_table.rows[0]["cells"]["what"]
    dmq.Client(r).enqueue(dmq.Task("greet", {"name": "ada"}), queue="panel")
    assert wp.workers[0].wait_idle(10)
    deadline = time.monotonic() + 10
    while not done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert done == ["ada"]
    wp.refresh()
    assert wp.local_table.row_ids == [wp.workers[0].id]
    assert "(this kernel)" in wp.servers_box.value
    worker = wp.workers[0]
    wp.stop_button.click()
    assert wp.workers == [] and not worker.is_running
    assert inspector.servers() == []


def test_workers_tab_lists_workers_started_in_code_and_stops_them(inspector, r, redis_url):
    import dmq_tools as dmq

    w = dmq.Worker(redis_url, dmq.ServeMux(), queues={"code": 1}, concurrency=1)
    w.start()
    try:
        wp = WorkerPanel(inspector)
        assert wp.local_table.row_ids == [w.id]
        assert wp.local_table.rows[0]["actions"] == ["stop"]
        wp.local_table.action(w.id, "stop")  # the row's Stop button
        assert not w.is_running and wp.local_table.rows == []
    finally:
        w.stop()


def test_dead_server_on_this_machine_is_marked(inspector, r):
    import socket
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    seed.seed_server(r, host=socket.gethostname(), pid=gone.pid, queues={"x": 1})
    wp = WorkerPanel(inspector)
    assert "dead (process gone)" in wp.servers_box.value


def test_worker_panel_rejects_bad_weights(inspector):
    import dmq_tools as dmq

    wp = WorkerPanel(inspector, mux=dmq.ServeMux())
    wp.queues_text.value = "a=zero"
    assert wp.start_worker() is None and "start failed" in wp.status.value and wp.workers == []


def test_scheduler_panel_registers_an_entry_and_shows_history(inspector, r, redis_url):
    import dmq_tools as dmq

    sched = dmq.Scheduler(redis_url)
    sp = SchedulerPanel(inspector, scheduler=sched)
    sp.spec.value, sp.task_type.value, sp.queue.value = "@every 1s", "report:tick", "reports"
    sp.payload.value = '{"kind": "hourly"}'
    sp.register_button.click()
    entry_ids = [e.id for e in inspector.scheduler_entries()]
    assert len(entry_ids) == 1 and "report:tick" in sp.entries_box.value and "@every 1s" in sp.entries_box.value
    assert "(this kernel)" in sp.entries_box.value  # the owner of the entry is shown
    other = dmq.Scheduler(redis_url)  # a second kernel registering the same entry: two owners
    other.register("@every 1s", dmq.Task("report:tick", {"kind": "hourly"}), queue="reports")
    other.heartbeat_once()
    owners = [o for o, e in inspector.scheduler_entry_owners() if e.id == entry_ids[0]]
    assert sorted(owners) == sorted([sched.id, other.id])
    other.stop()
    assert sched.run_once() in (0, 1)
    sched.start()
    deadline = time.monotonic() + 10
    while not inspector.scheduler_history(entry_ids[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    sp.refresh()
    sched.stop()
    task_id = inspector.scheduler_history(entry_ids[0])[0].task_id
    assert task_id in sp.history_box.value
    assert inspector.get_task_info("reports", task_id).type == "report:tick"


def test_dashboard_without_arguments_connects_like_dmq_connect(redis_url, r, seeded, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    d = Dashboard()
    assert [i.queue for i in d.queues.infos] == ["critical", "default", "low"]
    d.close()


def test_read_only_dashboard_offers_and_performs_no_action(inspector, seeded):
    d = Dashboard(inspector, read_only=True)
    assert d.queues.table.actions == [] and "read-only" in d.header.value
    d.queues.table.action("default", "pause")  # even a crafted message changes nothing
    d.queues.pause("default")
    assert not inspector.get_queue_info("default").paused
    assert "read-only" in d.queues.status.value
    d.open_tasks("default", "pending")
    assert d.tasks.table.checkable is False and d.tasks.table.actions == []
    d.tasks.table.checked = [d.tasks.tasks[0].id]
    assert d.tasks.act_checked("delete") == 0 and inspector.get_queue_info("default").pending == 45
    d.tasks.ask_bulk("delete")
    assert d.tasks.confirm_bulk() is None and inspector.get_queue_info("default").pending == 45
    assert "read-only" in repr(d)


def test_failure_log_is_short_and_rate_limited(caplog):
    import logging

    from dmq_tools.worker.failure_log import FailureLog

    log = logging.getLogger("dmq_tools.worker.test")
    fl = FailureLog(log, "short", burst=3, window=0.2)
    with caplog.at_level(logging.WARNING, logger="dmq_tools.worker.test"):
        for i in range(20):
            try:
                raise ValueError(f"boom {i}\nsecond line")
            except ValueError as exc:
                fl.failed(f"id{i}", "email:deliver", str(exc), exc, expected=False)
        time.sleep(0.25)
        fl.failed("id20", "email:deliver", "late", None, expected=True)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:3] == [f"task id{i} (email:deliver) failed: boom {i} second line" for i in range(3)]
    assert lines[3] == "... 17 more failed tasks in the last 0 s (not shown)"
    assert lines[4] == "task id20 (email:deliver) failed: late" and len(lines) == 5
    assert not any(r.exc_info for r in caplog.records)  # no traceback at WARNING
    full = FailureLog(log, "full")
    with caplog.at_level(logging.WARNING, logger="dmq_tools.worker.test"):
        caplog.clear()
        try:
            raise ValueError("with trace")
        except ValueError as exc:
            full.failed("x", "t", "with trace", exc, expected=False)
    message = caplog.records[0].getMessage()   # the traceback's frames, the message once
    assert message.startswith("task x (t) failed: with trace\nTraceback (most recent call last):")
    assert 'raise ValueError("with trace")' in message and message.endswith("\nValueError")
    with pytest.raises(ValueError):
        FailureLog(log, "loud")


def test_wait_until_and_sandbox(r, redis_url):
    import threading

    import dmq_tools as dmq

    assert dmq.wait_until(lambda: 42, timeout=1) == 42
    with pytest.raises(TimeoutError, match="still false"):
        dmq.wait_until(lambda: 0, timeout=0.2)
    ev = threading.Event()
    threading.Timer(0.05, ev.set).start()
    assert dmq.wait_until(ev, timeout=2) is True
    seed.seed_pending(r, [seed.msg(queue="other-critical")], "other-critical")
    sb = dmq.Sandbox("nbx", redis_url)
    client = dmq.Client(r)
    client.enqueue(dmq.Task("a", {}), queue=sb["critical"])
    client.enqueue(dmq.Task("a", {}), queue=sb["reports"])  # a name outside the defaults
    seed.seed_minutes(r, sb["critical"], {datetime.now(timezone.utc): (5, 1)})
    assert sb.weights(critical=6, low=1) == {"nbx-critical": 6, "nbx-low": 1}
    assert sb.reset() >= 3
    names = {q.decode() for q in r.smembers("asynq:queues")}
    assert names == {"other-critical"}  # only what the sandbox owns was dropped
    assert not [k for k in r.scan_iter("*nbx-*")]
    assert r.llen("asynq:{other-critical}:pending") == 1


def test_a_second_worker_on_the_same_queues_is_warned_about(redis_url, caplog):
    import logging

    import dmq_tools as dmq

    mux = dmq.ServeMux()
    first = dmq.Worker(redis_url, mux, queues={"shared": 1, "a": 1}, concurrency=1)
    second = dmq.Worker(redis_url, mux, queues={"shared": 1, "b": 1}, concurrency=1)  # re-run, new queues=
    try:
        first.start()
        with caplog.at_level(logging.WARNING, logger="dmq_tools.worker"):
            second.start()
        assert first.is_running and second.is_running
        assert any(f"worker {first.id[:8]} also serves shared" in r.getMessage() for r in caplog.records)
    finally:
        second.stop()
        first.stop()


def test_overview_shows_the_alerts_firing_now(inspector, r):
    """An alert an evaluator fired appears as a banner above the cards, and goes when it recovers."""
    from dmq_tools.alerts import AlertEvaluator, parse_rules
    from dmq_tools.widgets.overview import Overview

    r.lpush("asynq:{reports}:pending", "waiting-id")
    r.sadd("asynq:queues", "reports")
    rules = parse_rules({"notifiers": [{"type": "log"}], "rules": [
        {"name": "reports-waiting", "kind": "queue_depth", "queue": "reports", "threshold": 0, "for": "0s",
         "recover_after": "0s"}]})
    ev = AlertEvaluator(inspector, rules)
    ov = Overview(inspector)
    assert ov.alerts.value == ""
    assert [n.status for n in ev.run_once()] == ["firing"]
    ov.refresh()
    assert "1 alert firing" in ov.alerts.value and "reports-waiting" in ov.alerts.value
    r.delete("asynq:{reports}:pending")
    assert [n.status for n in ev.run_once()] == ["resolved"]
    ov.refresh()
    assert ov.alerts.value == ""
