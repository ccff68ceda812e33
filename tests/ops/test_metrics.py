"""/metrics scraped over HTTP and parsed by prometheus_client's own text parser."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import pytest

pytest.importorskip("prometheus_client", reason="the metrics extra is not installed")
from prometheus_client.parser import text_string_to_metric_families

import dmq_tools as dmq
from dmq_tools.metrics import metrics_app, serve_metrics
from tests.helpers.redis_server import free_port
from tests.helpers.seed import seed_totals

from .conftest import wait_for

ASYNQ_NAMES = {"asynq_tasks_enqueued_total", "asynq_queue_size", "asynq_queue_latency_seconds",
               "asynq_queue_memory_usage_approx_bytes", "asynq_tasks_processed_total",
               "asynq_tasks_failed_total", "asynq_queue_paused_total"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def seed(r):
    client = dmq.Client(r)
    for i in range(3):
        client.enqueue(dmq.Task("a", {"i": i}), queue="default")
    client.enqueue_in(dmq.Task("b", None), __import__("datetime").timedelta(hours=1), queue="critical")
    seed_totals(r, "default", 40, 7)
    insp = dmq.Inspector(r)
    insp.pause_queue("critical")
    return insp


def check(text: str, insp) -> None:
    got = samples(text)
    assert {name for name, _ in got} == ASYNQ_NAMES  # exactly asynq's sample names, what dashboards query
    d, c = insp.get_queue_info("default"), insp.get_queue_info("critical")
    assert got[("asynq_tasks_enqueued_total", (("queue", "default"), ("state", "pending")))] == d.pending == 3
    assert got[("asynq_tasks_enqueued_total", (("queue", "critical"), ("state", "scheduled")))] == c.scheduled == 1
    assert got[("asynq_queue_size", (("queue", "default"),))] == d.size == 3
    assert got[("asynq_tasks_processed_total", (("queue", "default"),))] == d.processed_total == 40
    assert got[("asynq_tasks_failed_total", (("queue", "default"),))] == d.failed_total == 7
    assert got[("asynq_queue_paused_total", (("queue", "critical"),))] == 1
    assert got[("asynq_queue_paused_total", (("queue", "default"),))] == 0
    assert got[("asynq_queue_latency_seconds", (("queue", "default"),))] >= 0
    assert got[("asynq_queue_memory_usage_approx_bytes", (("queue", "default"),))] > 0


def test_standalone_server_scrape(r):
    insp = seed(r)
    port = free_port()
    server, _ = serve_metrics(insp, "127.0.0.1", port)
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    finally:
        server.shutdown()
    check(text, insp)


def test_asgi_app_scrape(r):
    starlette = pytest.importorskip("starlette", reason="the api extra is not installed")
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    insp = seed(r)
    app = Starlette(routes=[Mount("/metrics", app=metrics_app(insp))])
    with TestClient(app) as http:
        resp = http.get("/metrics/")
    assert resp.status_code == 200 and starlette
    check(resp.text, insp)


def test_cli_metrics_command(r, redis_url):
    insp = seed(r)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-m", "dmq_tools", "metrics", "--uri", redis_url, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        def scrape():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            except OSError:
                return None
        text = wait_for(scrape, 60, "dmq metrics to listen")
    finally:
        proc.terminate()
        proc.wait(10)
    check(text, insp)
