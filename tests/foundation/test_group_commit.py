"""A Client shared by threads: concurrent enqueues share round trips, each caller gets its own
result, and a lone thread keeps the one-by-one path."""

from __future__ import annotations

import threading

import dmq_tools as dmq


def _hammer(client, threads: int, per: int, queue_of=lambda w: "default"):
    results: dict[int, list] = {w: [] for w in range(threads)}
    barrier = threading.Barrier(threads)

    def producer(w: int) -> None:
        barrier.wait()
        for i in range(per):
            try:
                results[w].append(client.enqueue(dmq.Task("t", {"w": w, "i": i}), queue=queue_of(w)))
            except Exception as exc:   # noqa: BLE001 - collected for the assertions
                results[w].append(exc)

    ts = [threading.Thread(target=producer, args=(w,)) for w in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return results


def _writes(r) -> int:
    stats = r.info("commandstats")
    return sum(stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("evalsha", "exec"))


def test_threads_share_round_trips_and_every_task_is_written_once(r):
    client = dmq.Client(r)
    client.enqueue(dmq.Task("warm"))
    r.config_resetstat()
    results = _hammer(client, threads=32, per=50)
    infos = [i for rs in results.values() for i in rs]
    assert all(isinstance(i, dmq.TaskInfo) for i in infos)
    assert len({i.id for i in infos}) == 1600 and r.llen("asynq:{default}:pending") == 1601
    assert _writes(r) < 1600          # batches: fewer script/transaction calls than tasks
    for w, rs in results.items():     # each thread's tasks in its own order
        assert [i.payload for i in rs] == [dmq.Task("t", {"w": w, "i": n}).payload for n in range(50)]


def test_a_broken_queue_fails_only_its_own_callers(r):
    r.set("asynq:{broken}:pending", "not a list")
    client = dmq.Client(r)
    results = _hammer(client, threads=16, per=20, queue_of=lambda w: "broken" if w % 4 == 0 else "good")
    for w, rs in results.items():
        if w % 4 == 0:
            assert all(isinstance(x, Exception) for x in rs), w
        else:
            assert all(isinstance(x, dmq.TaskInfo) for x in rs), (w, [x for x in rs if isinstance(x, Exception)][:1])
    assert r.llen("asynq:{good}:pending") == 12 * 20


def test_a_lone_thread_writes_each_task_alone(r):
    client = dmq.Client(r)
    client.enqueue(dmq.Task("warm"))
    r.config_resetstat()
    for i in range(20):
        client.enqueue(dmq.Task("t", {"i": i}))
    assert _writes(r) == 20 and r.llen("asynq:{default}:pending") == 21


def test_threads_on_the_default_fast_path_all_finish_and_write_each_task_once(r):
    """Plain tasks without options take Client.enqueue's shortest path (no option checks) and the
    group commit's lock-free claim; threads racing on it must neither strand a waiter (every
    thread ends) nor lose or double a task."""
    client = dmq.Client(r)
    client.enqueue(dmq.Task("warm"))
    results: dict[int, list] = {w: [] for w in range(24)}
    barrier = threading.Barrier(24)

    def producer(w: int) -> None:
        barrier.wait()
        for i in range(80):
            results[w].append(client.enqueue(dmq.Task("t", {"w": w, "i": i})))

    ts = [threading.Thread(target=producer, args=(w,)) for w in range(24)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts)
    infos = [i for rs in results.values() for i in rs]
    assert len(infos) == 24 * 80 and all(i.queue == "default" and i.max_retry == 25 for i in infos)
    assert len({i.id for i in infos}) == 24 * 80 and r.llen("asynq:{default}:pending") == 24 * 80 + 1
