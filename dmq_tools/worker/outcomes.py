"""How a finished task becomes an outcome (asynq's handleFailedMessage) and the one retry policy;
writing outcomes is OutcomeWriter's job (outcome_writer.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from ..errors import HandlerNotFoundError, InvalidTaskError, RevokeTask, SkipRetry
from ..rdb.worker_ops import Outcome, OutcomeKind, WorkerState
from ..task import encode_result
from .config import WorkerConfig, default_retry_delay
from .failure_log import FailureLog
from .running import Cancelled, DeadlineExceeded, HandlerError, Running, error_text
from ..clock import utc as _UTC

__all__ = ["OutcomesMixin", "retry_plan"]

log = logging.getLogger(__name__)
_ARCHIVE = OutcomeKind.ARCHIVE
_COMPLETE = OutcomeKind.COMPLETE
_DONE = OutcomeKind.DONE
_RETRY = OutcomeKind.RETRY


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
    """Part of Processor: needs cfg (the retry policy, error_handler) and running()."""

    cfg: WorkerConfig
    _failure_log: FailureLog

    def running(self) -> list[Running]:  # pragma: no cover - defined by Processor
        raise NotImplementedError

    def success(self, run: Running, result: Any) -> Outcome:
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
            return Outcome(_COMPLETE, msg, msg.id, msg.queue, event="succeeded", duration_ms=dur, result=data)
        return Outcome(_DONE, msg, msg.id, msg.queue, "succeeded", "", dur)   # positional: the hot path

    def failure(self, run: Running, exc: BaseException) -> Outcome:
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
            return Outcome(_DONE, msg, msg.id, msg.queue, event="revoked", duration_ms=dur)
        expected = isinstance(exc, (SkipRetry, HandlerNotFoundError, DeadlineExceeded, Cancelled, HandlerError))
        self._failure_log.failed(msg.id, msg.type, err, exc, expected)
        if msg.retried >= msg.retry or isinstance(exc, SkipRetry):
            return Outcome(_ARCHIVE, msg, msg.id, msg.queue, event="archived", error=err, duration_ms=dur)
        seconds, is_failure = retry_plan(self.cfg, msg.retried, exc, task)
        event = "canceled" if isinstance(exc, Cancelled) else ("failed" if is_failure else "retried")
        return Outcome(_RETRY, msg, msg.id, msg.queue, event=event, error=err, duration_ms=dur,
                      retry_delay=seconds, is_failure=is_failure)

    def worker_states(self) -> list[WorkerState]:
        return [WorkerState(r.msg.id, r.msg.type, r.msg.payload, r.queue,
                            datetime.fromtimestamp(r.started, _UTC), datetime.fromtimestamp(r.deadline, _UTC))
                for r in self.running() if r.began]
