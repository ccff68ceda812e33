"""Every widget builds, refreshes and acts on a real Redis, as the inspector would."""

from __future__ import annotations

import time

import ipywidgets as W
import pytest

from dmq_tools import TaskState
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


def test_queue_table_shows_queues_and_pauses(inspector, seeded):
    qt = QueueTable(inspector)
    html = qt.table.value
    for q in ("critical", "default", "low"):
        assert f"data-queue='{q}'" in html
    assert [i.queue for i in qt.infos] == ["critical", "default", "low"]
    assert qt.info("low").paused and not qt.info("default").paused
    assert qt.table._dom_classes == ("jp-RenderedHTMLCommon", "dmq-table-box")
    qt.queue_select.value = "default"
    qt.pause_button.click()
    assert inspector.get_queue_info("default").paused
    assert "dmq-paused' data-queue='default'" in qt.table.value
    qt.resume_button.click()
    assert not inspector.get_queue_info("default").paused
    assert qt.refresh_count >= 3 and "updated" in qt.status.value


def test_errors_are_shown_in_the_widget_not_raised(inspector, seeded):
    qt = QueueTable(inspector)
    qt.queue_select.value = "low"
    qt.pause_button.click()  # already paused: the inspector raises, the widget shows it
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
    assert qt.last_error == "" and "data-queue='survivor'" in qt.table.value
    proc.stop()
    assert qt.refresh() is False
    assert "refresh failed: ConnectionFailedError" in qt.status.value   # a dmq error naming the address
    assert f"127.0.0.1:{proc.port}" in qt.status.value
    assert "data-queue='survivor'" in qt.table.value  # the last good view stays
    d = Dashboard(insp)  # building against a dead server works too: errors land in the status line
    assert d.refresh() is False and "refresh Queues failed: ConnectionFailedError" in d.status.value
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
    tb.task_select.value = seeded["default"][25].id
    assert tb.detail.id == seeded["default"][25].id
    assert "&quot;w&quot;: 25" in tb.detail_box.value


def test_task_browser_single_actions_change_redis(inspector, seeded):
    tb = TaskBrowser(inspector, queue="low", state="retry")
    victim = seeded["retry"][0].id
    tb.task_select.value = victim
    tb.run_button.click()
    assert inspector.get_task_info("low", victim).state == TaskState.PENDING
    tb.select("low", "archived")
    arch = seeded["archived"][0].id
    assert tb.state.selected == arch
    tb.delete_button.click()
    with pytest.raises(Exception):
        inspector.get_task_info("low", arch)
    tb.select("default", "pending", seeded["default"][0].id)
    tb.archive_button.click()
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


def test_task_browser_cancel_publishes_for_active(inspector, r, seeded):
    m = seed.msg("slow:job", b"{}", queue="critical")
    seed.seed_active(r, [m], "critical")
    pubsub = r.pubsub()
    pubsub.subscribe("asynq:cancel")
    pubsub.get_message(timeout=1)
    tb = TaskBrowser(inspector, queue="critical", state="active")
    assert tb.state.selected == m.id and not tb.cancel_button.disabled
    tb.cancel_button.click()
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


def test_throughput_chart_draws_a_png(inspector, seeded):
    pytest.importorskip("dmq_tools.export")
    tc = ThroughputChart(inspector, queue="default", window="15 min")
    assert tc.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert int(tc.frame["processed"].sum()) == sum(10 + k for k in range(10))
    assert "processed" in tc.summary.value
    tc.queue_select.value = "critical"
    assert int(tc.frame["processed"].sum()) == 0


def test_dashboard_composes_every_panel_in_tabs(inspector, seeded):
    d = Dashboard(inspector)
    assert d.tab.titles == ("Queues", "Tasks", "Workers", "Scheduler", "Throughput")
    assert "data-queue='critical'" in d.queues.table.value
    assert d.tasks.refresh_count == 0  # tabs load when shown
    d.tab.selected_index = 1
    assert d.tasks.refresh_count == 1 and "data-task-id" in d.tasks.table.value
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
    assert "panel=2" in wp.local_box.value
    dmq.Client(r).enqueue(dmq.Task("greet", {"name": "ada"}), queue="panel")
    assert wp.workers[0].wait_idle(10)
    deadline = time.monotonic() + 10
    while not done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert done == ["ada"]
    wp.refresh()
    assert wp.workers[0].id[:8] in wp.local_box.value
    worker = wp.workers[0]
    wp.stop_button.click()
    assert wp.workers == [] and not worker.is_running
    assert inspector.servers() == []


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
