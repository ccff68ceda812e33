"""The ops tools on a Go service's Redis: asynq v0.26 enqueues and works, dmq only reads.

Uses the interop programs of tests/interop (skipped with their reason when Go is absent).
"""

from __future__ import annotations

import asyncio
import subprocess
from urllib.parse import urlsplit

import pytest

import dmq_tools as dmq
from dmq_tools.doctor import OK, WARN, run_doctor
from tests.interop.conftest import go, go_bin  # noqa: F401  (fixtures)

from .conftest import wait_for

pytestmark = pytest.mark.interop


def test_dash_doctor_metrics_on_a_go_service(r, redis_url, go, go_bin):  # noqa: F811
    go("enqueue", "-queue", "goq", "-type", "report:build", "-n", "4", "-payload", '{"i": {i}}')
    go("enqueue", "-queue", "goq", "-type", "bad", "-n", "2")
    parts = urlsplit(redis_url)
    worker = subprocess.Popen([str(go_bin / "worker"), "-addr", f"{parts.hostname}:{parts.port}",
                               "-queues", "goq", "-fail", "bad", "-duration", "60s"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    insp = dmq.Inspector(r)
    try:
        wait_for(lambda: insp.get_queue_info("goq").archived == 2 and insp.get_queue_info("goq").pending == 0,
                 60, "the Go worker to process the tasks")
        wait_for(lambda: insp.servers(), 30, "the Go server's heartbeat")
        go("enqueue", "-queue", "goq", "-type", "report:build", "-process-in", "1h")

        report = run_doctor(insp)
        (w,) = report.by_name("workers")
        assert w.verdict == OK and "goq=1" in w.details[0]
        (f,) = report.by_name("failing-types")   # no dmq event stream: read from the archived tasks
        assert f.verdict == WARN and f.details[0].startswith("bad: 2 failure(s)")

        pytest.importorskip("textual", reason="the tui extra is not installed")
        from textual.widgets import DataTable

        from dmq_tools.tui import DashApp

        async def run() -> None:
            app = DashApp(insp, interval=0.5)
            async with app.run_test(size=(170, 48)) as pilot:
                while not (app.data and app.data.servers):
                    await pilot.pause(0.05)
                row = [getattr(c, "plain", c) for c in app.query_one("#queues", DataTable).get_row("goq")]
                info = insp.get_queue_info("goq")
                assert row[2:8] == [0, 0, 1, 0, 2, 0] and row[8] == info.processed == 6
                servers = app.query_one("#servers", DataTable)
                assert servers.row_count == 1 and "goq=1" in servers.get_row_at(0)[4].plain

        asyncio.run(run())

        pytest.importorskip("prometheus_client", reason="the metrics extra is not installed")
        from prometheus_client import generate_latest
        from prometheus_client.parser import text_string_to_metric_families

        from dmq_tools.metrics import metrics_registry

        text = generate_latest(metrics_registry(insp)).decode()
        got = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
        assert got[("asynq_tasks_processed_total", (("queue", "goq"),))] == 6
        assert got[("asynq_tasks_failed_total", (("queue", "goq"),))] == 2
        assert got[("asynq_tasks_enqueued_total", (("queue", "goq"), ("state", "archived")))] == 2
    finally:
        worker.terminate()
        worker.wait(15)
