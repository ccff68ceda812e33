"""End to end with the Client: a real Redis, real threads, short intervals."""

import asyncio
import threading
import time
from datetime import timedelta

import pytest

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker, running
from tests.helpers.seed_worker import events, stored
from tests.worker.conftest import fast_config, wait_until

Q = "default"


@pytest.fixture
def start(r):
    made = []

    def make(_r, mux, **kw):
        w = Worker(_r, mux, config=fast_config(**kw)).start()
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop(timeout=1)


def test_success_and_retained_result(start, r, client):
    mux = ServeMux()
    mux.handle("ok", lambda t: {"doubled": t.json()["n"] * 2, "id": t.id})
    w = start(r, mux)
    plain = client.enqueue(dmq.Task("ok", {"n": 1}))
    kept = client.enqueue(dmq.Task("ok", {"n": 21}), retention=timedelta(hours=1))
    assert wait_until(lambda: r.zscore(keys.completed(Q), kept.id) is not None and not r.exists(keys.task(Q, plain.id)))
    assert r.hget(keys.task(Q, kept.id), "result") == ('{"doubled":42,"id":"' + kept.id + '"}').encode()
    assert stored(r, Q, kept.id)[0] == "completed"
    assert r.get(keys.processed_total(Q)) == b"2"
    w.stop()
    assert r.zcard(keys.ALL_SERVERS) == 0          # presence cleared at stop


def test_retry_then_archive_after_max_retry(start, r, client):
    mux = ServeMux()
    attempts = []

    @mux.handle("flaky")
    def flaky(t):
        attempts.append(t.retry_count)
        raise RuntimeError(f"attempt {t.retry_count} failed")

    start(r, mux)
    info = client.enqueue(dmq.Task("flaky", {}), max_retry=2)
    assert wait_until(lambda: stored(r, Q, info.id)[0] == "archived")
    state, msg = stored(r, Q, info.id)
    assert attempts == [0, 1, 2] and msg.retried == 2 and msg.error_msg == "attempt 2 failed"
    assert r.get(keys.failed_total(Q)) == b"3"
    kinds = [e["e"] for e in events(r, Q) if e["id"] == info.id]
    assert kinds.count("failed") == 2 and kinds[-1] == "archived"


def test_skip_retry_archives_and_revoke_drops(start, r, client):
    mux = ServeMux()

    @mux.handle("skip")
    def skip(t):
        raise dmq.SkipRetry()

    @mux.handle("revoke")
    def revoke(t):
        raise dmq.RevokeTask()

    start(r, mux)
    s = client.enqueue(dmq.Task("skip", {}), max_retry=5)
    v = client.enqueue(dmq.Task("revoke", {}), max_retry=5)
    assert wait_until(lambda: stored(r, Q, s.id)[0] == "archived" and not r.exists(keys.task(Q, v.id)))
    assert stored(r, Q, s.id)[1].error_msg == "skip retry for the task"
    assert r.get(keys.processed_total(Q)) == b"2" and r.get(keys.failed_total(Q)) == b"1"
    assert any(e["e"] == "revoked" and e["id"] == v.id for e in events(r, Q))


def test_a_handler_sees_the_leased_task_whole(start, r, client):
    """What a handler gets: id, queue, type, payload, headers (its own copy), retries, deadline."""
    from datetime import datetime, timezone

    mux = ServeMux()
    seen = {}

    @mux.handle("look")
    def look(t):
        seen.update(id=t.id, queue=t.queue, type=t.type, payload=t.json(), headers=dict(t.headers),
                    retry_count=t.retry_count, max_retry=t.max_retry, deadline=t.deadline)
        t.headers["changed"] = "by handler"
        if t.retry_count == 0:
            raise RuntimeError("once more")

    start(r, mux)
    before = datetime.now(timezone.utc)
    info = client.enqueue(dmq.Task("look", {"n": 1}, headers={"h": "v"}), max_retry=3,
                          timeout=timedelta(seconds=90))
    assert wait_until(lambda: seen.get("retry_count") == 0)
    assert seen["id"] == info.id and seen["queue"] == Q and seen["type"] == "look"
    assert seen["payload"] == {"n": 1} and seen["headers"] == {"h": "v"} and seen["max_retry"] == 3
    assert seen["deadline"].tzinfo is not None
    assert before + timedelta(seconds=89) <= seen["deadline"] <= datetime.now(timezone.utc) + timedelta(seconds=91)
    assert wait_until(lambda: stored(r, Q, info.id)[0] == "retry")
    assert stored(r, Q, info.id)[1].headers == {"h": "v"}      # the handler's change stays its own

