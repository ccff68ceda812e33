"""The processor: a bounded pool of handler threads that fetch, run and acknowledge tasks
themselves (leader/followers), plus a deadline watcher (asynq processor.go, with batching).

Thread wake-ups are expensive, so there is no separate fetch or ack thread. A handler thread
that finds no leased task waiting becomes the fetcher: it leases up to `free capacity` tasks in
one Lua call over the ordered queues, keeps one and hands the rest to the others; when nothing is
pending it `BLPOP`s on the queues' wake keys (~1 s with jitter, also the poll interval for tasks
written by Go producers) and then runs what it finds itself. Outcomes are written by whichever
thread finds no write in progress, all pending ones in one pipelined round trip.

Whoever first "claims" a running task decides its fate: the handler thread (result), the watcher
(deadline or cancel), the heartbeat (lease expired) or shutdown (requeue). A claimed handler
thread that is still busy is replaced, so the slot is free at the deadline even if the handler
never looks at `task.cancelled`.
"""

from __future__ import annotations

import collections
import heapq
import inspect
import itertools
import logging
import math
import random
import threading
import time
from functools import reduce
from typing import Any
from collections.abc import Callable

from ..errors import CodecError
from ..rdb import RDB
from ..rdb.wire import decode_task_message
from ..rdb.worker_ops import REDIS_ERRORS, Outcome, OutcomeKind
from ..task import Task
from ._loop import CorruptReporter
from .async_runner import AsyncRunner
from .config import WorkerConfig
from .failure_log import FailureLog
from .outcome_writer import OutcomeWriter
from .outcomes import OutcomesMixin
from .running import Cancelled, DeadlineExceeded, HandlerError, ResultWriter, Running, compute_deadline

__all__ = ["Processor", "DeadlineExceeded", "Cancelled", "HandlerError", "Running", "compute_deadline"]

log = logging.getLogger(__name__)
_ARCHIVE = OutcomeKind.ARCHIVE
_REQUEUE = OutcomeKind.REQUEUE
#: An outcome waits at most this long for a round trip it can share (then the watcher writes it).
_ACK_MAX_DELAY = 0.05
#: A thread about to run its next task first writes outcomes older than this.
_ACK_SHARE_WINDOW = 0.002


