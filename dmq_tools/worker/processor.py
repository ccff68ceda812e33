"""The processor: a fetch thread, a bounded pool of handler threads, an ack writer and a
deadline watcher (asynq processor.go, with batching).

Fetching: lease up to `free slots` tasks per round trip (one Lua call over the ordered queues);
when nothing is pending, `BLPOP` on the queues' wake keys (~1 s with jitter), which is also the
poll interval for tasks written by Go producers. Acknowledgements go through one writer thread
that pipelines every outcome ready at that moment. Whoever first "claims" a running task decides
its fate: the handler thread (result), the watcher (deadline or cancel), the heartbeat (lease
expired) or stop() (requeue). A claimed handler thread that is still busy is replaced, so the
slot is free again at the deadline even if the handler never looks at `task.cancelled`.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import logging
import math
import queue as queue_mod
import random
import threading
import time
from datetime import datetime, timedelta, timezone
from functools import reduce
from typing import Any, Callable

from ..errors import CodecError, HandlerNotFoundError, InvalidTaskError, RevokeTask, SkipRetry
from ..rdb import RDB
from ..rdb.records import TaskMessage
from ..rdb.wire import decode_task_message
from ..rdb.worker_ops import REDIS_ERRORS, Finish, WorkerState
from ..task import Task, encode_result
from .config import WorkerConfig

__all__ = ["Processor", "DeadlineExceeded", "Canceled", "HandlerError"]

log = logging.getLogger(__name__)
_UTC = timezone.utc
_STOP = object()


class DeadlineExceeded(Exception):
    def __init__(self) -> None:
        super().__init__("context deadline exceeded")


class Canceled(Exception):
    def __init__(self) -> None:
        super().__init__("context canceled")


class HandlerError(Exception):
    """An error raised in a child process, carried back as its text."""


def error_text(exc: BaseException) -> str:
    """What asynq would store as err.Error(): the message, or the class name if it is empty."""
    text = str(exc)
    return text if text else type(exc).__name__


class Running:
    """One leased task from dispatch until its outcome is written."""

    __slots__ = ("msg", "task", "queue", "started", "started_mono", "deadline", "lease_expiry",
                 "_lock", "claimed", "replaced", "executing", "future", "child", "seq")

    def __init__(self, msg: TaskMessage, task: Task, deadline: float, lease_expiry: float) -> None:
        self.msg = msg
        self.task = task
        self.queue = msg.queue
        self.started = time.time()
        self.started_mono = time.perf_counter()
        self.deadline = deadline
        self.lease_expiry = lease_expiry
        self._lock = threading.Lock()
        self.claimed = False
        self.replaced = False
        self.executing = False
        self.future: Any = None
        self.child: Any = None

    def claim(self, replace: bool = False) -> bool:
        with self._lock:
            if self.claimed:
                return False
            self.claimed = True
            self.replaced = replace and self.executing
            return True

    def duration_ms(self) -> float:
        return (time.perf_counter() - self.started_mono) * 1000.0


def compute_deadline(msg: TaskMessage, now: float, default_timeout: float) -> float:
    """asynq §7.6: min(now + timeout, deadline); whole seconds; 30 min when neither is set."""
    if msg.timeout <= 0 and msg.deadline <= 0:
        log.error("task %s has neither timeout nor deadline; using %ss", msg.id, default_timeout)
        return float(int(now + default_timeout))
    if msg.timeout > 0 and msg.deadline > 0:
        return float(min(int(now) + msg.timeout, msg.deadline))
    if msg.timeout > 0:
        return float(int(now) + msg.timeout)
    return float(msg.deadline)


class Processor:
    def __init__(self, rdb: RDB, handler: Callable[[Any], Any], config: WorkerConfig, worker_id: str,
                 run_in_child: Callable[[Any, Running], Any] | None = None) -> None:
        self.rdb = rdb
        self.cfg = config
        self.worker_id = worker_id
        self._mux = handler
        self._run_in_child = run_in_child
        self._lease_s = config.lease_duration.total_seconds()
        qs = config.queues
        g = reduce(math.gcd, qs.values())
        self._names = list(qs)
        self._weighted = [q for q, p in qs.items() for _ in range(p // g)]
        self._strict_order = sorted(qs, key=lambda q: -qs[q])
        self._cv = threading.Condition()
        self._free = config.concurrency + config.prefetch_count
        self._wake_at = max(1, min(config.batch_size, (config.concurrency + config.prefetch_count) // 2))
        self._inflight: dict[str, Running] = {}
        self._inflight_lock = threading.Lock()
        self._work: "queue_mod.SimpleQueue[Any]" = queue_mod.SimpleQueue()
        self._acks: "queue_mod.SimpleQueue[Any]" = queue_mod.SimpleQueue()
        self._stop_fetch = threading.Event()
        self._threads: list[threading.Thread] = []
        self._heap: list[tuple[float, int, Running]] = []
        self._heap_cv = threading.Condition()
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_lock = threading.Lock()
        self._closing = False
        self._no_respawn = False
        self._fetch_lock = threading.Lock()
        self.sync_backlog: list[tuple[Finish, float]] = []     # for the syncer
        self._backlog_lock = threading.Lock()
        self.counts = {"succeeded": 0, "failed": 0, "retried": 0, "archived": 0, "revoked": 0, "requeued": 0}
        self._pool_seq = itertools.count()

    # ---- lifecycle ----
    def start(self) -> None:
        for _ in range(self.cfg.concurrency):
            self._spawn_pool_thread()
        for target, name in ((self._ack_loop, "acks"), (self._watch_loop, "deadlines"), (self._fetch_loop, "fetch")):
            t = threading.Thread(target=target, name=f"dmq-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def _spawn_pool_thread(self) -> None:
        t = threading.Thread(target=self._pool_loop, name=f"dmq-handler-{next(self._pool_seq)}", daemon=True)
        t.start()

    def stop_fetching(self) -> None:
        self._stop_fetch.set()
        with self._cv:
            self._cv.notify_all()

    def running(self) -> list[Running]:
        with self._inflight_lock:
            return [r for r in self._inflight.values() if not r.claimed]

    def inflight(self) -> list[Running]:
        with self._inflight_lock:
            return list(self._inflight.values())

    def shutdown(self, timeout: float) -> None:
        """Stop fetching, wait up to `timeout` for handlers, requeue the rest, flush acks."""
        self.stop_fetching()
        with self._fetch_lock:   # a dequeue in flight finishes (and dispatches) first
            pass
        end = time.monotonic() + timeout
        while self.running() and time.monotonic() < end:
            time.sleep(0.01)
        self._no_respawn = True
        for run in self.running():
            self._expire(run, "shutdown")
        self._closing = True
        self._acks.put(_STOP)
        with self._heap_cv:
            self._heap_cv.notify_all()
        for t in self._threads:
            t.join(0.2 if t.name == "dmq-fetch" else 5.0)
        late: list[Finish] = []
        while True:
            try:
                item = self._acks.get_nowait()
            except queue_mod.Empty:
                break
            if item is not _STOP:
                late.append(item)
        if late:
            self.write(late)
        for _ in range(self.cfg.concurrency):
            self._work.put(None)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    # ---- queue order (asynq §7.2) ----
    def queue_order(self) -> list[str]:
        if self.cfg.strict_priority:
            return self._strict_order
        if len(self._names) == 1:
            return self._names
        shuffled = self._weighted[:]
        random.shuffle(shuffled)
        return list(dict.fromkeys(shuffled))

    # ---- fetching ----
    def _fetch_loop(self) -> None:
        backoff = 0.05
        interval = self.cfg.task_check_interval.total_seconds()
        while not self._stop_fetch.is_set():
            with self._cv:
                while self._free <= 0 and not self._stop_fetch.is_set():
                    self._cv.wait(0.5)
                n = min(self._free, self.cfg.batch_size)
            try:
                with self._fetch_lock:
                    if self._stop_fetch.is_set():
                        break
                    got = self.rdb.dequeue(self.queue_order(), n, self._lease_s, self.worker_id)
                    if got:
                        self._dispatch(got)
                backoff = 0.05
            except REDIS_ERRORS as exc:
                log.warning("fetch: Redis unreachable (%s); retrying in %.2fs", exc, backoff)
                self._stop_fetch.wait(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            except Exception:
                log.exception("fetch: dequeue failed")
                self._stop_fetch.wait(1.0)
                continue
            if got:
                continue
            try:
                woke = self.rdb.wait_for_wake(self._names, interval / 2 + random.random() * interval)
            except REDIS_ERRORS as exc:
                log.warning("fetch: Redis unreachable (%s)", exc)
                self._stop_fetch.wait(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if woke and self._stop_fetch.is_set():
                try:   # pass the token on: another worker should take the task
                    self.rdb.notify(woke)
                except REDIS_ERRORS:
                    pass

    def _dispatch(self, got: list[tuple[str, str, bytes]]) -> None:
        now = time.time()
        lease = now + self._lease_s
        default_timeout = self.cfg.default_timeout.total_seconds()
        for queue, tid, raw in got:
            try:
                msg = decode_task_message(raw)
            except CodecError as exc:
                err = f"dmq: cannot decode task message: {exc}"
                log.error("task %s in queue %s does not decode; archiving it: %s", tid, queue, exc)
                self._acks.put(Finish("archive", None, tid, queue, event="archived", error=err, raw=raw))
                continue
            if self._stop_fetch.is_set():   # leased while stopping: give it back at once
                self._acks.put(Finish("requeue", msg, tid, queue, event="requeued"))
                continue
            deadline = compute_deadline(msg, now, default_timeout)
            task = Task(msg.type, msg.payload, msg.headers)
            task.id, task.queue, task.retry_count, task.max_retry = tid, msg.queue, msg.retried, msg.retry
            task.deadline = datetime.fromtimestamp(deadline, _UTC)
            task._result_writer = _ResultWriter(self.rdb, msg.queue, tid)
            run = Running(msg, task, deadline, lease)
            with self._cv:
                self._free -= 1
            with self._inflight_lock:
                self._inflight[tid] = run
            self._watch(run)
            self._work.put(run)

    def _release_slot(self) -> None:
        with self._cv:
            self._free += 1
            # wake the fetcher only once a worthwhile batch can be leased (fewer wake-ups)
            if self._free >= self._wake_at:
                self._cv.notify()

    # ---- running handlers ----
    def _pool_loop(self) -> None:
        while True:
            run = self._work.get()
            if run is None:
                return
            if run.claimed:
                continue
            run.executing = True
            outcome = self._execute(run)
            run.executing = False
            if run.claim():
                self._acks.put(outcome)
                self._release_slot()
            elif run.replaced:
                return   # the watcher freed our slot and started a replacement thread

    def _execute(self, run: Running) -> Finish:
        task = run.task
        if run.deadline <= time.time():
            return self.failure(run, DeadlineExceeded())
        try:
            handler = self._mux
            if self._run_in_child is not None:
                result = self._run_in_child(handler, run)
            else:
                result = handler(task)
                if inspect.isawaitable(result):
                    result = self._await(run, result)
        except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt must not kill the pool
            return self.failure(run, exc)
        return self.success(run, result)

    def _await(self, run: Running, awaitable: Any) -> Any:
        loop = self._event_loop()

        async def runner() -> Any:
            return await awaitable

        fut = asyncio.run_coroutine_threadsafe(runner(), loop)
        run.future = fut
        if run.claimed:
            fut.cancel()
        return fut.result()

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                t = threading.Thread(target=loop.run_forever, name="dmq-asyncio", daemon=True)
                t.start()
                self._loop = loop
            return self._loop

    def success(self, run: Running, result: Any) -> Finish:
        msg = run.msg
        dur = run.duration_ms()
        if msg.retention > 0:
            data = None
            if result is not None:
                try:
                    data = encode_result(result)
                except InvalidTaskError as exc:
                    log.warning("task %s: result not stored: %s", msg.id, exc)
            return Finish("complete", msg, msg.id, msg.queue, event="succeeded", duration_ms=dur, result=data)
        return Finish("done", msg, msg.id, msg.queue, event="succeeded", duration_ms=dur)

    def failure(self, run: Running, exc: BaseException) -> Finish:
        """asynq's handleFailedMessage: RevokeTask -> done; exhausted or SkipRetry -> archive."""
        msg, task = run.msg, run.task
        err = error_text(exc)
        dur = run.duration_ms()
        if self.cfg.error_handler is not None:
            try:
                self.cfg.error_handler(task, exc)
            except Exception:
                log.exception("error_handler raised")
        if isinstance(exc, RevokeTask):
            log.info("task %s (%s) revoked: %s", msg.id, msg.type, err)
            return Finish("done", msg, msg.id, msg.queue, event="revoked", duration_ms=dur)
        quiet = isinstance(exc, (SkipRetry, HandlerNotFoundError, DeadlineExceeded, Canceled, HandlerError))
        if quiet:
            log.warning("task %s (%s) failed: %s", msg.id, msg.type, err)
        else:
            log.error("task %s (%s) failed: %s", msg.id, msg.type, err, exc_info=exc)
        if msg.retried >= msg.retry or isinstance(exc, SkipRetry):
            return Finish("archive", msg, msg.id, msg.queue, event="archived", error=err, duration_ms=dur)
        try:
            delay = self.cfg.retry_delay_func(msg.retried, exc, task)
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        except Exception:
            log.exception("retry_delay_func raised; using the default")
            from .config import default_retry_delay

            seconds = default_retry_delay(msg.retried).total_seconds()
        try:
            is_failure = bool(self.cfg.is_failure(exc))
        except Exception:
            is_failure = True
        event = "canceled" if isinstance(exc, Canceled) else ("failed" if is_failure else "retried")
        return Finish("retry", msg, msg.id, msg.queue, event=event, error=err, duration_ms=dur,
                      retry_delay=max(seconds, 0.0), is_failure=is_failure)

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
            self._acks.put(Finish("requeue", run.msg, run.msg.id, run.queue, event="requeued"))
        else:
            self._acks.put(self.failure(run, DeadlineExceeded() if reason == "deadline" else Canceled()))
        if run.replaced and not self._no_respawn:
            self._spawn_pool_thread()
        self._release_slot()

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

    def _watch(self, run: Running) -> None:
        with self._heap_cv:
            heap = self._heap
            if len(heap) > 1024 and len(heap) > 4 * (len(self._inflight) + 1):
                heap[:] = [e for e in heap if not e[2].claimed]
                heapq.heapify(heap)
            first = heap[0][0] if heap else math.inf
            heapq.heappush(heap, (run.deadline, next(self._seq), run))
            if run.deadline < first:
                self._heap_cv.notify()

    def _watch_loop(self) -> None:
        with self._heap_cv:
            while not self._closing:
                heap = self._heap
                while heap and heap[0][2].claimed:
                    heapq.heappop(heap)
                wait = heap[0][0] - time.time() if heap else 1.0
                if wait > 0:
                    self._heap_cv.wait(min(wait, 1.0))
                    continue
                _, _, run = heapq.heappop(heap)
                self._heap_cv.release()
                try:
                    self._expire(run, "deadline")
                finally:
                    self._heap_cv.acquire()

    # ---- writing outcomes ----
    def _ack_loop(self) -> None:
        limit = self.cfg.ack_batch_size
        stop = False
        while not stop:
            first = self._acks.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < limit:
                try:
                    item = self._acks.get_nowait()
                except queue_mod.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self.write(batch)

    def write(self, batch: list[Finish]) -> list[Finish]:
        """Write outcomes whose lease is still ours (T13); failed writes go to the sync backlog."""
        now = time.time()
        todo: list[Finish] = []
        for f in batch:
            with self._inflight_lock:
                run = self._inflight.get(f.task_id)
            if run is not None and run.lease_expiry <= now:
                log.warning("task %s: lease expired before its result was written; the recoverer "
                            "will handle it", f.task_id)
                self._forget(f.task_id)
                continue
            todo.append(f)
        if not todo:
            return []
        try:
            codes = self.rdb.finish_many(todo, self.worker_id)
        except REDIS_ERRORS as exc:
            log.warning("could not write %d outcome(s) (%s); the syncer will retry", len(todo), exc)
            self._backlog(todo)
            return todo
        except Exception:
            log.exception("writing %d outcome(s) failed; the syncer will retry", len(todo))
            self._backlog(todo)
            return todo
        for f, ok in zip(todo, codes):
            if not ok:
                log.warning("task %s (%s): not active any more (NOT FOUND); outcome dropped", f.task_id, f.kind)
            else:
                self._count(f)
            self._forget(f.task_id)
        return []

    def _count(self, f: Finish) -> None:
        key = {"done": "revoked" if f.event == "revoked" else "succeeded", "complete": "succeeded",
               "archive": "archived", "requeue": "requeued"}.get(f.kind, "retried")
        self.counts[key] += 1
        if f.kind in ("archive", "retry") and f.is_failure:
            self.counts["failed"] += 1

    def _backlog(self, items: list[Finish]) -> None:
        with self._backlog_lock:
            for f in items:
                with self._inflight_lock:
                    run = self._inflight.get(f.task_id)
                limit = run.lease_expiry if run is not None else time.time() + self._lease_s
                self.sync_backlog.append((f, limit))

    def sync_once(self) -> int:
        """The syncer's work: retry backlogged writes until their lease deadline; the number written."""
        with self._backlog_lock:
            items, self.sync_backlog = self.sync_backlog, []
        now = time.time()
        live = []
        for f, limit in items:
            if limit <= now:
                log.warning("task %s: dropping its unwritten outcome (lease over); the recoverer will "
                            "handle it", f.task_id)
                self._forget(f.task_id)
            else:
                live.append((f, limit))
        if not live:
            return 0
        try:
            codes = self.rdb.finish_many([f for f, _ in live], self.worker_id)
        except REDIS_ERRORS:
            with self._backlog_lock:
                self.sync_backlog[:0] = live
            raise
        for (f, _), ok in zip(live, codes):
            if ok:
                self._count(f)
            self._forget(f.task_id)
        return sum(codes)

    def _forget(self, task_id: str) -> None:
        with self._inflight_lock:
            self._inflight.pop(task_id, None)

    def worker_states(self) -> list[WorkerState]:
        return [WorkerState(r.msg.id, r.msg.type, r.msg.payload, r.queue,
                            datetime.fromtimestamp(r.started, _UTC), datetime.fromtimestamp(r.deadline, _UTC))
                for r in self.running()]


class _ResultWriter:
    """task.write_result(): HSET result now (asynq's ResultWriter)."""

    __slots__ = ("rdb", "queue", "task_id")

    def __init__(self, rdb: RDB, queue: str, task_id: str) -> None:
        self.rdb, self.queue, self.task_id = rdb, queue, task_id

    def __call__(self, data: bytes | None) -> None:
        self.rdb.write_result(self.queue, self.task_id, data)
