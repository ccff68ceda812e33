"""TLS everywhere: a three-master cluster whose nodes and cluster bus speak only TLS, and a Sentinel
set (master, replica, three sentinels) where clients, replication and the sentinels speak only
TLS, all with client certificates (mutual TLS). `rediss+cluster://` and `rediss+sentinel://`
URLs carry redis-py's ssl_* options as query parameters; Client, AsyncClient and Worker enqueue
and process over them."""

from __future__ import annotations

import asyncio
import subprocess
import threading

import pytest

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.helpers.redis_cluster import ClusterSet, SentinelSet, _wait_ping
from tests.helpers.redis_server import free_port, redis_server_binary
from tests.helpers.redis_tls import TlsFiles, make_tls_files
from tests.worker.conftest import fast_config, wait_until

pytestmark = pytest.mark.cluster

QUEUES = {"critical": 6, "default": 3, "low": 1}


def _tls_supported(binary: str, tls: TlsFiles, where: str) -> bool:
    """Whether this redis-server serves TLS (Debian's does; a build without TLS refuses the options)."""
    port = free_port()
    proc = subprocess.Popen([binary, *tls.server_args(port), "--bind", "127.0.0.1", "--save", "", "--dir", where],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ping(port, proc, "TLS probe", timeout=5, tls=tls)
        return True
    except RuntimeError:
        return False
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server found")
    where = tmp_path_factory.mktemp("tls")
    files = make_tls_files(str(where))
    if files is None:
        pytest.skip("no openssl command to make a test certificate")
    if not _tls_supported(binary, files, str(where)):
        pytest.skip(f"{binary} does not serve TLS (built without it)")
    return binary, files


@pytest.fixture(scope="module")
def tls_cluster(tls):
    binary, files = tls
    c = ClusterSet(binary, tls=files).start()
    yield c
    c.cleanup()


@pytest.fixture(scope="module")
def tls_sentinels(tls):
    binary, files = tls
    s = SentinelSet(binary, tls=files).start()
    yield s
    s.cleanup()


def _enqueue_both_ways(url: str, **client_kw) -> list[str]:
    """Tasks over three queues from Client and from concurrent AsyncClient calls; their IDs."""
    queues = list(QUEUES)
    with dmq.Client(url, **client_kw) as client:
        ids = [client.enqueue(dmq.Task("work", {"i": n}), queue=queues[n % 3]).id for n in range(30)]
        ids += [i.id for i in client.enqueue_many([dmq.Task("work", {"i": 100 + n}, queue=queues[n % 3])
                                                   for n in range(9)])]

    async def produce() -> list[str]:
        async with dmq.AsyncClient(url, **client_kw) as ac:
            infos = await asyncio.gather(*(ac.enqueue(dmq.Task("work", {"i": 200 + n}), queue=queues[n % 3])
                                           for n in range(60)))
            infos.append(await ac.enqueue(dmq.Task("work", {"u": 1}), queue="low", unique=600))
            return [i.id for i in infos]

    return ids + asyncio.run(produce())


def _from_sync(r) -> str:
    """An AsyncClient made from a sync TLS client (its nodes or sentinels, certificates and
    options reused) enqueues one task; its ID."""
    async def go() -> str:
        async with dmq.AsyncClient(r) as ac:
            return (await ac.enqueue(dmq.Task("work", {"from": "sync client"}), queue="low")).id

    return asyncio.run(go())


def _process(url: str, ids: list[str]) -> list[str]:
    seen: list[str] = []
    lock = threading.Lock()

    def handle(t):
        with lock:
            seen.append(t.id)

    mux = ServeMux()
    mux.handle("work", handle)
    w = Worker(url, mux, config=fast_config(queues=QUEUES)).start()
    try:
        assert wait_until(lambda: set(ids) <= set(seen), timeout=60), f"{len(set(ids) - set(seen))} not processed"
    finally:
        w.stop(timeout=2)
    return seen


def test_tls_cluster_enqueue_and_process(tls_cluster):
    url = tls_cluster.url
    assert url.startswith("rediss+cluster://") and "ssl_ca_certs=" in url
    r = dmq.connect(url)
    try:
        assert len({r.get_node_from_key(keys.pending(q)).name for q in QUEUES}) >= 2
        ids = _enqueue_both_ways(url) + [_from_sync(r)]
        seen = _process(url, ids)
        assert sorted(seen) == sorted(ids), "each task exactly once"
        assert sorted(m.decode() for m in r.smembers(keys.ALL_QUEUES)) == sorted(QUEUES)
    finally:
        r.close()
    plain = url.replace("rediss+", "redis+").split("?", 1)[0]     # the nodes take TLS only
    with pytest.raises(dmq.ConnectionFailedError):
        dmq.connect(plain, socket_timeout=2)


def test_tls_sentinel_enqueue_and_process(tls_sentinels):
    url = tls_sentinels.url
    assert url.startswith("rediss+sentinel://")
    r = dmq.connect(url)
    try:
        assert r.connection_pool.get_master_address() == tls_sentinels.current_master()
        ids = _enqueue_both_ways(url, wait_replicas=1)     # replication over TLS acknowledges
        ids.append(_from_sync(r))
        seen = _process(url, ids)
        assert sorted(seen) == sorted(ids), "each task exactly once"
        assert r.llen(keys.pending("default")) == 0
    finally:
        r.close()
    no_ca = url.split("?", 1)[0]       # TLS without our CA: the certificate is refused
    with pytest.raises(dmq.ConnectionFailedError) as err:
        dmq.connect(no_ca)
    assert "rediss+sentinel://127.0.0.1" in str(err.value)
