"""A Redis stall longer than the command timeout (DEBUG SLEEP, or SIGSTOP/SIGCONT of a
redis-server this test started): tasks leased around the stall run within seconds after it,
without using a retry, and an idle worker's wait never outlasts the command timeout."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta

import redis

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.worker.conftest import fast_config, wait_until

N = 20


def _setup(make_redis_process, check_interval: float):
    server = make_redis_process(persist=False)
    observer = redis.Redis.from_url(server.url)
    worker_redis = redis.Redis.from_url(server.url, socket_timeout=1.0, socket_connect_timeout=1.0)
    runs: dict[str, int] = {}
    lock = threading.Lock()
    mux = ServeMux()

    @mux.handle("job")
    def job(task):
        time.sleep(0.02)
        with lock:
            runs[task.id] = task.retry_count

    observer.set(keys.paused("default"), 1)      # tasks wait while the worker idles
    infos = dmq.Client(observer).enqueue_many([dmq.Task("job", {"i": i}) for i in range(N)])
    cfg = fast_config(concurrency=2, prefetch=2, batch_size=4, task_check_interval=timedelta(seconds=check_interval))
    w = Worker(worker_redis, mux, config=cfg).start()
    time.sleep(1.0)                               # idle: BLPOP + dequeue in flight
    return server, observer, w, runs, infos


def _check(observer, w, runs, infos):
    try:
        ok = wait_until(lambda: len(runs) == N and observer.llen(keys.active("default")) == 0, timeout=10)
    finally:
        w.stop()
    stuck = observer.llen(keys.active("default"))
    assert ok, f"{N - len(runs)} task(s) not run 10 s after the stall ({stuck} stuck in active)"
    assert set(runs) == {i.id for i in infos}
    assert all(v == 0 for v in runs.values()), "a task used a retry for Redis's stall"
    assert observer.zcard(keys.retry("default")) == 0


def test_a_dequeue_whose_reply_was_lost_is_given_back(make_redis_process):
    """The worker's BLPOP + dequeue is queued behind DEBUG SLEEP; the worker times out and drops
    the connection, Redis then runs the dequeue anyway: those leases must come back at once."""
    server, observer, w, runs, infos = _setup(make_redis_process, check_interval=0.4)
    pipe = observer.pipeline(transaction=False)
    pipe.delete(keys.paused("default"))
    pipe.execute_command("DEBUG", "SLEEP", "3")
    pipe.execute()
    _check(observer, w, runs, infos)


def test_an_idle_wait_never_outlasts_the_command_timeout(make_redis_process):
    """task_check_interval 3 s with a 1 s command timeout: the idle BLPOP is capped below the
    timeout, so a SIGSTOP stall is survived and normal polling is not taken for an outage."""
    server, observer, w, runs, infos = _setup(make_redis_process, check_interval=3.0)
    observer.delete(keys.paused("default"))
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(3.0)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    _check(observer, w, runs, infos)


def test_a_busy_worker_rides_out_a_stall(make_redis_process):
    server, observer, w, runs, infos = _setup(make_redis_process, check_interval=1.0)
    observer.delete(keys.paused("default"))
    assert wait_until(lambda: len(runs) >= 2, timeout=10)
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(4.0)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    _check(observer, w, runs, infos)


def test_reclaim_gives_back_and_voids_the_lost_call(rdb, r, client):
    infos = [client.enqueue(dmq.Task("job", {"i": i})) for i in range(5)]
    got = rdb.dequeue(["default"], 3, 30, "w1", token="7", acked="")
    assert len(got) == 3
    assert rdb.reclaim_dequeue(["default"], "7", "w1") == 3          # the reply was "lost"
    assert r.llen(keys.pending("default")) == 5 and r.llen(keys.active("default")) == 0
    assert rdb.reclaim_dequeue(["default"], "8", "w1") == 0          # never ran: voided
    assert list(rdb.dequeue(["default"], 5, 30, "w1", token="8")) == []   # arrives late: leases nothing
    got = rdb.dequeue(["default"], 5, 30, "w1", token="9", acked="")
    assert sorted(t for _, t, _ in got) == sorted(i.id for i in infos)
    rdb.dequeue(["default"], 5, 30, "w1", token="10", acked="9")      # the next call drops 9's receipt
    assert not r.hexists(keys.dequeue_receipt("default", "w1"), "9")
