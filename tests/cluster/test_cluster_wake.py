"""The cluster worker's wake-ups (rdb/cluster_wake.py): one BLPOP per queue, each on its own
connection to the queue's node, waited on together by the fetcher. The worker's poll is set to
a minute here, so a task picked up within seconds was picked up by its wake token."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import redis

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.helpers.redis_cluster import wake_clients
from tests.worker.conftest import fast_config, wait_until

pytestmark = pytest.mark.cluster

#: Twelve queues, spread over the three masters' slots.
QUEUES = {f"wq{i}": 1 for i in range(12)}
#: The idle worker's poll runs every 30-90 s: far beyond the waits below.
NO_POLL = timedelta(seconds=60)
#: How long a woken pickup may take on a loaded machine (correctness, not timing).
PROMPT = 8.0


@pytest.fixture
def worker(cluster_url, rc):
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()
    mux = ServeMux()

    def handle(t):
        with lock:
            seen.append((t.queue, t.json()["i"]))

    mux.handle("w", handle)
    w = Worker(cluster_url, mux, config=fast_config(queues=QUEUES, task_check_interval=NO_POLL)).start()
    yield w, seen
    w.stop(timeout=1)


def _settled(cluster) -> bool:
    """Every queue has its wake connection blocked in BLPOP (the worker is idle and waiting)."""
    blocked = [c for c in wake_clients(cluster) if c.get("cmd") == "blpop"]
    return sorted(c["name"] for c in blocked) == sorted(f"dmq-wake:{q}" for q in QUEUES)


def test_the_queues_span_every_master(rc):
    assert len({rc.get_node_from_key(keys.pending(q)).name for q in QUEUES}) == 3


def test_a_task_on_any_queue_wakes_the_idle_worker(worker, cluster, cluster_url):
    _, seen = worker
    assert wait_until(lambda: _settled(cluster), timeout=20)
    with dmq.Client(cluster_url) as client:
        for i, q in enumerate(reversed(list(QUEUES))):     # one at a time, each to an idle worker
            client.enqueue(dmq.Task("w", {"i": i}), queue=q)
            assert wait_until(lambda want=(q, i): want in seen, timeout=PROMPT), f"no wake-up for queue {q}"
    assert sorted(seen) == sorted((q, i) for i, q in enumerate(reversed(list(QUEUES))))


def test_tasks_on_several_queues_at_once_are_all_taken(worker, cluster, cluster_url):
    """Several wake-ups in one wait: the fetcher takes the woken queues, the next fetch the rest."""
    _, seen = worker
    assert wait_until(lambda: _settled(cluster), timeout=20)
    with dmq.Client(cluster_url) as client:
        client.enqueue_many([dmq.Task("w", {"i": n}, queue=q) for n, q in enumerate(QUEUES)])
    assert wait_until(lambda: len(seen) == len(QUEUES), timeout=PROMPT)
    assert sorted(seen) == sorted((q, n) for n, q in enumerate(QUEUES))


def test_stop_ends_the_wait_promptly(worker, cluster):
    w, _ = worker
    assert wait_until(lambda: _settled(cluster), timeout=20)
    started = time.monotonic()
    w.stop(timeout=1)
    took = time.monotonic() - started
    assert took < 15, f"stop took {took:.1f} s: the idle wait was not interrupted"
    assert wait_until(lambda: not wake_clients(cluster), timeout=5)


def test_a_killed_wake_connection_is_made_again(worker, cluster, cluster_url):
    _, seen = worker
    assert wait_until(lambda: _settled(cluster), timeout=20)
    before = {(c["port"], c["id"]) for c in wake_clients(cluster)}     # ids are per node
    for c in wake_clients(cluster):
        node = redis.Redis(host="127.0.0.1", port=c["port"])
        try:
            assert node.client_kill_filter(_id=c["id"]) == 1
        finally:
            node.close()
    # new connections, with a BLPOP outstanding again
    assert wait_until(lambda: _settled(cluster) and not before & {(c["port"], c["id"]) for c in wake_clients(cluster)},
                      timeout=20)
    with dmq.Client(cluster_url) as client:
        for i, q in enumerate(QUEUES):
            client.enqueue(dmq.Task("w", {"i": i}), queue=q)
            assert wait_until(lambda want=(q, i): want in seen, timeout=PROMPT), f"{q}: no wake-up after the kill"


def test_a_kill_while_the_worker_waits_loses_no_wake_up_for_long(worker, cluster, cluster_url):
    """A token pushed right after the kill: the fetcher's poll would take a minute; the
    reconnected BLPOP finds the token still in the wake list and wakes the worker."""
    _, seen = worker
    assert wait_until(lambda: _settled(cluster), timeout=20)
    q = "wq5"
    victim = next(c for c in wake_clients(cluster) if c["name"] == f"dmq-wake:{q}")
    node = redis.Redis(host="127.0.0.1", port=victim["port"])
    try:
        node.client_kill_filter(_id=victim["id"])
    finally:
        node.close()
    with dmq.Client(cluster_url) as client:
        client.enqueue(dmq.Task("w", {"i": 99}), queue=q)
    assert wait_until(lambda: (q, 99) in seen, timeout=PROMPT)


# ---- the Waker alone, on the cluster client ----

def test_waker_wait_timeout_interrupt_and_close(rc):
    from dmq_tools.rdb.cluster_wake import Waker

    waker = Waker(rc)
    try:
        assert waker.wait(["wq1", "wq2"], 0.2) == []                 # nothing: the timeout
        rc.lpush(keys.wake("wq2"), "1")
        assert waker.wait(["wq1", "wq2"], 10) == ["wq2"]
        threading.Timer(0.3, waker.interrupt).start()
        started = time.monotonic()
        assert waker.wait(["wq1", "wq2"], 30) == []                  # interrupted, not timed out
        assert time.monotonic() - started < 10
        # a token the outstanding BLPOP took while nobody waited goes back at close
        rc.lpush(keys.wake("wq1"), "1")
        assert wait_until(lambda: rc.llen(keys.wake("wq1")) == 0)
    finally:
        waker.close()
    assert rc.llen(keys.wake("wq1")) == 1


def test_waker_reads_a_reply_left_unread_past_its_deadline(rc, monkeypatch):
    """A busy worker may not wait for a long time: the token its BLPOP took meanwhile is read at
    the next wait, not dropped as a dead connection's."""
    from dmq_tools.rdb import cluster_wake

    monkeypatch.setattr(cluster_wake, "BLOCK_SECONDS", 1)
    monkeypatch.setattr(cluster_wake, "_OVERDUE_SECONDS", 0.2)
    waker = cluster_wake.Waker(rc)
    try:
        assert waker.wait(["wq3"], 0.05) == []
        rc.lpush(keys.wake("wq3"), "1")
        time.sleep(1.5)                       # past BLOCK_SECONDS + _OVERDUE_SECONDS, reply unread
        assert waker.wait(["wq3"], 5) == ["wq3"]
    finally:
        waker.close()
