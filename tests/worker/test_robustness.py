"""Crashes and outages against real Redis servers and real worker processes."""

import os
import signal
import subprocess
import sys
import threading
import time

import redis

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.worker.conftest import fast_config, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def spawn(url, concurrency=8, lease=30.0, sleep=0.0):
    p = subprocess.Popen([sys.executable, "-m", "tests.worker.worker_proc", url, str(concurrency), str(lease),
                          str(sleep)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def queue_empty(r, q="default"):
    return all(r.llen(k) == 0 for k in (keys.pending(q), keys.active(q))) and \
        all(r.zcard(k) == 0 for k in (keys.retry(q), keys.scheduled(q), keys.lease(q)))


def test_sigkilled_worker_loses_nothing(r, redis_url, client):
    infos = client.enqueue_many([dmq.Task("job", {"i": i}) for i in range(40)])
    victim = spawn(redis_url, concurrency=4, lease=2.0, sleep=0.3)
    try:
        assert wait_until(lambda: r.llen(keys.active("default")) >= 4)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        leased = r.llen(keys.active("default"))
        assert leased > 0                      # tasks were in flight when it died
        rescuer = spawn(redis_url, concurrency=8, lease=2.0, sleep=0.0)
        try:
            assert wait_until(lambda: queue_empty(r) and r.hlen("test:runs") == 40, timeout=40)
        finally:
            stop(rescuer)
    finally:
        stop(victim, signal.SIGKILL)
    runs = {k.decode(): int(v) for k, v in r.hgetall("test:runs").items()}
    assert set(runs) == {i.id for i in infos}
    assert r.get(keys.processed_total("default")) is not None


def test_redis_restart_and_outage(make_redis_process):
    server = make_redis_process(persist=True)
    rc = redis.Redis.from_url(server.url, socket_timeout=5)
    client = dmq.Client(rc)
    done = set()
    lock = threading.Lock()
    mux = ServeMux()

    @mux.handle("job")
    def job(task):
        time.sleep(0.1)
        with lock:
            done.add(task.id)

    w = Worker(rc, mux, config=fast_config(concurrency=4)).start()
    try:
        first = client.enqueue_many([dmq.Task("job", {"i": i}) for i in range(100)])
        assert wait_until(lambda: len(done) >= 10)
        server.restart()                              # a quick restart
        assert wait_until(lambda: len(done) >= 40, timeout=30)
        assert not queue_empty(rc)                    # work is in flight when Redis goes away
        server.stop()                                 # a ~10 s outage while tasks are running
        time.sleep(10)
        server.start()
        assert wait_until(lambda: queue_empty(rc), timeout=60)
        more = client.enqueue_many([dmq.Task("job", {"i": i}) for i in range(10)])
        assert wait_until(lambda: {i.id for i in first + more} <= done and queue_empty(rc), timeout=30)
        assert w.is_running
        assert all(t.is_alive() for t in w._processor._threads)
    finally:
        w.stop(timeout=2)
        rc.close()


def test_three_processes_100k_tasks_each_once(r, redis_url, client):
    n = 100_000
    ids = []
    for _ in range(0, n, 5000):
        ids += [i.id for i in client.enqueue_many([dmq.Task("job", None) for _ in range(5000)])]
    assert len(ids) == n
    procs = [spawn(redis_url, concurrency=16) for _ in range(3)]
    try:
        assert wait_until(lambda: r.hlen("test:runs") >= n and queue_empty(r), timeout=120, interval=0.2)
    finally:
        for p in procs:
            stop(p)
    assert all(p.returncode == 0 for p in procs)
    runs = r.hgetall("test:runs")
    assert len(runs) == n
    assert set(runs.values()) == {b"1"}              # none twice
    assert r.get(keys.processed_total("default")) == str(n).encode()
