"""Sentinel: connect through the sentinels, then SIGKILL the master while a worker processes
tasks; the sentinels promote the replica and Client, Worker and Scheduler carry on against it.

What may be lost: Redis replicates asynchronously, so writes the master acknowledged but had not
yet sent to the replica are gone after the switch. Here every task is enqueued with WAIT (the
replica acknowledged it) before the kill, so none may be lost; acknowledgements the old master
took but did not replicate make tasks run again (duplicates), which the test counts and prints."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.worker.conftest import fast_config, wait_until

pytestmark = pytest.mark.cluster

N_TASKS = 3000


def test_sentinel_connect_and_redact(sentinels):
    r = dmq.connect(sentinels.url)
    assert r.ping()
    host, port = sentinels.current_master()
    assert r.connection_pool.get_master_address() == (host, port)
    r.close()
    from dmq_tools.rdb.connection import redact_url

    secret = sentinels.url.replace("://", "://:pw0rd@")
    assert "pw0rd" not in redact_url(secret) and "mymaster" in redact_url(secret)


def test_a_master_name_no_sentinel_monitors_fails_without_waiting_for_a_failover(sentinels):
    """Sentinels that answer but do not know the name: no failover to wait for (FAILOVER_WAIT_S)."""
    from dmq_tools.rdb.connection import FAILOVER_WAIT_S

    url = sentinels.url.rsplit("/", 1)[0] + "/no-such-master"
    started = time.monotonic()
    with pytest.raises(dmq.ConnectionFailedError, match="no sentinel answered with that master"):
        dmq.connect(url)
    assert time.monotonic() - started < FAILOVER_WAIT_S


def test_wait_replicas(sentinels, r, redis_url):
    """Runs before the failover test, which leaves the set without a replica."""
    with dmq.Client(sentinels.url, wait_replicas=1) as client:
        assert client.enqueue(dmq.Task("job", {})).queue == "default"
    with dmq.Client(redis_url, wait_replicas=1, wait_timeout=0.1) as alone:   # a server without replicas
        with pytest.raises(dmq.ReplicationTimeoutError, match="0 of 1 replica"):
            alone.enqueue(dmq.Task("job", {}))
    assert r.llen(keys.pending("default")) == 1     # written on the master all the same
    with pytest.raises(dmq.ConfigurationError):
        dmq.Client(redis_url, wait_replicas=-1)


def test_failover_while_processing(sentinels):
    url = sentinels.url
    seen: list[str] = []
    lock = threading.Lock()
    mux = ServeMux()

    ticks: list[float] = []

    def handle(t):
        if t.json().get("tick"):
            ticks.append(time.monotonic())
            return
        with lock:
            seen.append(t.id)
        time.sleep(0.001)

    mux.handle("job", handle)
    queues = {"critical": 2, "default": 1}
    with dmq.Client(url, wait_replicas=1) as client:
        ids = []
        for q in queues:
            infos = client.enqueue_many([dmq.Task("job", {"i": i}) for i in range(N_TASKS // 2)], queue=q)
            ids += [i.id for i in infos]
    old_master = sentinels.current_master()
    w = Worker(url, mux, config=fast_config(queues=queues, lease_duration=timedelta(seconds=3),
                                            concurrency=4)).start()
    from dmq_tools.scheduler import Scheduler

    sched = Scheduler(url)
    sched.register("@every 1s", dmq.Task("job", {"tick": True}), queue="default")
    sched.start()
    try:
        assert wait_until(lambda: len(seen) >= N_TASKS // 3, timeout=60)
        t_kill = time.monotonic()
        sentinels.kill_master()
        assert wait_until(lambda: sentinels.current_master() != old_master, timeout=30), "no failover"
        t_promoted = time.monotonic()
        # a Client made before the switch enqueues against the new master (retry with backoff)
        with dmq.Client(url) as late:
            extra = late.enqueue(dmq.Task("job", {"late": True}), queue="default")
        ids.append(extra.id)
        assert wait_until(lambda: set(ids) <= set(seen), timeout=90), \
            f"{len(set(ids) - set(seen))} task(s) not processed after the failover"
        # the scheduler made before the switch keeps firing on the new master
        assert wait_until(lambda: any(t > t_promoted for t in ticks), timeout=20)
        # tasks whose outcome was lost with the old master sit in active until their lease runs
        # out; the recoverer then retries them (they run twice): wait until none is left
        r = dmq.connect(url)
        assert wait_until(lambda: all(r.llen(keys.active(q)) + r.zcard(keys.retry(q)) == 0 for q in queues),
                          timeout=30)
        r.close()
    finally:
        sched.stop()
        w.stop(timeout=5)
    unique = set(seen)
    duplicates = len(seen) - len(unique)
    lost = len(set(ids) - unique)
    print(f"\nsentinel failover: {len(ids)} tasks, promoted after {t_promoted - t_kill:.1f} s, "
          f"lost {lost}, ran twice {duplicates}")
    assert lost == 0

