"""Handler results and errors: an unserialisable result fails the task with a clear error; a
huge error message is capped in Redis and in the log (a real redis-server, a real worker)."""

from __future__ import annotations

import logging
from datetime import timedelta

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from dmq_tools.worker.running import ERROR_STORE_CAP
from tests.worker.conftest import fast_config, wait_until


def test_an_unserialisable_result_fails_the_task_clearly(r, client):
    mux = ServeMux()

    @mux.handle("job")
    def job(task):
        return {"when": object()}

    info = client.enqueue(dmq.Task("job"), retention=timedelta(hours=1), max_retry=5)
    w = Worker(r, mux, config=fast_config()).start()
    try:
        assert wait_until(lambda: r.zcard(keys.archived("default")) == 1, timeout=15)
    finally:
        w.stop()
    got = dmq.Inspector(r).get_task_info("default", info.id)
    assert getattr(got.state, "value", got.state) == "archived"
    assert "result could not be serialised" in got.last_err and "object" in got.last_err
    assert r.zcard(keys.completed("default")) == 0


def test_a_huge_error_is_capped_where_stored_and_logged(r, client, caplog):
    caplog.set_level(logging.INFO, logger="dmq_tools")
    huge = "x" * (20 * 1024 * 1024)
    mux = ServeMux()

    @mux.handle("job")
    def job(task):
        raise RuntimeError(huge)

    info = client.enqueue(dmq.Task("job"), max_retry=0)
    w = Worker(r, mux, config=fast_config()).start()
    try:
        assert wait_until(lambda: r.zcard(keys.archived("default")) == 1, timeout=15)
    finally:
        w.stop()
    got = dmq.Inspector(r).get_task_info("default", info.id)
    assert len(got.last_err.encode()) <= ERROR_STORE_CAP
    assert got.last_err.startswith("xxx") and "cut" in got.last_err and str(len(huge)) in got.last_err
    assert r.memory_usage(keys.task("default", info.id)) < 4 * ERROR_STORE_CAP
    for _, fields in r.xrange(keys.events("default")):
        assert len(fields.get(b"err", b"")) <= ERROR_STORE_CAP
    logged = [rec.getMessage() for rec in caplog.records if info.id in rec.getMessage()]
    assert logged and all(len(m) < 20_000 for m in logged)
    failed = [m for m in logged if "failed" in m]
    assert failed and failed[0].splitlines()[0].count("x") <= 1100   # the message line is capped
