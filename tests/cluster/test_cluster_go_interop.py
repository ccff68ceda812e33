"""asynq v0.26 (Go) with RedisClusterClientOpt and dmq on the same Redis Cluster: Go enqueues
and dmq processes, dmq enqueues and Go processes, and asynq's Inspector reads dmq's queues and
servers. Skipped without `go` (the programs are tests/interop/go, built once per session)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.interop.conftest import go_bin, run_go_program  # noqa: F401 - go_bin: a pytest fixture
from tests.worker.conftest import fast_config, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.interop]
QUEUES = {"critical": 2, "low": 1}


@pytest.fixture
def go_cluster(go_bin, cluster, cluster_url):  # noqa: F811
    nodes = ",".join(f"127.0.0.1:{p}" for p in cluster.ports)

    def run(program: str, *args: str, timeout: float = 60) -> list[Any]:
        return run_go_program([str(go_bin / program), "-cluster", nodes, *args], timeout)

    return run


def test_go_enqueues_dmq_processes_and_go_inspects(go_cluster, rc, cluster_url):
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    mux = ServeMux()

    def handle(t):
        with lock:
            seen.append((t.id, t.queue))

    mux.handle("go:task", handle)
    w = Worker(cluster_url, mux, config=fast_config(queues=QUEUES)).start()
    try:
        out = []
        for q in QUEUES:
            out += go_cluster("enqueue", "-queue", q, "-type", "go:task", "-payload", '{"i":{i}}', "-n", "3")
        assert wait_until(lambda: len(seen) == 6, timeout=30)
        assert {i for i, _ in seen} == {o["id"] for o in out}
        assert {q for _, q in seen} == set(QUEUES)
        rep = go_cluster("inspect", "-queue", "critical")[0]
        assert set(QUEUES) <= set(rep["queues"])
        assert rep["info"]["processed_total"] == 3
        assert wait_until(lambda: rc.zcard(keys.ALL_SERVERS) == 1)
        rep = go_cluster("inspect", "-queue", "low")[0]
        assert [s["queues"] for s in rep["servers"]] == [QUEUES]
        assert rep["servers"][0]["id"] == w.state.server_id
    finally:
        w.stop(timeout=2)


def test_dmq_enqueues_go_processes(go_cluster, rc, cluster_url):
    with dmq.Client(cluster_url) as client:
        ids = [client.enqueue(dmq.Task("py:task", {"i": i}), queue=q).id for q in QUEUES for i in range(2)]
    out = go_cluster("worker", "-queues", ",".join(QUEUES), "-expect", "4", "-duration", "30s", timeout=60)
    assert sorted(o["id"] for o in out) == sorted(ids)
    assert sorted(o["queue"] for o in out) == ["critical", "critical", "low", "low"]
    for q in QUEUES:
        assert wait_until(lambda q=q: int(rc.get(keys.processed_total(q)) or 0) == 2)