def test_unknown_type_retried_then_archived(start, r, client):
    start(r, ServeMux())
    info = client.enqueue(dmq.Task("mystery", {}), max_retry=1)
    assert wait_until(lambda: stored(r, Q, info.id)[0] == "archived")
    assert stored(r, Q, info.id)[1].error_msg == 'handler not found for task "mystery"'
    assert stored(r, Q, info.id)[1].retried == 1


@pytest.mark.parametrize("timeout_s", [1, 2])   # 2 s: a deadline the watcher takes up on its own wake
def test_deadline_frees_slot_and_sets_cancelled(start, r, client, timeout_s):
    mux = ServeMux()
    seen = {}
    release = threading.Event()

    @mux.handle("slow")
    def slow(t):
        seen["deadline"] = t.deadline
        seen["cancelled"] = t.cancelled.wait(30)
        release.wait(30)

    mux.handle("quick", lambda t: seen.setdefault("quick", t.id))
    start(r, mux, concurrency=1, prefetch=0)
    info = client.enqueue(dmq.Task("slow", {}), timeout=timedelta(seconds=timeout_s), max_retry=0)
    assert wait_until(lambda: stored(r, Q, info.id)[0] == "archived")
    assert stored(r, Q, info.id)[1].error_msg == "context deadline exceeded"
    assert seen["cancelled"] is True
    quick = client.enqueue(dmq.Task("quick", {}))       # the only slot is free again
    assert wait_until(lambda: seen.get("quick") == quick.id)
    release.set()


def test_cancel_via_pubsub(start, r, client):
    mux = ServeMux()
    started = threading.Event()

    @mux.handle("long")
    def long(t):
        started.set()
        t.cancelled.wait(30)

    start(r, mux, retry_delay_func=lambda n, e, t: timedelta(hours=1))
    info = client.enqueue(dmq.Task("long", {}), max_retry=3)
    assert started.wait(10)
    assert wait_until(lambda: r.publish(keys.CANCEL_CHANNEL, info.id) > 0, timeout=10, interval=0.1)
    assert wait_until(lambda: stored(r, Q, info.id)[0] == "retry")
    assert stored(r, Q, info.id)[1].error_msg == "context canceled"
    assert any(e["e"] == "canceled" for e in events(r, Q))


def test_async_handler_and_write_result(start, r, client):
    mux = ServeMux()

    @mux.handle("aio")
    async def aio(t):
        await asyncio.sleep(0.01)
        t.write_result({"partial": True})
        return None

    start(r, mux)
    info = client.enqueue(dmq.Task("aio", {}), retention=timedelta(minutes=5))
    assert wait_until(lambda: stored(r, Q, info.id)[0] == "completed")
    assert r.hget(keys.task(Q, info.id), "result") == b'{"partial":true}'


def test_system_exit_does_not_kill_the_pool(start, r, client):
    mux = ServeMux()
    done = []

    @mux.handle("exit")
    def bye(t):
        raise SystemExit(3)

    @mux.handle("kbd")
    def kbd(t):
        raise KeyboardInterrupt()

    mux.handle("after", lambda t: done.append(t.id))
    w = start(r, mux, concurrency=1)
    a = client.enqueue(dmq.Task("exit", {}), max_retry=0)
    b = client.enqueue(dmq.Task("kbd", {}), max_retry=0)
    c = client.enqueue(dmq.Task("after", {}))
    assert wait_until(lambda: done == [c.id] and stored(r, Q, b.id)[0] == "archived")
    assert stored(r, Q, a.id)[1].error_msg == "3"
    assert stored(r, Q, b.id)[1].error_msg == "KeyboardInterrupt"
    assert w.is_running


