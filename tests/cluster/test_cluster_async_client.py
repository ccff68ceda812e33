"""AsyncClient on a real three-master Redis Cluster and a Sentinel set: concurrent producers over
queues in different slots (one flush spans several nodes and never raises CROSSSLOT), unique,
scheduled and grouped tasks, processed exactly once by a dmq Worker; behind Sentinel, enqueues
go on across a SIGKILL of the master."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

import dmq_tools as dmq
from dmq_tools.errors import ConfigurationError
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.worker.conftest import fast_config, wait_until

pytestmark = pytest.mark.cluster

QUEUES = {"critical": 6, "default": 3, "low": 1}


class _Seen:
    """What a worker ran, by task ID (a list: a task run twice shows up twice)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.batches: list[list[int]] = []
        self.lock = threading.Lock()

    def handle(self, t) -> None:
        with self.lock:
            self.ids.append(t.id)


def _worker(url, seen: _Seen, **kw) -> Worker:
    mux = ServeMux()
    for kind in ("work", "later", "once"):
        mux.handle(kind, seen.handle)
    mux.handle("batch", lambda t: seen.batches.append(t.json()["items"]))

    def aggregate(group, tasks):
        return dmq.Task("batch", {"items": sorted(t.json()["i"] for t in tasks)})

    return Worker(url, mux, config=fast_config(queues=QUEUES, group_aggregator=aggregate,
                                               group_grace_period=timedelta(seconds=1),
                                               aggregator_interval=timedelta(seconds=0.2), **kw)).start()


def test_concurrent_producers_over_slots_then_processed_exactly_once(rc, cluster_url):
    assert len({rc.get_node_from_key(keys.pending(q)).name for q in QUEUES}) >= 2   # flushes span nodes
    queues = list(QUEUES)

    async def produce():
        async with dmq.AsyncClient(cluster_url) as ac:
            # 600 coroutines at once: each flush carries tasks of all three queues (several nodes)
            plain = await asyncio.gather(*(ac.enqueue(dmq.Task("work", {"i": n}), queue=queues[n % 3])
                                           for n in range(600)))
            many = await ac.enqueue_many([dmq.Task("work", {"i": 1000 + n}, queue=queues[n % 3])
                                          for n in range(30)])
            later = await asyncio.gather(*(ac.enqueue_in(dmq.Task("later", {"q": q}), timedelta(seconds=1), queue=q)
                                           for q in queues))
            first = await asyncio.gather(*(ac.enqueue(dmq.Task("once", {"q": q}), queue=q, unique=timedelta(minutes=5))
                                           for q in queues))
            again = await asyncio.gather(*(ac.enqueue(dmq.Task("once", {"q": q}), queue=q, unique=timedelta(minutes=5))
                                           for q in queues), return_exceptions=True)
            grouped = await asyncio.gather(*(ac.enqueue(dmq.Task("item", {"i": n}), queue=q, group="g")
                                             for q in ("low", "critical") for n in range(3)))
            assert await ac.ping()
            return plain + many + later + first, again, grouped

    infos, again, grouped = asyncio.run(produce())
    assert all(isinstance(e, dmq.DuplicateTaskError) for e in again), again
    assert Counter(i.queue for i in infos) == {q: 212 for q in queues}
    assert {i.state for i in grouped} == {dmq.TaskState.AGGREGATING}
    assert sorted(m.decode() for m in rc.smembers(keys.ALL_QUEUES)) == sorted(QUEUES)   # un-tagged, one slot
    seen = _Seen()
    w = _worker(cluster_url, seen)
    try:
        ids = {i.id for i in infos}
        assert wait_until(lambda: ids <= set(seen.ids) and len(seen.batches) == 2, timeout=60), \
            f"{len(ids - set(seen.ids))} not processed, {len(seen.batches)} group batches"
        time.sleep(0.5)    # anything run twice would show up by now
    finally:
        w.stop(timeout=2)
    assert len(seen.ids) == len(ids) == 636, "each task exactly once"
    assert sorted(seen.batches) == [[0, 1, 2], [0, 1, 2]]
    for q in queues:
        assert rc.llen(keys.pending(q)) == 0 and rc.llen(keys.active(q)) == 0


