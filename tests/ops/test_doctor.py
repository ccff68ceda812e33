"""`dmq doctor` against real broken setups on real redis-servers (no mocks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import dmq_tools as dmq
from dmq_tools.config import Settings
from dmq_tools.doctor import FAIL, OK, WARN, run_doctor
from tests.helpers.seed_worker import message, seed_active

from .conftest import wait_for


def verdicts(report, name):
    return [c.verdict for c in report.by_name(name)]


def test_healthy_setup_has_no_failure(r, start_worker):
    mux = dmq.ServeMux()
    mux.handle("email:deliver", lambda t: None)
    start_worker(mux, {"default": 1})
    client = dmq.Client(r)
    client.enqueue(dmq.Task("email:deliver", {"to": "a@example.com"}), queue="default")
    insp = dmq.Inspector(r)
    wait_for(lambda: insp.get_queue_info("default").processed == 1, what="the task processed")
    report = run_doctor(insp, handlers=mux)
    assert not [c for c in report.checks if c.verdict == FAIL], report.checks
    assert verdicts(report, "workers") == [OK]
    assert verdicts(report, "handlers") == [OK]
    assert verdicts(report, "failing-types") == [OK]
    assert verdicts(report, "stuck-active") == [OK]
    assert verdicts(report, "eviction") == [OK]
    assert not report.needs_action()


def test_queue_without_worker_and_worker_disabled(r, start_worker):
    mux = dmq.ServeMux()
    mux.handle("email:deliver", lambda t: None)
    client = dmq.Client(r)
    client.enqueue(dmq.Task("report:build", None), queue="reports")
    insp = dmq.Inspector(r)
    report = run_doctor(insp, Settings(worker_enabled=False))
    (w,) = report.by_name("workers")
    assert w.verdict == FAIL and "reports" in w.summary and "QUEUE_WORKER_ENABLED=false" in w.fix
    start_worker(mux, {"default": 1})
    wait_for(lambda: insp.servers(), what="the worker's heartbeat")
    report = run_doctor(insp)
    (u,) = report.by_name("unserved-queue")
    assert u.verdict == FAIL and "'reports' has 1 pending" in u.summary
    assert report.needs_action()


def test_missing_handler_from_failures_and_from_app(r, start_worker):
    mux = dmq.ServeMux()
    mux.handle("email:deliver", lambda t: None)
    client = dmq.Client(r)
    client.enqueue(dmq.Task("image:resize", {"w": 10}), queue="default", max_retry=0)
    start_worker(mux, {"default": 1})
    insp = dmq.Inspector(r)
    wait_for(lambda: insp.get_queue_info("default").archived == 1, what="the task archived")
    (h,) = run_doctor(insp).by_name("handlers")
    assert h.verdict == FAIL and "image:resize" in h.summary
    # a queued task of an unknown type is found by checking the app's handlers
    client.enqueue(dmq.Task("pdf:render", None), queue="low")
    (h,) = run_doctor(insp, handlers=mux).by_name("handlers")
    assert h.verdict == FAIL and "pdf:render" in h.summary and "image:resize" in h.summary


def test_failing_type_with_top_error(r, start_worker):
    mux = dmq.ServeMux()

    def broken(task):
        raise ValueError("smtp refused: mailbox full")

    mux.handle("email:deliver", broken)
    client = dmq.Client(r)
    for _ in range(3):
        client.enqueue(dmq.Task("email:deliver", None), queue="default", max_retry=0)
    start_worker(mux, {"default": 1})
    insp = dmq.Inspector(r)
    wait_for(lambda: insp.get_queue_info("default").archived == 3, what="three failures")
    (f,) = run_doctor(insp, handlers=mux).by_name("failing-types")
    assert f.verdict == WARN and "email:deliver" in f.summary
    assert "smtp refused: mailbox full" in f.details[0] and "x3" in f.details[0]


def test_paused_queue_and_expired_lease(r):
    client = dmq.Client(r)
    client.enqueue(dmq.Task("a", None), queue="default")
    insp = dmq.Inspector(r)
    insp.pause_queue("default")
    seed_active(r, message("email:deliver", queue="critical"), lease_expiry=time.time() - 120)
    report = run_doctor(insp)
    (p,) = report.by_name("paused")
    assert p.verdict == WARN and "default" in p.summary and "dmq queue resume default" in p.fix
    (s,) = report.by_name("stuck-active")
    assert s.verdict == FAIL and "critical (1)" in s.summary


def test_allkeys_lru_and_cli_exit_status(make_redis_process):
    proc = make_redis_process(persist=False)
    import redis

    rr = redis.Redis.from_url(proc.url)
    rr.config_set("maxmemory", "64mb")
    rr.config_set("maxmemory-policy", "allkeys-lru")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-m", "dmq_tools", "doctor", "--json", "--uri", proc.url],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["verdict"] == FAIL
    ev = next(c for c in data["checks"] if c["name"] == "eviction")
    assert ev["verdict"] == FAIL and "allkeys-lru" in ev["summary"] and "noeviction" in ev["fix"]
    redis_check = next(c for c in data["checks"] if c["name"] == "redis")
    assert f"127.0.0.1:{proc.port}" in redis_check["summary"]
    # fixed: exit status 0 (warnings only: this test server does not persist)
    rr.config_set("maxmemory-policy", "noeviction")
    out = subprocess.run([sys.executable, "-m", "dmq_tools", "doctor", "--uri", proc.url],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "persistence" in out.stdout and "appendonly" in out.stdout


def test_unreachable_redis_fails(make_redis_process):
    proc = make_redis_process(persist=False)
    url = proc.url
    proc.stop()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-m", "dmq_tools", "doctor", "--json", "--uri", url],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 1
    assert json.loads(out.stdout)["checks"][0]["summary"].startswith("Redis unreachable")


def test_backlog_and_clock_skew(r):
    from tests.helpers.seed import seed_server
    from tests.helpers.seed_worker import seed_pending

    m = seed_pending(r, message("report:build", queue="reports"))
    from dmq_tools.rdb import keys

    r.hset(keys.task("reports", m.id), "pending_since", (time.time_ns() - 600 * 10**9))
    # a worker whose clock runs 10 minutes ahead: its heartbeat expiry is far in Redis' future
    seed_server(r, host="skewed", pid=7, queues={"reports": 1}, expires_at=int(time.time()) + 610)
    report = run_doctor(dmq.Inspector(r))
    (b,) = report.by_name("backlog")
    assert b.verdict == WARN and "'reports'" in b.summary and "waits 6" in b.summary
    (c,) = report.by_name("clock")
    assert c.verdict == FAIL and any("skewed:7" in d for d in c.details) and "NTP" in c.fix


def test_go_service_queue_failures_from_last_errors(r):
    """asynq (Go) writes no event stream: the doctor reads the retry tasks' last errors."""
    from tests.helpers.seed import msg, seed_retry

    seed_retry(r, [(msg("pdf:render", queue="go", error_msg="wkhtmltopdf: exit 1", retried=2), time.time() + 60)
                   for _ in range(2)], "go")
    (f,) = run_doctor(dmq.Inspector(r)).by_name("failing-types")
    assert f.verdict == WARN and "pdf:render: 2 failure(s)" in f.details[0]
    assert "wkhtmltopdf: exit 1 (x2)" in f.details[0]


def test_backlog_growing_from_enqueue_and_processing_rates(r, start_worker):
    mux = dmq.ServeMux()
    mux.handle("slow", lambda t: time.sleep(0.05))
    client = dmq.Client(r)
    insp = dmq.Inspector(r)
    start_worker(mux, {"default": 1})
    client.enqueue(dmq.Task("slow", None), queue="default")
    wait_for(lambda: insp.get_queue_info("default").processed >= 1, what="one task processed")
    client.enqueue_many([dmq.Task("slow", None) for _ in range(200)], queue="critical")  # nobody serves it
    (b,) = [c for c in run_doctor(insp).by_name("backlog") if "'critical'" in c.summary]
    assert b.verdict == WARN and "enqueued vs 0.0 processed per minute" in b.summary