def test_undecodable_record_archived_others_go_on(start, r, client):
    mux = ServeMux()
    done = []
    mux.handle("fine", lambda t: done.append(t.id))
    r.sadd(keys.ALL_QUEUES, Q)
    r.hset(keys.task(Q, "broken"), mapping={"msg": b"\xff\xfe not protobuf", "state": "pending"})
    r.lpush(keys.pending(Q), "broken")
    good = client.enqueue(dmq.Task("fine", {}))
    start(r, mux)
    assert wait_until(lambda: done == [good.id] and r.zscore(keys.archived(Q), "broken") is not None)
    assert r.hget(keys.task(Q, "broken"), "state") == b"archived"
    err = [e for e in events(r, Q) if e["id"] == "broken"][-1]["err"]
    assert "cannot decode" in err


def test_group_aggregation(start, r, client):
    mux = ServeMux()
    got = []
    mux.handle("batch", lambda t: got.append(t.json()))

    def aggregate(group, tasks):
        return dmq.Task("batch", {"group": group, "items": [t.json()["i"] for t in tasks]})

    start(r, mux, group_aggregator=aggregate, group_grace_period=timedelta(seconds=1),
          group_max_size=3, aggregator_interval=timedelta(seconds=0.1))
    for i in range(4):
        client.enqueue(dmq.Task("item", {"i": i}), group="g1")
    assert wait_until(lambda: len(got) == 2, timeout=15)
    # same-second scores tie, so the order inside a set follows the ids; the split follows max size
    assert sorted(len(g["items"]) for g in got) == [1, 3] and {g["group"] for g in got} == {"g1"}
    assert sorted(i for g in got for i in g["items"]) == [0, 1, 2, 3]
    assert r.zcard(keys.group(Q, "g1")) == 0 and r.zcard(keys.aggregation_sets(Q)) == 0


def test_weighted_and_strict_queue_order(r):
    from dmq_tools.worker.processor import Processor

    cfg = fast_config(queues={"critical": 6, "default": 3, "low": 1})
    p = Processor(None, lambda t: None, cfg, "w")
    firsts = [p.queue_order()[0] for _ in range(3000)]
    assert all(sorted(p.queue_order()) == ["critical", "default", "low"] for _ in range(10))
    share = firsts.count("critical") / len(firsts)
    assert 0.5 < share < 0.7 and firsts.count("low") < firsts.count("default")
    strict = Processor(None, lambda t: None, fast_config(queues={"low": 1, "critical": 6, "default": 3},
                                                        strict_priority=True), "w")
    assert strict.queue_order() == ["critical", "default", "low"]


def test_paused_queue_is_skipped(start, r, client):
    mux = ServeMux()
    done = []
    mux.handle("x", lambda t: done.append(t.queue))
    r.set(keys.paused("slow"), int(time.time()))
    client.enqueue(dmq.Task("x", {}), queue="slow")
    client.enqueue(dmq.Task("x", {}), queue="fast")
    start(r, mux, queues={"slow": 1, "fast": 1})
    assert wait_until(lambda: done == ["fast"])
    assert r.llen(keys.pending("slow")) == 1


def test_scheduled_task_forwarded_and_run(start, r, client):
    mux = ServeMux()
    done = []
    mux.handle("later", lambda t: done.append(t.id))
    start(r, mux)
    info = client.enqueue_in(dmq.Task("later", {}), timedelta(seconds=1))
    assert wait_until(lambda: done == [info.id], timeout=10)


def test_stop_requeues_running_task_and_registry(start, r, client):
    mux = ServeMux()
    started = threading.Event()

    @mux.handle("stuck")
    def stuck(t):
        started.set()
        t.cancelled.wait(30)

    w = start(r, mux, shutdown_timeout=timedelta(seconds=0.2))
    assert w in running()
    info = client.enqueue(dmq.Task("stuck", {}))
    assert started.wait(10)
    w.stop()
    assert w not in running()
    state, msg = stored(r, Q, info.id)
    assert state == "pending" and msg.retried == 0
    assert r.lrange(keys.pending(Q), -1, -1) == [info.id.encode()]


