"""`dmq dash` driven headless by Textual's pilot against a real redis-server."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("textual", reason="the tui extra is not installed")
from textual.widgets import DataTable, Static

import dmq_tools as dmq
from dmq_tools.tui import DashApp
from dmq_tools.tui.data import sparkline
from tests.helpers.seed import seed_minutes, seed_totals

SHOTS = Path(os.environ.get("DMQ_SCREENSHOT_DIR", "/tmp/dmq-dash-screenshots"))


async def until(pilot, cond, timeout: float = 30.0, what: str = "condition"):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def row_of(table: DataTable, key: str) -> list:
    return [getattr(c, "plain", c) for c in table.get_row(key)]


def seed(r):
    client = dmq.Client(r)
    infos = [client.enqueue(dmq.Task("email:deliver", {"to": f"u{i}@example.com"}), queue="default")
             for i in range(7)]
    client.enqueue(dmq.Task("report:build", {"id": 1}), queue="critical")
    client.enqueue_in(dmq.Task("cleanup", None), timedelta(hours=1), queue="low")
    # names and payloads from Redis are shown as text, never parsed as markup
    client.enqueue(dmq.Task("evil[/]", "[red]boom[/red] [/] [link=x]"), queue="low")
    seed_totals(r, "default", 120, 9)
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    seed_minutes(r, "default", {now - timedelta(minutes=m): (m * 3 % 17, m % 3) for m in range(1, 30)})
    return infos


def test_sparkline_scales_to_the_largest():
    assert sparkline([0, 0, 0]) == "   "
    assert sparkline([0, 4, 8]) == " ▄█"


def test_dash_shows_counts_and_actions_change_redis(r):
    infos = seed(r)
    insp = dmq.Inspector(r)

    async def run() -> None:
        app = DashApp(insp, interval=0.5, page_size=5)
        async with app.run_test(size=(170, 48)) as pilot:
            await until(pilot, lambda: app.loads >= 1 and app.data and app.data.page, what="the first load")
            qt = app.query_one("#queues", DataTable)
            d = insp.get_queue_info("default")
            row = row_of(qt, "default")
            assert row[:4] == ["default", "run", d.pending, d.active] and d.pending == 7
            assert row[8] == d.processed and row_of(qt, "low")[2:5] == [1, 0, 1]   # pending, active, scheduled
            assert row[13].strip() != ""                                   # a throughput sparkline
            low = [q for q in insp.queues()].index("low")
            qt.focus()
            qt.move_cursor(row=low)
            await until(pilot, lambda: app.data.page.queue == "low", what="low's tasks")
            assert "evil[/]" in str(app.query_one("#detail", Static).render())
            # the task list of the first queue ("critical", sorted) then "default", paged by 5
            qt.focus()
            qt.move_cursor(row=[q for q in insp.queues()].index("default"))
            await until(pilot, lambda: app.data.page.queue == "default", what="default's tasks")
            title = str(app.query_one("#tasks-title", Static).render())
            assert "default · pending · 7 task(s) · page 1/2" in title
            assert app.query_one("#tasks", DataTable).row_count == 5
            await pilot.press("n")
            await until(pilot, lambda: app.data.page.page == 2, what="page 2")
            assert app.query_one("#tasks", DataTable).row_count == 2
            await pilot.press("b")
            await until(pilot, lambda: app.data.page.page == 1, what="page 1")
            SHOTS.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(str(SHOTS / "dash-queues.svg"))
            # archive the selected task by key
            app.query_one("#tasks", DataTable).focus()
            target = app.selected_task()
            assert target is not None and target.id in {i.id for i in infos}
            assert f"id        {target.id}" in str(app.query_one("#detail", Static).render())
            await pilot.press("a")
            await until(pilot, lambda: insp.get_task_info("default", target.id).state.value == "archived",
                        what="the task archived in Redis")
            await until(pilot, lambda: app.data.page.total == 6, what="the list refreshed")
            # pause the queue by key, then resume
            await pilot.press("p")
            await until(pilot, lambda: insp.get_queue_info("default").paused, what="queue paused in Redis")
            await until(pilot, lambda: row_of(qt, "default")[1] == "paused", what="paused shown")
            # the archived tab: run the task again by key
            await pilot.press("s", "s", "s", "s")   # pending -> active -> scheduled -> retry -> archived
            await until(pilot, lambda: app.data.page.state == "archived" and app.data.page.total == 1,
                        what="the archived list")
            app.save_screenshot(str(SHOTS / "dash-archived.svg"))
            app.query_one("#tasks", DataTable).focus()
            await pilot.press("r")
            await until(pilot, lambda: insp.get_task_info("default", target.id).state.value == "pending",
                        what="the task back to pending")
            await pilot.press("p")
            await until(pilot, lambda: not insp.get_queue_info("default").paused, what="queue resumed")

    asyncio.run(run())


def test_dash_reads_servers_and_scheduler(r):
    seed(r)
    mux = dmq.ServeMux()
    mux.handle("nothing", lambda t: None)
    w = dmq.Worker(r, mux, concurrency=3, queues={"other": 1}, shutdown_timeout=timedelta(seconds=1))
    w.start()
    sched = dmq.Scheduler(r)
    sched.register("@every 1h", dmq.Task("report:build", None), queue="low")
    sched.start()
    insp = dmq.Inspector(r)
    from dmq_tools.alerts import AlertEvaluator, parse_rules

    rules = parse_rules({"rules": [{"name": "backlog", "kind": "queue_depth", "queue": "default",
                                    "threshold": 2, "for": 0}]})
    assert len(AlertEvaluator(insp, rules, []).run_once()) == 1
    try:
        async def run() -> None:
            app = DashApp(insp, interval=0.5)
            async with app.run_test(size=(170, 48)) as pilot:
                await until(pilot, lambda: app.data and app.data.servers and app.data.entries,
                            what="a server and an entry")
                st = app.query_one("#servers", DataTable)
                assert st.row_count == 1 and list(st.get_row_at(0))[2] == 3
                sc = app.query_one("#scheduler", DataTable)
                assert [c.plain for c in sc.get_row_at(0)][1:3] == ["@every 1h", "report:build"]
                app.query_one("#tabs").active = "tab-servers"
                await pilot.pause(0.2)
                app.save_screenshot(str(SHOTS / "dash-servers.svg"))
                at = app.query_one("#alerts", DataTable)
                assert at.row_count == 1 and at.get_row_at(0)[0].plain == "backlog"
                assert "7 pending" in at.get_row_at(0)[3].plain and "1 alerts firing" in app.sub_title
                app.query_one("#tabs").active = "tab-alerts"
                await pilot.pause(0.2)
                app.save_screenshot(str(SHOTS / "dash-alerts.svg"))

        asyncio.run(run())
    finally:
        sched.stop()
        w.stop()


def test_dmq_dash_command_in_a_pseudo_terminal(r, redis_url):
    """The real command in a real terminal: it draws the queue and `q` quits with status 0."""
    import pty
    import select
    import sys
    import time

    dmq.Client(r).enqueue(dmq.Task("a", None), queue="ptyq")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the dmq command
        os.environ.update(TERM="xterm-256color", COLUMNS="150", LINES="40")
        os.execvp(sys.executable, [sys.executable, "-m", "dmq_tools", "dash", "--uri", redis_url])
    out = b""

    def read(seconds: float) -> None:
        nonlocal out
        ready, _, _ = select.select([fd], [], [], seconds)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                pass

    end = time.monotonic() + 60
    while b"ptyq" not in out and time.monotonic() < end:
        read(0.2)
    assert b"ptyq" in out, "the dashboard never drew the queue"
    os.write(fd, b"q")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        read(0.2)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError("`q` did not quit")
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