class Processor(OutcomesMixin):
    def __init__(self, rdb: RDB, handler: Callable[[Any], Any], config: WorkerConfig, worker_id: str,
                 run_in_child: Callable[[Any, Running], Any] | None = None) -> None:
        self.rdb = rdb
        self.cfg = config
        self._failure_log = FailureLog(logging.getLogger("dmq_tools.worker"), config.log)
        self.worker_id = worker_id
        self._mux = handler
        self._run_in_child = run_in_child
        self._lease_s = config.lease_duration.total_seconds()
        qs = config.queues
        g = reduce(math.gcd, qs.values())
        self._names = list(qs)
        self._weighted = [q for q, p in qs.items() for _ in range(p // g)]
        self._strict_order = sorted(qs, key=lambda q: -qs[q])
        self._capacity = config.concurrency + config.prefetch_count
        self._default_timeout = config.default_timeout.total_seconds()
        self._cv = threading.Condition()           # guards _ready, _load, _fetching, _exit
        self._ready: collections.deque[Running] = collections.deque()
        self._load = 0                             # leased here and not finished
        self._fetching = False
        self._waiting = 0                          # handler threads waiting in _cv for work
        self._woken = 0                            # of them, notified and not yet awake
        self._idle = False
        self._exit = False
        self._dequeue_lock = threading.Lock()
        self._inflight: dict[str, Running] = {}
        self._inflight_lock = threading.Lock()
        self._stop_fetch = threading.Event()
        self._threads: list[threading.Thread] = []
        self._heap: list[tuple[float, int, Running]] = []
        self._unwatched: collections.deque[Running] = collections.deque()   # deadlines >= 1 s away
        self._heap_cv = threading.Condition()
        self._seq = itertools.count()
        self._async = AsyncRunner()                # async def handlers: a loop per handler thread
        self._closing = False
        self._no_respawn = False
        self.outcomes = OutcomeWriter(rdb, worker_id, config.ack_batch_size, self._lease_s,
                                      self._inflight.get, self._forget, self._forget_many)
        self._pool_seq = itertools.count()
        self.reporter = CorruptReporter()          # keys of the wrong type, logged once
        self._tokens = itertools.count(1)          # one per dequeue call (its receipt)
        self._acked = ""                           # token of the last call whose reply arrived
        # calls whose reply was lost, to give back (the oldest beyond 256 are left to the recoverer)
        self._unsure: collections.deque[tuple[str, list[str]]] = collections.deque(maxlen=256)
        self._skip_wake: set[str] = set()          # queues whose wake key is not a list

    # ---- lifecycle ----
    def start(self) -> None:
        for _ in range(self.cfg.concurrency):
            self._spawn_pool_thread()
        t = threading.Thread(target=self._watch_loop, name="dmq-deadlines", daemon=True)
        t.start()
        self._threads.append(t)

    def _spawn_pool_thread(self) -> None:
        t = threading.Thread(target=self._pool_loop, name=f"dmq-handler-{next(self._pool_seq)}", daemon=True)
        t.start()

    def stop_fetching(self) -> None:
        self._stop_fetch.set()
        with self._cv:
            self._cv.notify_all()
        try:
            self.rdb.interrupt_wait(self.worker_id)
        except REDIS_ERRORS:
            pass

    def running(self) -> list[Running]:
        with self._inflight_lock:
            return [r for r in self._inflight.values() if not r.claimed]

    def inflight(self) -> list[Running]:
        with self._inflight_lock:
            return list(self._inflight.values())

    def shutdown(self, timeout: float) -> None:
        """Stop fetching, requeue what has not started, wait up to `timeout` for handlers,
        requeue the rest, write every pending outcome."""
        self.stop_fetching()
        with self._dequeue_lock:   # a dequeue in flight finishes (and dispatches) first
            if self._unsure:
                try:
                    self._reclaim()
                except REDIS_ERRORS:
                    log.warning("could not give back tasks of %d lost dequeue(s); the recoverer will",
                                len(self._unsure))
        with self._cv:
            waiting, self._ready = list(self._ready), collections.deque()
        for run in waiting:
            if run.claim():
                self.outcomes.add(Outcome(_REQUEUE, run.msg, run.msg.id, run.queue, event="requeued"))
                self._release_slot()
        self.outcomes.flush()
        end = time.monotonic() + timeout
        while self.running() and time.monotonic() < end:
            time.sleep(0.01)
        self._no_respawn = True
        for run in self.running():
            self._expire(run, "shutdown")
        self._closing = True
        with self._cv:
            self._exit = True
            self._cv.notify_all()
        with self._heap_cv:
            self._heap_cv.notify_all()
        for t in self._threads:
            t.join(5.0)
        self.outcomes.flush(wait=True)

    # ---- queue order (asynq §7.2) ----
    def queue_order(self) -> list[str]:
        if self.cfg.strict_priority:
            return self._strict_order
        if len(self._names) == 1:
            return self._names
        shuffled = self._weighted[:]
        random.shuffle(shuffled)
        return list(dict.fromkeys(shuffled))

    # ---- the handler threads ----
    def _pool_loop(self) -> None:
        try:
            self._serve()
        finally:
            self._async.close_thread_loop()

    def _serve(self) -> None:
        while True:
            run = self._next_run()
            if run is None:
                return
            if run.claimed:
                continue
            now = run.begin(self._default_timeout)
            self._watch(run, now)
            run.executing = True
            outcome = self._execute(run, now)
            run.executing = False
            if run.claim():
                self._release_slot()
                self.outcomes.add(outcome)   # written with the next fetch, or by _next_run/the watcher
            elif run.replaced:
                return   # the watcher freed our slot and started a replacement thread

    def _next_run(self) -> Running | None:
        """A leased task to run; fetches (as the one fetcher) when none is waiting."""
        backoff = 0.05
        run: Running | None
        while True:
            with self._cv:
                while True:
                    if self._exit:
                        return None
                    if self._ready:
                        run = self._ready.popleft()
                        if self._ready:
                            self._wake_one()     # more wait: one more thread comes (see _wake_one)
                        break
                    if not self._fetching and not self._stop_fetch.is_set():
                        self._fetching = True
                        run = None
                        n = min(self.cfg.batch_size, self._capacity - self._load)
                        break
                    if self.outcomes.pending:
                        run = None
                        n = -1
                        break
                    self._wait(None)
            if run is not None:
                if self.outcomes.older_than(_ACK_SHARE_WINDOW):
                    self.outcomes.flush()
                return run
            if n == -1:           # someone else fetches: write our outcomes, then wait for work
                self.outcomes.flush()
                with self._cv:
                    if not (self._ready or self._exit or (not self._fetching and not self._stop_fetch.is_set())):
                        self._wait(0.05)
                continue
            try:
                self._fetch(max(n, 1))
                backoff = 0.05
            except REDIS_ERRORS as exc:
                log.warning("fetch: Redis unreachable (%s); retrying in %.2fs", exc, backoff)
                self._stop_fetch.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            except Exception:
                log.exception("fetch: dequeue failed")
                self._stop_fetch.wait(1.0)
            finally:
                with self._cv:
                    self._fetching = False
                    if self._stop_fetch.is_set():
                        self._cv.notify_all()

    def _fetch(self, n: int) -> bool:
        """Lease up to n tasks and queue them here; False when nothing was pending."""
        with self._dequeue_lock:
            if self._stop_fetch.is_set():
                return True
            if self._unsure:
                self._reclaim()
            batch = self.outcomes.take()
            token = str(next(self._tokens))
            queues = self.queue_order()
            try:
                if self._idle and not batch:   # BLPOP the wake keys, dequeue right after: one round trip
                    interval = self.cfg.task_check_interval.total_seconds()
                    codes, _, got = self.rdb.wait_and_dequeue(
                        [], queues, n, self._lease_s, self.worker_id, interval / 2 + random.random() * interval,
                        self._skip_wake, token, self._acked)
                else:
                    codes, got = self.rdb.write_outcomes_and_dequeue(batch or [], queues, n, self._lease_s,
                                                                     self.worker_id, token, self._acked)
            except BaseException as exc:
                if batch:
                    self.outcomes.to_backlog(batch)
                if isinstance(exc, REDIS_ERRORS):   # the call may have run without its reply
                    self._unsure.append((token, queues))
                raise
            finally:
                if batch is not None:
                    self.outcomes.release()
            self._acked = token
            if batch:
                self.outcomes.written(batch, codes)
            if got.corrupt:
                self._skip_wake.update(got.no_wake)
                self._report_corrupt(got.corrupt)
            if got and self._stop_fetch.is_set():     # leased while stopping: give them back now
                self._give_back(got)
                return True
            if got:
                self._dispatch(got)
            self._idle = not got
        return bool(got)

    def _reclaim(self) -> None:
        """Give back what dequeue calls whose reply was lost leased (Redis stalled past the command
        timeout): at once, not after the recoverer's 1-2 minutes and a retry."""
        while self._unsure:
            token, queues = self._unsure[0]
            n = self.rdb.reclaim_dequeue(queues, token, self.worker_id)   # an outage propagates
            self._unsure.popleft()
            if n:
                log.warning("gave back %d task(s) leased by a dequeue whose reply was lost", n)

    def reclaim_lost(self) -> None:
        """The heartbeat's call: give back lost dequeues even while no handler thread fetches."""
        if self._unsure and self._dequeue_lock.acquire(blocking=False):
            try:
                self._reclaim()
            finally:
                self._dequeue_lock.release()

    def _report_corrupt(self, found: list[tuple[str, str, str]]) -> None:
        """Log each key of the wrong type once; the dequeue stepped around it, others run on."""
        for _queue, key, text in found:
            self.reporter.report(key, f"corrupt state: {text}", "fetch")

    def _give_back(self, got: list[tuple[str, str, bytes]]) -> None:
        items = []
        for queue, tid, raw in got:
            try:
                items.append(Outcome(_REQUEUE, decode_task_message(raw), tid, queue, event="requeued"))
            except CodecError:
                items.append(Outcome(_ARCHIVE, None, tid, queue, event="archived", raw=raw,
                                    error="dmq: cannot decode task message"))
        try:
            self.rdb.write_outcomes(items, self.worker_id)
        except REDIS_ERRORS:
            log.warning("could not give back %d task(s) at stop; the recoverer will", len(items))

    def _dispatch(self, got: list[tuple[str, str, bytes]]) -> None:
        """Queue leased tasks for the handler threads; deadlines start when a handler begins."""
        lease = time.time() + self._lease_s
        runs = []
        bad = False
        for queue, tid, raw in got:
            try:
                msg = decode_task_message(raw)
            except CodecError as exc:
                err = f"dmq: cannot decode task message: {exc}"
                log.error("task %s in queue %s does not decode; archiving it: %s", tid, queue, exc)
                self.outcomes.add(Outcome(_ARCHIVE, None, tid, queue, event="archived", error=err, raw=raw))
                bad = True
                continue
            task = Task._leased(msg.type, msg.payload, msg.headers, tid, msg.queue, msg.retried, msg.retry, math.inf,
                                ResultWriter(self.rdb, msg.queue, tid))
            runs.append(Running(msg, task, math.inf, lease))
        if bad:
            self.outcomes.flush()
        if not runs:
            return
        with self._inflight_lock:
            for run in runs:
                self._inflight[run.msg.id] = run
        with self._cv:
            self._load += len(runs)
            self._ready.extend(runs)
            if len(runs) > 1:
                self._wake_one()

    def _wake_one(self) -> None:
        """Wake one waiting handler thread unless a wake is already on its way (the caller
        holds _cv). Leased tasks start threads one at a time: each thread that takes a task
        while more wait wakes the next, so a burst of blocking handlers still has every thread
        busy within a few wake-ups (~50-100 µs each here), while quick handlers are run by the
        threads already awake instead of paying a wake-up, a context switch of ~5-10 µs of CPU
        on this VM, per task (waking one thread per leased task cost 1.3-1.5 switches per no-op
        task; this, ~0.1: benchmarks/README.md, "Hot paths, sixth pass")."""
        if not self._woken and self._waiting:
            self._woken = 1
            self._cv.notify()

    def _wait(self, timeout: float | None) -> None:
        """Wait on _cv for work (the caller holds it), counted for _wake_one. Any return takes
        the wake in flight: a timeout taking it only lets the next wake come sooner."""
        self._waiting += 1
        try:
            self._cv.wait(timeout)
        finally:
            self._waiting -= 1
            self._woken = 0

    def _release_slot(self) -> None:
        with self._cv:
            self._load -= 1

    def _execute(self, run: Running, now: float) -> Outcome:
        task = run.task
        if run.deadline <= now:
            return self.failure(run, DeadlineExceeded())
        try:
            handler = self._mux
            if self._run_in_child is not None:
                result = self._run_in_child(handler, run)
            else:
                result = handler(task)
                if result is not None and inspect.isawaitable(result):
                    result = self._await(run, result)
        except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt must not kill the pool
            return self.failure(run, exc)
        return self.success(run, result)

    def _await(self, run: Running, awaitable: Any) -> Any:
        return self._async.run(run, awaitable)

    # ---- claims from outside the handler thread ----
    def _expire(self, run: Running, reason: str) -> None:
        """Deadline, cancel, lease expiry or shutdown: decide now, free the slot."""
        if not run.claim(replace=True):
            return
        run.task.cancelled.set()
        if run.future is not None:
            run.future.cancel()
        if run.child is not None:
            try:
                run.child.kill()
            except Exception:  # pragma: no cover
                pass
        if reason == "lease":
            log.warning("task %s: lease expired; leaving it to the recoverer", run.msg.id)
            self._forget(run.msg.id)
        elif reason == "shutdown":
            self.outcomes.add(Outcome(_REQUEUE, run.msg, run.msg.id, run.queue, event="requeued"))
        else:
            if reason == "deadline" and run.future is not None:
                self._async.blocked(run)      # log a handler that blocked its event loop
            self.outcomes.add(self.failure(run, DeadlineExceeded() if reason == "deadline" else Cancelled()))
        if run.replaced and not self._no_respawn:
            self._spawn_pool_thread()
        self._release_slot()
        self.outcomes.flush()

    def cancel(self, task_id: str) -> bool:
        """asynq:cancel: fail the task with `context canceled` if it runs here."""
        with self._inflight_lock:
            run = self._inflight.get(task_id)
        if run is None or run.claimed:
            return False
        self._expire(run, "cancel")
        return True

    def lease_expired(self, run: Running) -> None:
        self._expire(run, "lease")

    def _watch(self, run: Running, now: float) -> None:
        if run.deadline >= now + 1.0:
            # the watcher wakes at least once a second and takes it then: soon enough, and the
            # dispatching thread (on its way to the handler) skips the lock and the heap. Under
            # load, every 1,024th does the taking, so finished runs are not held for a second.
            self._unwatched.append(run)
            if len(self._unwatched) >= 1024:
                with self._heap_cv:
                    self._take_unwatched()
            return
        with self._heap_cv:
            first = self._heap[0][0] if self._heap else math.inf
            self._push_watched(run)
            if run.deadline < first:
                self._heap_cv.notify()

    def _take_unwatched(self) -> None:
        """Move deferred deadlines into the heap, dropping runs already finished (the caller
        holds _heap_cv)."""
        unwatched = self._unwatched
        while unwatched:
            run = unwatched.popleft()
            if not run.claimed:
                self._push_watched(run)

    def _push_watched(self, run: Running) -> None:
        """Add a deadline to the heap (the caller holds _heap_cv)."""
        heap = self._heap
        if len(heap) > 1024 and len(heap) > 4 * (len(self._inflight) + 1):
            heap[:] = [e for e in heap if not e[2].claimed]
            heapq.heapify(heap)
        heapq.heappush(heap, (run.deadline, next(self._seq), run))

    def _watch_loop(self) -> None:
        with self._heap_cv:
            while not self._closing:
                self._take_unwatched()
                heap = self._heap
                while heap and heap[0][2].claimed:
                    heapq.heappop(heap)
                wait = heap[0][0] - time.time() if heap else 1.0
                if self.outcomes.older_than(_ACK_MAX_DELAY):
                    self._heap_cv.release()
                    try:
                        self.outcomes.flush()
                    finally:
                        self._heap_cv.acquire()
                    continue
                if wait > 0:
                    self._heap_cv.wait(min(wait, _ACK_MAX_DELAY if self.outcomes.pending else 1.0))
                    continue
                _, _, run = heapq.heappop(heap)
                self._heap_cv.release()
                try:
                    self._expire(run, "deadline")
                finally:
                    self._heap_cv.acquire()

    # ---- what the syncer, the worker and tests read ----
    @property
    def counts(self) -> dict[str, int]:
        return self.outcomes.counts

    @property
    def sync_backlog(self) -> list[tuple[Outcome, float]]:
        return self.outcomes.backlog

    @sync_backlog.setter
    def sync_backlog(self, items: list[tuple[Outcome, float]]) -> None:
        self.outcomes.backlog = items

    def sync_once(self) -> int:
        return self.outcomes.sync_once()

    def _forget(self, task_id: str) -> None:
        with self._inflight_lock:
            self._inflight.pop(task_id, None)

    def _forget_many(self, task_ids: list[str]) -> None:
        inflight = self._inflight
        with self._inflight_lock:
            for task_id in task_ids:
                inflight.pop(task_id, None)