def test_async_client_from_a_sync_cluster_client_and_errors(rc, cluster):
    async def go(conn):
        ac = dmq.AsyncClient(conn)
        try:
            return await ac.enqueue(dmq.Task("work", {}), queue="low")
        finally:
            await ac.aclose()

    info = asyncio.run(go(rc))        # the sync client's nodes and settings are reused
    assert rc.llen(keys.pending("low")) == 1 and info.queue == "low"
    nodes = [f"127.0.0.1:{p}" for p in cluster.ports]
    with pytest.raises(ConfigurationError, match="single master"):
        dmq.AsyncClient(f"redis+cluster://{nodes[0]}", wait_replicas=1)
    from tests.helpers.redis_server import free_port

    dead = f"redis+cluster://:s3cr3t@127.0.0.1:{free_port()}"
    with pytest.raises(dmq.ConnectionFailedError) as err:
        asyncio.run(go(dead))
    assert "127.0.0.1" in str(err.value) and "s3cr3t" not in str(err.value)


def test_async_client_from_a_sync_sentinel_client(sentinels):
    """A sync Sentinel-managed client gives an asyncio one of the same sentinels and master."""
    sync = dmq.connect(sentinels.url)

    async def go():
        async with dmq.AsyncClient(sync, wait_replicas=1) as ac:
            assert "redis+sentinel://127.0.0.1" in ac._rdb.address and "mymaster" in ac._rdb.address
            return await ac.enqueue(dmq.Task("work", {}), queue="low")

    try:
        info = asyncio.run(go())
        assert sync.lrange(keys.pending("low"), 0, -1) == [info.id.encode()]
        sync.delete(keys.pending("low"))
    finally:
        sync.close()


def test_sentinel_switchover_moves_the_async_client_to_the_new_master(sentinels):
    """SENTINEL FAILOVER promotes the replica and the old master is demoted: the AsyncClient's
    kept connection to it is answered READONLY (which redis-py's Sentinel connection reports as
    "The previous master is now a slave"), and the write is retried on the promoted replica.
    Runs before the SIGKILL test below, which leaves the set without a replica."""
    import redis

    url = sentinels.url
    old = sentinels.current_master()

    async def go():
        async with dmq.AsyncClient(url) as ac:
            first = await ac.enqueue(dmq.Task("work", {"n": 1}), queue="default")   # its connection is kept
            sentinel = redis.Redis(host="127.0.0.1", port=sentinels.sentinel_ports[0])
            sentinel.execute_command("SENTINEL", "FAILOVER", sentinels.name)
            sentinel.close()
            assert wait_until(lambda: sentinels.current_master() != old, timeout=30), "no switchover"
            # the sentinels demote the old master ~10 s later; do it now as they would
            demoted = redis.Redis(host=old[0], port=old[1])
            demoted.replicaof(*sentinels.current_master())
            assert wait_until(lambda: demoted.info("replication")["role"] == "slave", timeout=30)
            second = await ac.enqueue(dmq.Task("work", {"n": 2}), queue="default")
            # the next test WAITs for a replica: the demoted master must be in sync with the new one
            assert wait_until(lambda: demoted.info("replication").get("master_link_status") == "up", timeout=30)
            demoted.close()
            return first, second

    first, second = asyncio.run(go())
    r = dmq.connect(url)
    try:
        assert r.connection_pool.get_master_address() != old
        assert wait_until(lambda: r.llen(keys.pending("default")) == 2, timeout=10)
        assert {m.decode() for m in r.lrange(keys.pending("default"), 0, -1)} == {first.id, second.id}
        r.delete(keys.pending("default"))
    finally:
        r.close()


