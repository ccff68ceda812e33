"""Guards that once survived deliberate breakage (issue 18's mutations): each test fails if its
guard is removed. Real redis-server, real worker threads."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import redis

import dmq_tools as dmq
from dmq_tools.rdb import RDB, keys
from dmq_tools.worker import ServeMux, Worker
from dmq_tools.worker.processor import Processor
from tests.worker.conftest import fast_config, wait_until


def test_no_outcome_is_written_once_the_lease_is_over(r, client):
    """asynq's rule (trap T13): a result that arrives after the lease ended is not written; the
    task stays active for the recoverer (OutcomeWriter.writable)."""
    mux = ServeMux()

    @mux.handle("job")
    def job(task):
        time.sleep(2.5)

    info = client.enqueue(dmq.Task("job"))
    cfg = fast_config(concurrency=1, lease_duration=timedelta(seconds=1), heartbeat_interval=timedelta(seconds=60),
                      recoverer_interval=timedelta(seconds=60))
    w = Worker(r, mux, config=cfg).start()
    try:
        assert wait_until(lambda: r.llen(keys.active("default")) == 1, timeout=10)
        time.sleep(3.5)                       # the handler returned after its lease ended
        assert r.lrange(keys.active("default"), 0, -1) == [info.id.encode()]
        assert r.exists(keys.task("default", info.id))
    finally:
        w.stop(timeout=0.5)


def test_an_outcome_does_not_wait_for_the_next_long_task(r, client):
    """The watcher writes outcomes that waited 50 ms: a quick task's success is visible while
    the same thread runs a long one."""
    mux = ServeMux()
    began = threading.Event()

    @mux.handle("quick")
    def quick(task):
        pass

    @mux.handle("long")
    def long(task):
        began.set()
        task.cancelled.wait(4)

    a = client.enqueue(dmq.Task("quick"))
    client.enqueue(dmq.Task("long"))
    w = Worker(r, mux, config=fast_config(concurrency=1)).start()
    try:
        assert began.wait(10)
        assert wait_until(lambda: not r.exists(keys.task("default", a.id)), timeout=1.5)
    finally:
        w.stop(timeout=0.5)


class _StopDuringDequeue(RDB):
    """A real RDB whose dequeue round trip is overtaken by stop(): the worker asked to stop
    while Redis was leasing."""

    processor: Processor | None = None

    def write_outcomes_and_dequeue(self, *a, **kw):
        self.processor.stop_fetching()
        return super().write_outcomes_and_dequeue(*a, **kw)

    def wait_and_dequeue(self, *a, **kw):
        self.processor.stop_fetching()
        return super().wait_and_dequeue(*a, **kw)


def test_tasks_leased_while_stopping_are_given_back(r, client):
    infos = [client.enqueue(dmq.Task("job", {"i": i})) for i in range(3)]
    rdb = _StopDuringDequeue(r)
    ran: list[str] = []
    p = Processor(rdb, lambda t: ran.append(t.id), fast_config(concurrency=2), "w-stop")
    rdb.processor = p
    assert p._fetch(4) is True
    assert ran == []
    assert r.llen(keys.active("default")) == 0 and r.zcard(keys.lease("default")) == 0
    assert sorted(r.lrange(keys.pending("default"), 0, -1)) == sorted(i.id.encode() for i in infos)


def test_the_health_check_runs_on_the_lean_path(redis_url):
    """rdb/lean.py keeps redis-py's health check: once the interval has passed, a PING goes
    before the next command on that connection (and a socket the server closed meanwhile is
    still answered, by the one fresh try)."""
    c = redis.Redis.from_url(redis_url, health_check_interval=1)
    observer = redis.Redis.from_url(redis_url)
    lean = RDB(c).scripts.lean
    assert lean.execute("SET", "dmq:test:hc", "1") == b"OK"

    def pings() -> int:
        return int(observer.info("commandstats").get("cmdstat_ping", {}).get("calls", 0))

    before = pings()
    assert lean.execute("GET", "dmq:test:hc") == b"1"          # within the interval: no PING
    assert pings() == before
    time.sleep(1.2)
    assert lean.execute("GET", "dmq:test:hc") == b"1"
    assert pings() == before + 1                               # the health check ran
    assert observer.client_kill_filter(_type="normal", skipme=True) >= 1
    time.sleep(1.2)
    assert lean.execute("GET", "dmq:test:hc") == b"1"
    c.close()
    observer.close()


def test_one_retry_policy_for_failures_and_expired_leases(r, client):
    """outcomes.retry_plan serves both the handler's failure and the recoverer: a delay function
    that raises falls back to asynq's default, a negative delay is taken as 0, is_failure is asked."""
    from dmq_tools.worker.config import LeaseExpiredError
    from dmq_tools.worker.outcomes import retry_plan

    def bad_delay(n, err, task):
        raise RuntimeError("nope")

    cfg = fast_config(retry_delay_func=bad_delay, is_failure=lambda e: not isinstance(e, LeaseExpiredError))
    seconds, failure = retry_plan(cfg, 0, LeaseExpiredError(), None)
    assert 15 <= seconds <= 15 + 29 and failure is False
    seconds, failure = retry_plan(fast_config(retry_delay_func=lambda n, e, t: -5), 2, ValueError(), None)
    assert seconds == 0.0 and failure is True
