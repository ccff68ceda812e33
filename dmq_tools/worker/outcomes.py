"""How a finished task becomes an outcome (asynq's handleFailedMessage) and how outcomes are
written: only while the lease is ours (trap T13), failed writes kept for the syncer."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import HandlerNotFoundError, InvalidTaskError, RevokeTask, SkipRetry
from ..rdb import RDB
from ..rdb.worker_ops import REDIS_ERRORS, Finish, WorkerState
from ..task import encode_result
from .config import WorkerConfig, default_retry_delay
from .running import Canceled, DeadlineExceeded, HandlerError, Running, error_text, log_line

__all__ = ["OutcomesMixin", "retry_plan"]

log = logging.getLogger(__name__)
_UTC = timezone.utc


def retry_plan(cfg: WorkerConfig, retried: int, exc: BaseException, task: Any) -> tuple[float, bool]:
    """The one retry policy (a handler's failure and the recoverer's expired lease): the delay
    in seconds (>= 0) from `retry_delay_func`, asynq's default if it raises, and whether the
    error counts as a failure (`is_failure`; True if that raises)."""
    try:
        delay = cfg.retry_delay_func(retried, exc, task)
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    except Exception:
        log.exception("retry_delay_func raised; using the default")
        seconds = default_retry_delay(retried).total_seconds()
    try:
        is_failure = bool(cfg.is_failure(exc))
    except Exception:
        log.exception("is_failure raised; counting the error as a failure")
        is_failure = True
    return max(seconds, 0.0), is_failure


class OutcomesMixin:
    """Part of Processor: needs rdb, cfg, worker_id, counts, _inflight(+_lock), sync_backlog(+_lock)."""

    rdb: RDB
    cfg: WorkerConfig
    worker_id: str
    counts: dict[str, int]
    sync_backlog: list[tuple[Finish, float]]
    _inflight: dict[str, Running]
    _inflight_lock: threading.Lock
    _backlog_lock: threading.Lock
    _lease_s: float

    def running(self) -> list[Running]:  # pragma: no cover - defined by Processor
        raise NotImplementedError

    def success(self, run: Running, result: Any) -> Finish:
        msg = run.msg
        dur = run.duration_ms()
        if msg.retention > 0:
            data = None
            if result is not None:
                try:
                    data = encode_result(result)
                except (InvalidTaskError, ValueError, TypeError) as exc:
                    # the handler ran, its result cannot be kept: archive (a retry would run the
                    # handler again for the same unusable result) with an error that says so
                    return self.failure(run, SkipRetry(
                        f"dmq: the handler's result could not be serialised ({type(result).__name__}): {exc}"))
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
            log.warning("task %s (%s) failed: %s", msg.id, msg.type, log_line(err))
        else:   # the traceback's frames, never the (maybe huge) message a second time
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("task %s (%s) failed: %s: %s\nTraceback (most recent call last):\n%s", msg.id, msg.type,
                      type(exc).__name__, log_line(err), frames.rstrip())
        if msg.retried >= msg.retry or isinstance(exc, SkipRetry):
            return Finish("archive", msg, msg.id, msg.queue, event="archived", error=err, duration_ms=dur)
        seconds, is_failure = retry_plan(self.cfg, msg.retried, exc, task)
        event = "canceled" if isinstance(exc, Canceled) else ("failed" if is_failure else "retried")
        return Finish("retry", msg, msg.id, msg.queue, event=event, error=err, duration_ms=dur,
                      retry_delay=seconds, is_failure=is_failure)

    def write(self, batch: list[Finish]) -> list[Finish]:
        """Write outcomes whose lease is still ours (T13); failed writes go to the sync backlog."""
        todo = self._writable(batch)
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
        self._written(todo, codes)
        return []

    def _writable(self, batch: list[Finish]) -> list[Finish]:
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
        return todo

    def _written(self, todo: list[Finish], codes: list[bool]) -> None:
        for f, ok in zip(todo, codes):
            if not ok:
                log.warning("task %s (%s): not active any more (NOT FOUND); outcome dropped", f.task_id, f.kind)
            else:
                self._count(f)
            self._forget(f.task_id)

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
                for r in self.running() if r.began]
