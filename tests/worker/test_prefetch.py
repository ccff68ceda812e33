"""Tasks leased ahead (prefetch) behave as in asynq: the timeout counts from the start of the
handler, they are not reported as running workers, and stop() gives them back at once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.worker.conftest import fast_config, wait_until


def test_a_leased_ahead_task_does_not_burn_its_timeout(r, client):
    began: dict[str, float] = {}
    done: list[str] = []
    mux = ServeMux()

    @mux.handle("slow")
    def slow(task):
        began[task.id] = time.time()
        time.sleep(3.0)
        done.append(task.id)

    @mux.handle("quick")
    def quick(task):
        began[task.id] = time.time()
        assert task.deadline.timestamp() >= began[task.id] + 1   # counted from now, not the lease
        done.append(task.id)

    a = client.enqueue(dmq.Task("slow"), max_retry=0)
    b = client.enqueue(dmq.Task("quick"), timeout=timedelta(seconds=2), max_retry=0)
    w = Worker(r, mux, config=fast_config(concurrency=1)).start()
    try:
        # both are leased in the first round trip (capacity = concurrency + prefetch = 2)
        assert wait_until(lambda: r.llen(keys.active("default")) == 2 or len(done) > 0, timeout=10)
        assert wait_until(lambda: len(done) == 2 or r.zcard(keys.archived("default")) > 0, timeout=20)
    finally:
        w.stop()
    assert done == [a.id, b.id]
    assert r.zcard(keys.archived("default")) == 0
    assert began[b.id] >= began[a.id] + 3.0


def test_leased_ahead_tasks_are_not_reported_as_workers(r, client):
    mux = ServeMux()
    began: dict[str, float] = {}

    @mux.handle("job")
    def job(task):
        began[task.id] = time.time()
        time.sleep(1.5)

    for _ in range(8):
        client.enqueue(dmq.Task("job"))
    insp = dmq.Inspector(r)
    w = Worker(r, mux, config=fast_config(concurrency=2)).start()
    seen = []
    try:
        assert wait_until(lambda: r.llen(keys.active("default")) == 4, timeout=10)   # 2 run, 2 wait
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            counts = {s.server_id: s.active_worker_count for s in insp.rdb.list_servers()}
            for s in insp.servers():
                if s.id == w.id:
                    seen.append((s.active_workers, counts.get(s.id)))
            time.sleep(0.1)
    finally:
        w.stop()
    assert seen
    for workers, count in seen:
        assert len(workers) <= 2 and count is not None and count <= 2, (workers, count)   # `asynq server ls`
        for wk in workers:   # the start time is the handler's, not the lease's
            assert abs(wk.started.timestamp() - began[wk.task_id]) < 1.0


def test_stop_gives_leased_ahead_tasks_back_at_once(r, client):
    mux = ServeMux()
    started = threading.Event()

    @mux.handle("job")
    def job(task):
        started.set()
        task.cancelled.wait(10)

    first = client.enqueue(dmq.Task("job"))
    second = client.enqueue(dmq.Task("job"))
    w = Worker(r, mux, config=fast_config(concurrency=1, shutdown_timeout=timedelta(seconds=4))).start()
    assert started.wait(10)
    assert wait_until(lambda: r.llen(keys.active("default")) == 2, timeout=10)
    t0 = time.monotonic()
    stopper = threading.Thread(target=w.stop)
    stopper.start()
    try:
        assert wait_until(lambda: r.lrange(keys.pending("default"), 0, -1) == [second.id.encode()], timeout=3)
        assert time.monotonic() - t0 < 1.5
        assert r.lrange(keys.active("default"), 0, -1) == [first.id.encode()]   # still running
    finally:
        stopper.join(15)
    assert not stopper.is_alive()