def test_rerun_cell_replaces_equivalent_worker(r):
    def make():
        mux = ServeMux()
        mux.handle("a", lambda t: None)
        return Worker(r, mux, config=fast_config()).start()

    first = make()
    second = make()
    assert not first.is_running and second.is_running
    assert running() == [second]
    with pytest.raises(dmq.DmqError):
        first.start()


def test_process_pool_kills_handler_at_deadline(start, r, client):
    from tests.worker import handlers_for_tests as h

    mux = ServeMux()
    mux.handle("sleepy", h.sleepy)
    mux.handle("echo", h.echo)
    start(r, mux, pool="process", concurrency=1, prefetch=0)
    slow = client.enqueue(dmq.Task("sleepy", {}), timeout=timedelta(seconds=2), max_retry=0)
    fast = client.enqueue(dmq.Task("echo", {"x": 1}), retention=timedelta(minutes=1))
    assert wait_until(lambda: stored(r, Q, slow.id)[0] == "archived" and stored(r, Q, fast.id)[0] == "completed",
                      timeout=30)
    assert stored(r, Q, slow.id)[1].error_msg == "context deadline exceeded"
    assert r.hget(keys.task(Q, fast.id), "result") == ('{"got":{"x":1},"id":"' + fast.id + '"}').encode()


def test_heartbeat_writes_workers_and_extends_lease(start, r, client):
    from dmq_tools.rdb.wire import pb

    mux = ServeMux()
    started = threading.Event()
    release = threading.Event()

    @mux.handle("hold")
    def hold(t):
        started.set()
        release.wait(30)

    w = start(r, mux)
    info = client.enqueue(dmq.Task("hold", {"a": 1}))
    assert started.wait(10)
    wkey = keys.workers(w.state.host, w.state.pid, w.id)
    assert wait_until(lambda: r.hexists(wkey, info.id))
    wi = pb.WorkerInfo()
    wi.ParseFromString(r.hget(wkey, info.id))
    assert wi.server_id == w.id and wi.task_type == "hold" and wi.task_payload == b'{"a":1}'
    r.zadd(keys.lease(Q), {info.id: int(time.time()) + 1})
    assert wait_until(lambda: r.zscore(keys.lease(Q), info.id) > time.time() + 20)
    release.set()


def test_finished_runs_are_not_held_for_the_deadline_watcher(start, r, client):
    """Deadlines far away reach the watcher through a queue; under load it must stay short
    (a second's worth of finished runs once held ~12 MiB at 8,000 tasks/s)."""
    mux = ServeMux()
    mux.handle("n", lambda t: None)
    w = start(r, mux, concurrency=4)
    client.enqueue_many([dmq.Task("n", i) for i in range(3000)])
    assert wait_until(lambda: w.counts.get("succeeded", 0) == 3000, timeout=60)
    processor = w._processor
    assert len(processor._unwatched) <= 1024 + 4
    assert len(processor._heap) <= 1024 + 4 * 5


@pytest.mark.parametrize("prefetch", [None, 0])
def test_every_handler_thread_is_busy_with_blocking_handlers(start, r, client, prefetch):
    """Threads are woken one at a time (Processor._wake_one); a burst of handlers that block
    still has all `concurrency` of them running at once, and never more."""
    conc = 6
    barrier = threading.Barrier(conc, timeout=20)
    lock = threading.Lock()
    now = [0]
    peak = [0]
    mux = ServeMux()

    @mux.handle("block")
    def block(t):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            if t.json()["i"] < conc:
                barrier.wait()        # raises BrokenBarrierError if the others never start
            else:
                time.sleep(0.01)
        finally:
            with lock:
                now[0] -= 1

    start(r, mux, concurrency=conc, prefetch=prefetch)
    infos = client.enqueue_many([dmq.Task("block", {"i": i}) for i in range(3 * conc)])
    assert wait_until(lambda: r.get(keys.processed_total(Q)) == str(3 * conc).encode(), timeout=30)
    assert int(r.get(keys.failed_total(Q)) or 0) == 0, "a handler gave up waiting for the others"
    assert peak[0] == conc
    assert not any(r.exists(keys.task(Q, i.id)) for i in infos)
