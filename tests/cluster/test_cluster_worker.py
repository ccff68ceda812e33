"""dmq on a real three-master Redis Cluster: queues in different slots (and on different nodes)
are enqueued, processed, retried, scheduled, deduplicated and aggregated; the Inspector, the
exports and the CLI read them."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner

import dmq_tools as dmq
from dmq_tools.rdb import ClusterRDB, keys, open_rdb
from dmq_tools.worker import ServeMux, Worker
from tests.helpers.seed_worker import stored
from tests.worker.conftest import fast_config, wait_until

pytestmark = pytest.mark.cluster

QUEUES = {"critical": 6, "default": 3, "low": 1}


def _nodes(rc, queues) -> set[str]:
    return {rc.get_node_from_key(keys.pending(q)).name for q in queues}


@pytest.fixture
def start():
    made = []

    def make(url, mux, **kw):
        w = Worker(url, mux, config=fast_config(queues=QUEUES, **kw)).start()
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop(timeout=1)


def test_queues_live_on_different_nodes(rc):
    assert len({rc.keyslot(keys.pending(q)) for q in QUEUES}) == 3
    assert len(_nodes(rc, QUEUES)) >= 2      # the test exercises cross-node work
    rdb, owned = open_rdb(rc)
    assert isinstance(rdb, ClusterRDB) and not owned


def test_enqueue_and_process_across_slots(start, rc, cluster_url):
    mux = ServeMux()
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def handle(t):
        with lock:
            seen.append((t.queue, t.json()["i"]))

    mux.handle("work", handle)
    with dmq.Client(cluster_url) as client:
        for q in QUEUES:
            for i in range(20):
                client.enqueue(dmq.Task("work", {"i": i}), queue=q)
        # one batch spread over three slots (each task names its queue)
        queues = list(QUEUES)
        batch = client.enqueue_many([dmq.Task("work", {"i": 100 + n}, queue=queues[n % 3]) for n in range(6)])
        assert sorted(i.queue for i in batch) == sorted(queues * 2)
    start(cluster_url, mux)
    assert wait_until(lambda: len(seen) == 66, timeout=30)
    assert sorted(q for q, i in seen if i >= 100) == sorted(queues * 2)
    assert {q for q, _ in seen} == set(QUEUES)
    for q in QUEUES:
        assert rc.llen(keys.pending(q)) == 0 and rc.llen(keys.active(q)) == 0
    assert int(rc.get(keys.processed_total("critical"))) == 22
    assert sorted(m.decode() for m in rc.smembers(keys.ALL_QUEUES)) == sorted(QUEUES)


def test_wake_up_picks_up_a_new_task_promptly(start, cluster_url):
    got = threading.Event()
    mux = ServeMux()
    mux.handle("ping", lambda t: got.set())
    start(cluster_url, mux, task_check_interval=timedelta(seconds=5))
    with dmq.Client(cluster_url) as client:
        time.sleep(1.0)       # the worker is idle, waiting on its waker threads
        t0 = time.monotonic()
        client.enqueue(dmq.Task("ping", {}), queue="low")
        assert got.wait(4.0), "a wake token should start the task well before the 5 s poll"
        print(f"cluster pickup after enqueue: {(time.monotonic() - t0) * 1000:.1f} ms")


def test_retry_then_archive(start, rc, cluster_url):
    attempts = []
    mux = ServeMux()

    @mux.handle("flaky")
    def flaky(t):
        attempts.append(t.retry_count)
        raise RuntimeError(f"attempt {t.retry_count}")

    start(cluster_url, mux)
    with dmq.Client(cluster_url) as client:
        info = client.enqueue(dmq.Task("flaky", {}), queue="critical", max_retry=2)
    assert wait_until(lambda: stored(rc, "critical", info.id)[0] == "archived", timeout=20)
    assert attempts == [0, 1, 2]
    assert rc.zcard(keys.archived("critical")) == 1


def test_schedule_unique_and_group(start, rc, cluster_url):
    got: list[str] = []
    batches: list[list[int]] = []
    mux = ServeMux()
    mux.handle("later", lambda t: got.append(t.queue))
    mux.handle("batch", lambda t: batches.append(t.json()["items"]))

    def aggregate(group, tasks):
        return dmq.Task("batch", {"items": sorted(t.json()["i"] for t in tasks)})

    with dmq.Client(cluster_url) as client:
        client.enqueue_in(dmq.Task("later", {}), timedelta(seconds=1), queue="low")
        client.enqueue_in(dmq.Task("later", {}), timedelta(seconds=1), queue="critical")
        client.enqueue(dmq.Task("later", {"u": 1}), queue="default", unique=timedelta(minutes=5))
        with pytest.raises(dmq.DuplicateTaskError):
            client.enqueue(dmq.Task("later", {"u": 1}), queue="default", unique=timedelta(minutes=5))
        for i in range(3):
            client.enqueue(dmq.Task("item", {"i": i}), queue="low", group="g")
            client.enqueue(dmq.Task("item", {"i": 10 + i}), queue="critical", group="g")
    start(cluster_url, mux, group_aggregator=aggregate, group_grace_period=timedelta(seconds=1),
          aggregator_interval=timedelta(seconds=0.2))
    assert wait_until(lambda: sorted(got) == ["critical", "default", "low"], timeout=20)
    assert wait_until(lambda: len(batches) == 2, timeout=20)
    assert sorted(batches) == [[0, 1, 2], [10, 11, 12]]


def test_scheduler_on_cluster(rc, cluster_url):
    from dmq_tools.scheduler import Scheduler

    with Scheduler(cluster_url, heartbeat_interval=timedelta(seconds=1)) as s:
        s.register("@every 1s", dmq.Task("tick", {}), queue="low")
        s.register("@every 1s", dmq.Task("tick", {}), queue="critical")
        s.start()
        assert wait_until(lambda: rc.llen(keys.pending("low")) >= 1 and rc.llen(keys.pending("critical")) >= 1,
                          timeout=15)
        assert wait_until(lambda: len(dmq.Inspector(cluster_url).scheduler_entries()) == 2, timeout=15)


def test_inspector_export_and_cli(start, rc, cluster_url, tmp_path):
    with dmq.Client(cluster_url) as client:
        for q in QUEUES:
            client.enqueue(dmq.Task("x", {"q": q}), queue=q)
        client.enqueue_in(dmq.Task("x", {}), timedelta(hours=1), queue="low")
        done = client.enqueue(dmq.Task("x", {}), queue="default", retention=timedelta(hours=1))
    ins = dmq.Inspector(cluster_url)
    assert sorted(ins.queues()) == sorted(QUEUES)
    info = ins.get_queue_info("low")
    assert info.pending == 1 and info.scheduled == 1
    assert [t.id for t in ins.list_tasks("default", "pending")][-1] == done.id
    from dmq_tools import export

    frame = export.queues_frame(ins)
    assert set(frame["queue"]) == set(QUEUES)
    tasks = export.tasks_frame(ins, "low")
    assert len(tasks) == 2
    mux = ServeMux()
    mux.handle("x", lambda t: None)
    w = start(cluster_url, mux)
    assert wait_until(lambda: stored(rc, "default", done.id)[0] == "completed", timeout=20)
    assert wait_until(lambda: len(ins.servers()) == 1, timeout=10)
    assert ins.servers()[0].queues == QUEUES
    runner = CliRunner()
    from dmq_tools.cli.main import main

    out = runner.invoke(main, ["queue", "ls", "--uri", cluster_url], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert all(q in out.output for q in QUEUES)
    out = runner.invoke(main, ["stats", "--uri", cluster_url], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    for kind in ("queues", "tasks", "history", "events", "servers"):
        target = tmp_path / f"{kind}.json"
        extra = ["-q", "low"] if kind == "tasks" else []
        out = runner.invoke(main, ["export", kind, "-o", str(target), *extra, "--uri", cluster_url],
                            catch_exceptions=False)
        assert out.exit_code == 0, out.output
        assert target.exists()
    assert {row["queue"] for row in json.loads((tmp_path / "queues.json").read_text())} == set(QUEUES)
    out = runner.invoke(main, ["doctor", "--json", "--uri", cluster_url], catch_exceptions=False)
    assert out.exit_code in (0, 1), out.output
    checks = json.loads(out.output)
    assert checks and "redis" in json.dumps(checks).lower()
    assert ins.delete_all("low", "scheduled") == 1
    w.stop(timeout=2)
    assert rc.zcard(keys.ALL_SERVERS) == 0
    from dmq_tools.rdb.namespace import drop_queues

    assert drop_queues(rc, ["default"]) > 0
    assert not rc.exists(keys.completed("default"), keys.processed_total("default"))
    assert "default" not in ins.queues()


def test_connect_errors_name_the_address_not_the_password(cluster):
    from dmq_tools.errors import ConfigurationError, ConnectionFailedError
    from tests.helpers.redis_server import free_port

    dead = f"redis+cluster://:s3cr3t@127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionFailedError) as err:
        dmq.connect(dead)
    assert "127.0.0.1" in str(err.value) and "s3cr3t" not in str(err.value)
    with pytest.raises(ConfigurationError) as err:
        dmq.connect("redis+sentinel://:s3cr3t@127.0.0.1:26379")
    assert "master name" in str(err.value) and "s3cr3t" not in str(err.value)
    nodes = [f"127.0.0.1:{p}" for p in cluster.ports]
    client = dmq.connect(nodes)
    assert client.ping()
    client.close()


def test_a_stopped_worker_on_a_shared_client_leaves_no_waker(rc, cluster):
    """The wake connections close with the worker even when the cluster client is the caller's:
    a left-over BLPOP would keep taking the wake tokens other workers wait for."""
    from tests.helpers.redis_cluster import wake_clients

    mux = ServeMux()
    mux.handle("x", lambda t: None)
    w = Worker(rc, mux, config=fast_config(queues=QUEUES)).start()
    assert wait_until(lambda: sorted(c["name"] for c in wake_clients(cluster)) ==
                      sorted(f"dmq-wake:{q}" for q in QUEUES))
    w.stop(timeout=1)
    assert wait_until(lambda: not wake_clients(cluster), timeout=5)
    assert rc.ping()          # the caller's client stays open
    with dmq.Client(rc) as client:
        client.enqueue(dmq.Task("x", {}), queue="low")
    time.sleep(1.5)
    assert rc.llen(keys.wake("low")) == 1      # nobody took the token