def test_sentinel_enqueues_go_on_across_a_failover(sentinels):
    """One AsyncClient enqueues in a loop (concurrent producers, wait_replicas=1 before the kill);
    the master is SIGKILLed; the same client carries on against the promoted replica."""
    url = sentinels.url
    old = sentinels.current_master()
    done: list[str] = []
    errors: list[BaseException] = []
    slowest: list[float] = []

    async def produce() -> float:
        async with dmq.AsyncClient(url, wait_replicas=1) as safe:
            infos = await asyncio.gather(*(safe.enqueue(dmq.Task("work", {"i": n}), queue="default")
                                           for n in range(200)))
            done.extend(i.id for i in infos)
        ac = dmq.AsyncClient(url)
        try:
            killed_at = 0.0
            for round_ in range(400):
                if round_ == 5:
                    sentinels.kill_master()
                    killed_at = time.monotonic()
                started = time.monotonic()
                got = await asyncio.gather(*(ac.enqueue(dmq.Task("work", {"r": round_, "n": n}), queue=q)
                                             for n in range(10) for q in ("default", "critical")),
                                           return_exceptions=True)
                slowest.append(time.monotonic() - started)
                for g in got:
                    if isinstance(g, BaseException):
                        errors.append(g)
                    else:
                        done.append(g.id)
                if killed_at and sentinels.current_master() != old and round_ > 20:
                    return killed_at
                await asyncio.sleep(0.02)
            return killed_at
        finally:
            await ac.aclose()

    killed_at = asyncio.run(produce())
    assert killed_at, "the master was not killed"
    assert sentinels.current_master() != old, "no failover"
    assert not errors, f"{len(errors)} enqueue(s) failed across the failover: {errors[:3]}"
    assert max(slowest) > 0.5, "no round waited for the new master: the failover was not exercised"
    seen = _Seen()
    w = _worker(url, seen)
    r = dmq.connect(url)
    try:
        # tasks acknowledged by the old master but not yet replicated may be lost (asynchronous
        # replication); the 200 enqueued with WAIT 1 may not
        assert wait_until(lambda: set(done[:200]) <= set(seen.ids), timeout=60)
        assert wait_until(lambda: not any(r.llen(keys.pending(q)) + r.llen(keys.active(q))
                                          for q in ("default", "critical")), timeout=60)
    finally:
        w.stop(timeout=2)
        r.close()
    lost = len(set(done) - set(seen.ids))
    print(f"\nasync sentinel failover: {len(done)} enqueued, the round at the kill waited {max(slowest):.1f} s, "
          f"lost {lost}, ran twice {len(seen.ids) - len(set(seen.ids))}")
    assert lost <= 20, f"{lost} lost: more than one round in flight at the kill"


def test_cluster_url_and_password_from_the_environment(cluster, cluster_url, monkeypatch):
    """REDIS_URL names the cluster and REDIS_PASSWORD applies to its nodes, as for Client; a wrong
    password is a ConnectionFailedError that names the address, never the password."""
    import redis

    nodes = [redis.Redis(host="127.0.0.1", port=p) for p in cluster.ports]
    for n in nodes:
        n.config_set("requirepass", "s3cr3t-pw")
    try:
        monkeypatch.setenv("REDIS_URL", cluster_url)
        monkeypatch.setenv("REDIS_PASSWORD", "s3cr3t-pw")

        async def go():
            async with dmq.AsyncClient() as ac:
                return await asyncio.gather(*(ac.enqueue(dmq.Task("work", {}), queue=q) for q in QUEUES))

        infos = asyncio.run(go())
        assert sorted(i.queue for i in infos) == sorted(QUEUES)
        monkeypatch.setenv("REDIS_PASSWORD", "wr0ng-pw")
        with pytest.raises(dmq.ConnectionFailedError) as err:
            asyncio.run(go())
        assert "127.0.0.1" in str(err.value) and "wr0ng-pw" not in str(err.value)
    finally:
        for n in nodes:
            n.execute_command("AUTH", "s3cr3t-pw")
            n.config_set("requirepass", "")
            n.close()
