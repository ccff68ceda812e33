"""Corrupt state never stops the good work: keys of the wrong type are stepped around, reported
once naming the key, and nothing is left half-moved (a real redis-server, a real worker)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta, timezone

import pytest

import dmq_tools as dmq
from dmq_tools.errors import CorruptStateError, DmqError
from dmq_tools.rdb import RDB, keys
from dmq_tools.rdb.worker_ops import Outcome, OutcomeKind
from dmq_tools.worker import ServeMux, Worker
from dmq_tools.worker.loops import Forwarder, Recoverer
from tests.worker.conftest import fast_config, wait_until


def finish(rdb, kind, m, **kw) -> bool:
    """One outcome through the production path (RDB.write_outcomes, as OutcomeWriter writes it)."""
    return rdb.write_outcomes([Outcome(kind, m, m.id, m.queue, **kw)])[0]


UTC = timezone.utc


def _corrupt(r, key: str) -> None:
    r.delete(key)
    r.set(key, "garbage")


def _mux(done: list):
    mux = ServeMux()

    @mux.handle("job")
    def job(task):
        done.append(task.id)

    return mux


def _errors_naming(caplog, key: str) -> list[str]:
    return [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR and key in rec.getMessage()]


def test_a_corrupt_pending_list_skips_only_its_queue(r, client, caplog):
    caplog.set_level(logging.WARNING, logger="dmq_tools")
    client.enqueue(dmq.Task("job"), queue="bad")
    _corrupt(r, keys.pending("bad"))
    done: list[str] = []
    w = Worker(r, _mux(done), config=fast_config(queues={"bad": 1, "good": 1})).start()
    try:
        infos = [client.enqueue(dmq.Task("job", {"i": i}), queue="good") for i in range(20)]
        assert wait_until(lambda: len(done) == 20, timeout=20)
        time.sleep(1.0)                       # several more dequeues over the corrupt queue
    finally:
        w.stop()
    assert sorted(done) == sorted(i.id for i in infos)
    reports = _errors_naming(caplog, keys.pending("bad"))
    assert len(reports) == 1, reports           # reported once, naming the key
    assert "skipped" in reports[0]
    assert r.get(keys.pending("bad")) == b"garbage"   # left as it is for the operator


def test_a_task_key_of_the_wrong_type_strands_nothing(r, client, caplog):
    caplog.set_level(logging.WARNING, logger="dmq_tools")
    infos = [client.enqueue(dmq.Task("job", {"i": i})) for i in range(5)]
    bad = infos[2].id
    _corrupt(r, keys.task("default", bad))
    done: list[str] = []
    w = Worker(r, _mux(done), config=fast_config(concurrency=1, batch_size=64)).start()
    try:
        assert wait_until(lambda: len(done) == 4, timeout=20)
        assert wait_until(lambda: r.llen(keys.active("default")) == 0, timeout=10)
    finally:
        w.stop()
    assert sorted(done) == sorted(i.id for i in infos if i.id != bad)
    for key in (keys.pending("default"), keys.active("default")):
        assert bad.encode() not in r.lrange(key, 0, -1)
    assert r.zscore(keys.lease("default"), bad) is None
    assert len(_errors_naming(caplog, keys.task("default", bad))) == 1


def test_dequeue_reports_and_leases_the_rest(rdb, r, client):
    infos = [client.enqueue(dmq.Task("job", {"i": i})) for i in range(3)]
    _corrupt(r, keys.task("default", infos[0].id))
    _corrupt(r, keys.pending("other"))
    got = rdb.dequeue(["other", "default"], 10, 30)
    assert sorted(tid for _, tid, _ in got) == sorted(i.id for i in infos[1:])
    assert {key for _, key, _ in got.corrupt} == {keys.pending("other"), keys.task("default", infos[0].id)}
    assert r.llen(keys.active("default")) == 2 and r.zcard(keys.lease("default")) == 2


def test_a_corrupt_lease_key_gives_the_task_back(rdb, r, client):
    info = client.enqueue(dmq.Task("job"))
    _corrupt(r, keys.lease("default"))
    got = rdb.dequeue(["default"], 10, 30)
    assert list(got) == [] and got.corrupt[0][1] == keys.lease("default")
    assert r.lrange(keys.pending("default"), 0, -1) == [info.id.encode()]
    assert r.llen(keys.active("default")) == 0


def test_a_corrupt_wake_key_does_not_make_the_idle_wait_spin(r, client, caplog):
    caplog.set_level(logging.WARNING, logger="dmq_tools")
    r.set(keys.paused("default"), 1)
    client.enqueue(dmq.Task("job"))          # waits in the paused queue
    _corrupt(r, keys.wake("default"))
    done: list[str] = []
    w = Worker(r, _mux(done), config=fast_config()).start()
    try:
        time.sleep(0.5)
        before = r.info("commandstats").get("cmdstat_blpop", {}).get("calls", 0)
        time.sleep(1.0)
        after = r.info("commandstats").get("cmdstat_blpop", {}).get("calls", 0)
        r.delete(keys.paused("default"))
        assert wait_until(lambda: len(done) == 1, timeout=10)   # found by the poll
    finally:
        w.stop()
    assert after - before < 50            # a spinning BLPOP makes thousands a second
    assert len(_errors_naming(caplog, keys.wake("default"))) == 1


def test_forwarder_steps_around_corrupt_keys_and_queues(r, client, caplog):
    caplog.set_level(logging.WARNING, logger="dmq_tools")
    rdb = RDB(r)
    good = [client.enqueue(dmq.Task("job", {"i": i}), queue=q, process_in=timedelta(seconds=1))
            for i, q in enumerate(["a", "a", "b", "c"])]
    _corrupt(r, keys.task("a", good[0].id))
    _corrupt(r, keys.pending("b"))
    time.sleep(1.1)
    r.zadd(keys.scheduled("a"), {good[0].id: 0, good[1].id: 0})
    r.zadd(keys.scheduled("c"), {good[3].id: 0})
    fwd = Forwarder(rdb, fast_config(queues={"a": 1, "b": 1, "c": 1}))
    fwd.run_once()
    fwd.run_once()
    assert r.lrange(keys.pending("a"), 0, -1) == [good[1].id.encode()]
    assert r.zcard(keys.scheduled("a")) == 0       # the corrupt one was dropped, not stuck
    assert r.lrange(keys.pending("c"), 0, -1) == [good[3].id.encode()]   # after the corrupt queue b
    assert r.zcard(keys.scheduled("b")) == 1        # b: nothing moved
    assert len(_errors_naming(caplog, keys.pending("b"))) == 1
    assert len(_errors_naming(caplog, keys.task("a", good[0].id))) == 1


def test_recoverer_drops_a_corrupt_expired_task_and_recovers_the_rest(r, client, caplog):
    caplog.set_level(logging.WARNING, logger="dmq_tools")
    rdb = RDB(r)
    infos = [client.enqueue(dmq.Task("job", {"i": i}), max_retry=3) for i in range(3)]
    got = rdb.dequeue(["default"], 3, -120)      # leases that expired two minutes ago
    assert len(got) == 3
    _corrupt(r, keys.task("default", infos[0].id))
    rec = Recoverer(rdb, fast_config(), "w")
    assert rec.run_once() == 2
    assert r.llen(keys.active("default")) == 0 and r.zcard(keys.lease("default")) == 0
    assert r.zcard(keys.retry("default")) == 2
    assert len(_errors_naming(caplog, keys.task("default", infos[0].id))) == 1


@pytest.mark.parametrize("dest", ["retry", "archived"])
def test_an_outcome_into_a_corrupt_container_moves_nothing(rdb, r, client, dest):
    info = client.enqueue(dmq.Task("job"), max_retry=3)
    (_, tid, raw), = rdb.dequeue(["default"], 1, 30)
    from dmq_tools.rdb.wire import decode_task_message

    msg = decode_task_message(raw)
    _corrupt(r, keys.retry("default") if dest == "retry" else keys.archived("default"))
    with pytest.raises(Exception) as exc:
        if dest == "retry":
            finish(rdb, OutcomeKind.RETRY, msg, event="failed", error="boom")
        else:
            finish(rdb, OutcomeKind.ARCHIVE, msg, event="archived", error="boom")
    assert "WRONGTYPE" in str(exc.value)
    assert r.lrange(keys.active("default"), 0, -1) == [info.id.encode()]   # still active, leased
    assert r.zscore(keys.lease("default"), info.id) is not None


def test_inspector_names_the_corrupt_key(r, client):
    infos = [client.enqueue(dmq.Task("job", {"i": i})) for i in range(3)]
    insp = dmq.Inspector(r)
    _corrupt(r, keys.task("default", infos[1].id))
    listed = insp.list_tasks("default", "pending")
    assert sorted(t.id for t in listed) == sorted([infos[0].id, infos[2].id])   # what can be listed
    with pytest.raises(CorruptStateError) as exc:
        insp.get_task_info("default", infos[1].id)
    assert keys.task("default", infos[1].id) in str(exc.value)
    _corrupt(r, keys.pending("default"))
    for call in (lambda: insp.list_tasks("default", "pending"), lambda: insp.get_queue_info("default"),
                 lambda: insp.count_tasks("default", "pending"),
                 lambda: list(insp.iter_tasks("default", "pending"))):
        with pytest.raises(CorruptStateError) as exc:
            call()
        assert isinstance(exc.value, DmqError) and keys.pending("default") in str(exc.value)
    info = client.enqueue(dmq.Task("job"), queue="z", process_in=timedelta(hours=1))
    _corrupt(r, keys.task("z", info.id))
    assert insp.list_tasks("z", "scheduled") == []   # the only one is unreadable: skipped
    assert insp.rdb.memory_usage("default") > 0
