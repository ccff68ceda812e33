"""OutcomeWriter: the one owner of acknowledgements (issue 18). Finished tasks' outcomes wait in
one buffer, go out in one pipelined round trip (riding with the next dequeue, or flushed by
whichever thread finds no write in progress, or by the deadline watcher after 50 ms), are
written only while the task's lease is ours (asynq's rule, trap T13), and wait in the
Redis-down backlog for the syncer when a write fails, until the lease ends."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..rdb import RDB
from ..rdb.worker_ops import REDIS_ERRORS, Outcome, OutcomeKind
from .running import Running

__all__ = ["OutcomeWriter"]

log = logging.getLogger(__name__)
_ARCHIVE = OutcomeKind.ARCHIVE
_COMPLETE = OutcomeKind.COMPLETE
_DONE = OutcomeKind.DONE
_REQUEUE = OutcomeKind.REQUEUE
_RETRY = OutcomeKind.RETRY

_COUNTER: dict[OutcomeKind | str, str] = {_DONE: "succeeded", _COMPLETE: "succeeded", _ARCHIVE: "archived",
            _REQUEUE: "requeued", _RETRY: "retried"}


class OutcomeWriter:
    """Buffer, flush, lease check, backlog and counts of one worker's outcomes."""

    def __init__(self, rdb: RDB, worker_id: str, batch_size: int, lease_s: float,
                 lookup: Callable[[str], Running | None], forget: Callable[[str], None],
                 forget_many: Callable[[list[str]], None]) -> None:
        self.rdb, self.worker_id, self.batch_size, self.lease_s = rdb, worker_id, batch_size, lease_s
        self._lookup, self.forget = lookup, forget
        self.forget_many = forget_many
        self.lock = threading.Lock()        # guards pending, since, flushing
        self.pending: list[Outcome] = []     # outcomes not sent yet
        self.since = 0.0                    # monotonic time the oldest pending outcome was added
        self.flushing = False               # a thread is writing (or sending with a dequeue)
        self.backlog: list[tuple[Outcome, float]] = []     # (outcome, lease end) for the syncer
        self._backlog_lock = threading.Lock()
        self.counts = {"succeeded": 0, "failed": 0, "retried": 0, "archived": 0, "revoked": 0, "requeued": 0}

    # ---- the buffer ----
    def add(self, outcome: Outcome) -> None:
        with self.lock:
            if not self.pending:
                self.since = time.monotonic()
            self.pending.append(outcome)

    def older_than(self, seconds: float) -> bool:
        """Something waits, for longer than `seconds` (read without the lock: a hint)."""
        return bool(self.pending) and time.monotonic() - self.since > seconds

    def take(self) -> list[Outcome] | None:
        """Everything pending, to send with a dequeue (None if nothing, or another thread writes);
        the caller calls `release()` once the round trip is over."""
        with self.lock:
            if self.flushing or not self.pending:
                return None
            self.flushing = True
            batch, self.pending = self.pending, []
        return self.writable(batch)

    def release(self) -> None:
        with self.lock:
            self.flushing = False

    def flush(self, wait: bool = False) -> None:
        """Write every pending outcome unless another thread is already doing it (`wait`: until
        it is done and nothing is pending)."""
        while True:
            with self.lock:
                if self.flushing:
                    if not wait:
                        return
                    batch = None
                elif not self.pending:
                    return
                else:
                    self.flushing = True
                    batch, self.pending = self.pending[:self.batch_size], self.pending[self.batch_size:]
            if batch is None:
                time.sleep(0.005)
                continue
            try:
                self.write(batch)
            finally:
                self.release()

    # ---- writing ----
    def write(self, batch: list[Outcome]) -> list[Outcome]:
        """Write outcomes whose lease is still ours (T13); failed writes go to the backlog."""
        todo = self.writable(batch)
        if not todo:
            return []
        try:
            codes = self.rdb.write_outcomes(todo, self.worker_id)
        except REDIS_ERRORS as exc:
            log.warning("could not write %d outcome(s) (%s); the syncer will retry", len(todo), exc)
            self.to_backlog(todo)
            return todo
        except Exception:
            log.exception("writing %d outcome(s) failed; the syncer will retry", len(todo))
            self.to_backlog(todo)
            return todo
        self.written(todo, codes)
        return []

    def writable(self, batch: list[Outcome]) -> list[Outcome]:
        """The outcomes whose lease has not ended (the others are left to the recoverer)."""
        now = time.time()
        todo: list[Outcome] = []
        for f in batch:
            run = self._lookup(f.task_id)
            if run is not None and run.lease_expiry <= now:
                log.warning("task %s: lease expired before its result was written; the recoverer "
                            "will handle it", f.task_id)
                self.forget(f.task_id)
                continue
            todo.append(f)
        return todo

    def written(self, todo: list[Outcome], codes: list[bool]) -> None:
        for f, ok in zip(todo, codes):
            if not ok:
                log.warning("task %s (%s): not active any more (NOT FOUND); outcome dropped", f.task_id, f.kind)
            else:
                self.count(f)
        self.forget_many([f.task_id for f in todo])     # one lock round for the batch

    def count(self, f: Outcome) -> None:
        key = "revoked" if f.kind == _DONE and f.event == "revoked" else _COUNTER[f.kind]
        self.counts[key] += 1
        if f.kind in (_ARCHIVE, _RETRY) and f.is_failure:
            self.counts["failed"] += 1

    # ---- the Redis-down backlog ----
    def to_backlog(self, items: list[Outcome]) -> None:
        with self._backlog_lock:
            for f in items:
                run = self._lookup(f.task_id)
                limit = run.lease_expiry if run is not None else time.time() + self.lease_s
                self.backlog.append((f, limit))

    def sync_once(self) -> int:
        """The syncer's work: retry backlogged writes until their lease ends; the number written."""
        with self._backlog_lock:
            items, self.backlog = self.backlog, []
        now = time.time()
        live = []
        for f, limit in items:
            if limit <= now:
                log.warning("task %s: dropping its unwritten outcome (lease over); the recoverer will "
                            "handle it", f.task_id)
                self.forget(f.task_id)
            else:
                live.append((f, limit))
        if not live:
            return 0
        try:
            codes = self.rdb.write_outcomes([f for f, _ in live], self.worker_id)
        except REDIS_ERRORS:
            with self._backlog_lock:
                self.backlog[:0] = live
            raise
        for (f, _), ok in zip(live, codes):
            if ok:
                self.count(f)
            self.forget(f.task_id)
        return sum(codes)
