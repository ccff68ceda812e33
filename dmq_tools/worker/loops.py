"""The worker's background loops (asynq heartbeat.go, forwarder.go, recoverer.go, janitor.go,
syncer.go, subscriber.go, aggregator.go), each a PeriodicLoop with a testable `run_once()`."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any
from collections.abc import Callable

from ..errors import CodecError
from ..rdb import RDB
from ..rdb.wire import decode_task_message
from ..rdb.worker_ops import CancelSubscription, Outcome, OutcomeKind, ServerState
from ..task import Task
from ._loop import PeriodicLoop
from .config import LeaseExpiredError, WorkerConfig
from .outcomes import retry_plan
from .processor import Processor
from ..clock import utc as _UTC

__all__ = ["Heartbeat", "Forwarder", "Recoverer", "Janitor", "Syncer", "CancelSubscriber", "Aggregator"]

log = logging.getLogger(__name__)


class Heartbeat(PeriodicLoop):
    """Every 5 s: ServerInfo + WorkerInfo (TTL 10 s) and lease extension of running tasks."""

    name = "heartbeat"

    def __init__(self, rdb: RDB, processor: Processor, state: ServerState, config: WorkerConfig) -> None:
        super().__init__(config.heartbeat_interval.total_seconds(), run_at_start=True)
        self.rdb, self.processor, self.state, self.cfg = rdb, processor, state, config

    def run_once(self) -> None:
        self.processor.reclaim_lost()
        self.extend_leases()
        st = self.state
        st.workers = self.processor.worker_states()
        st.active_workers = len(st.workers)
        self.rdb.write_server_state(st, self.cfg.server_ttl)

    def extend_leases(self) -> None:
        now = time.time()
        by_queue: dict[str, list[Any]] = {}
        for run in self.processor.inflight():
            if run.lease_expiry <= now:
                if not run.claimed:
                    self.processor.lease_expired(run)
                continue
            by_queue.setdefault(run.queue, []).append(run)
        lease_s = self.cfg.lease_duration.total_seconds()
        for q, runs in by_queue.items():
            expiry = self.rdb.extend_lease(q, [r.msg.id for r in runs], lease_s).timestamp()
            for r in runs:
                r.lease_expiry = expiry


class Forwarder(PeriodicLoop):
    """Every 5 s: due scheduled and retry tasks -> pending (or back into their group)."""

    name = "forwarder"

    def __init__(self, rdb: RDB, config: WorkerConfig) -> None:
        super().__init__(config.delayed_task_check_interval.total_seconds())
        self.rdb, self.queues = rdb, list(config.queues)

    def run_once(self) -> int:
        return self.each_queue(self.queues, self._forward)

    def _forward(self, q: str) -> int:
        n, bad = self.rdb.forward_report(q)
        for key, text in bad:
            self.report_once(key, f"corrupt state: {text}")
        return n


class Recoverer(PeriodicLoop):
    """Every minute and at start: lease-expired active tasks -> retry or archive; stale
    aggregation sets back into their groups."""

    name = "recoverer"

    def __init__(self, rdb: RDB, config: WorkerConfig, worker_id: str) -> None:
        super().__init__(config.recoverer_interval.total_seconds(), run_at_start=True)
        self.rdb, self.cfg, self.worker_id = rdb, config, worker_id

    def run_once(self) -> int:
        cutoff = datetime.now(_UTC) - self.cfg.lease_duration
        done = self.each_queue(self.cfg.queues, lambda q: self._recover(q, cutoff))
        if done:
            log.info("recoverer: %d task(s) with an expired lease moved to retry/archive", done)
        return done

    def _recover(self, q: str, cutoff: datetime) -> int:
        expired, bad = self.rdb.list_lease_expired_report(q, cutoff)
        for key, text in bad:
            self.report_once(key, f"corrupt state: {text}")
        items = [self._outcome(q, tid, raw) for tid, raw in expired]
        done = 0
        for i in range(0, len(items), 100):
            done += sum(self.rdb.write_outcomes(items[i:i + 100], self.worker_id))
        self.rdb.reclaim_stale_aggregation_sets(q)
        return done

    def _outcome(self, q: str, tid: str, raw: bytes) -> Outcome:
        err = LeaseExpiredError()
        try:
            msg = decode_task_message(raw)
        except CodecError as exc:
            return Outcome(OutcomeKind.ARCHIVE, None, tid, q, event="archived", raw=raw,
                          error=f"dmq: cannot decode task message: {exc}")
        if msg.retried >= msg.retry:
            return Outcome(OutcomeKind.ARCHIVE, msg, tid, q, event="archived", error=str(err))
        task = Task(msg.type, msg.payload, msg.headers)
        task.id, task.queue, task.retry_count, task.max_retry = tid, q, msg.retried, msg.retry
        seconds, failure = retry_plan(self.cfg, msg.retried, err, task)
        return Outcome(OutcomeKind.RETRY, msg, tid, q, event="recovered", error=str(err), retry_delay=seconds,
                      is_failure=failure)


class Janitor(PeriodicLoop):
    """Every 8 s: delete completed tasks whose retention is over."""

    name = "janitor"

    def __init__(self, rdb: RDB, config: WorkerConfig) -> None:
        super().__init__(config.janitor_interval.total_seconds())
        self.rdb, self.cfg = rdb, config

    def run_once(self) -> int:
        return self.each_queue(self.cfg.queues,
                               lambda q: self.rdb.delete_expired_completed(q, self.cfg.janitor_batch_size))


class Syncer(PeriodicLoop):
    """Every 5 s: retry outcome writes that failed while Redis was unreachable."""

    name = "syncer"

    def __init__(self, processor: Processor, config: WorkerConfig) -> None:
        super().__init__(config.syncer_interval.total_seconds())
        self.processor = processor

    def run_once(self) -> int:
        return self.processor.sync_once()


class CancelSubscriber(PeriodicLoop):
    """Listens on `asynq:cancel`; resubscribes every 5 s after a failure."""

    name = "subscriber"

    def __init__(self, rdb: RDB, processor: Processor, config: WorkerConfig) -> None:
        super().__init__(0.0, run_at_start=True)
        self.rdb, self.processor = rdb, processor
        self.retry = config.subscriber_retry.total_seconds()
        self._sub: CancelSubscription | None = None

    def run_once(self) -> None:
        try:
            if self._sub is None:
                self._sub = self.rdb.subscribe_cancel()
            tid = self._sub.get(timeout=0.5)
        except Exception:   # connection lost or closed under us: resubscribe later
            self._close()
            if self._stop.wait(self.retry):
                return
            raise
        if tid and self.processor.cancel(tid):
            log.info("task %s canceled", tid)

    def _close(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        self._close()


class Aggregator(PeriodicLoop):
    """Every min(7 s, grace period): cut due group sets, aggregate them into one task, enqueue it."""

    name = "aggregator"

    def __init__(self, rdb: RDB, config: WorkerConfig, enqueue: Callable[[Task, str], Any]) -> None:
        super().__init__(config.aggregation_interval.total_seconds())
        self.rdb, self.cfg, self.enqueue = rdb, config, enqueue

    def run_once(self) -> int:
        agg = self.cfg.group_aggregator
        if agg is None:
            return 0
        return self.each_queue(self.cfg.queues, lambda q: self._aggregate_queue(q, agg))

    def _aggregate_queue(self, q: str, agg: Callable[[str, list[Any]], Any]) -> int:
        grace = int(self.cfg.group_grace_period.total_seconds())
        max_delay = int(self.cfg.group_max_delay.total_seconds())
        made = 0
        for group in self.rdb.list_groups(q):
            while True:
                set_key = self.rdb.aggregation_check(q, group, grace, max_delay, self.cfg.group_max_size)
                if set_key is None:
                    break
                made += self._aggregate(q, group, set_key, agg)
        return made

    def _aggregate(self, q: str, group: str, set_key: str, agg: Callable[[str, list[Any]], Any]) -> int:
        raws, _deadline = self.rdb.read_aggregation_set(q, set_key)
        tasks = []
        for raw in raws:
            try:
                m = decode_task_message(raw)
            except CodecError as exc:
                log.error("aggregator: skipping an undecodable task in group %s: %s", group, exc)
                continue
            t = Task(m.type, m.payload, m.headers)
            t.id, t.queue, t.retry_count, t.max_retry = m.id, q, m.retried, m.retry
            tasks.append(t)
        try:
            result = agg(group, tasks)
        except Exception:
            log.exception("group_aggregator failed for group %s; the set is reclaimed later", group)
            return 0
        if result is None:
            log.warning("group_aggregator returned None for group %s; its tasks are dropped", group)
        else:
            self.enqueue(result, q)
        self.rdb.delete_aggregation_set(q, set_key)
        return 1
