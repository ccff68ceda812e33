"""Tasks written by asynq v0.26 (Go) are found by our worker's ~1 s poll (no wake token) and
finished with asynq's semantics. Skipped without `go` (fixtures from tests/interop)."""

import time

import pytest

from dmq_tools.rdb import keys
from dmq_tools.rdb.wire import decode_task_message
from dmq_tools.worker import ServeMux, Worker
from tests.interop.conftest import go, go_bin  # noqa: F401 - pytest fixtures
from tests.worker.conftest import fast_config, wait_until

pytestmark = pytest.mark.interop
Q = "interop"


def test_worker_processes_go_enqueued_tasks(r, go):  # noqa: F811
    mux = ServeMux()
    seen = []
    mux.handle("go:task", lambda t: seen.append((t.id, t.json(), t.headers, t.max_retry)))
    w = Worker(r, mux, config=fast_config(queues={Q: 1})).start()
    try:
        out = go("enqueue", "-queue", Q, "-type", "go:task", "-payload", '{"i":{i}}', "-n", "3", "-retry", "7",
                 "-timeout", "45s", "-header", "lang=go")
        assert not r.exists(keys.wake(Q))              # Go pushes no wake token: found by polling
        assert wait_until(lambda: len(seen) == 3 and r.llen(keys.active(Q)) == 0, timeout=20)
        assert {s[0] for s in seen} == {o["id"] for o in out}
        assert all(s[2] == {"lang": "go"} and s[3] == 7 for s in seen)
        assert sorted(s[1]["i"] for s in seen) == [0, 1, 2]
        assert r.get(keys.processed_total(Q)) == b"3"
    finally:
        w.stop(timeout=1)


def test_go_task_failure_keeps_go_fields(r, go):  # noqa: F811
    mux = ServeMux()

    @mux.handle("go:fail")
    def fail(t):
        raise RuntimeError("python says no")

    w = Worker(r, mux, config=fast_config(queues={Q: 1}, retry_delay_func=lambda n, e, t: 3600)).start()
    try:
        out = go("enqueue", "-queue", Q, "-type", "go:fail", "-payload", "{}", "-n", "1", "-retry", "4",
                 "-header", "lang=go")
        tid = out[0]["id"]
        assert wait_until(lambda: r.hget(keys.task(Q, tid), "state") == b"retry", timeout=20)
        m = decode_task_message(r.hget(keys.task(Q, tid), "msg"))
        assert (m.retried, m.retry, m.error_msg, m.headers) == (1, 4, "python says no", {"lang": "go"})
        assert r.zscore(keys.retry(Q), tid) > time.time() + 3000
    finally:
        w.stop(timeout=1)
