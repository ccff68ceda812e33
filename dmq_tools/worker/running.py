"""What a leased task is while it runs here, and asynq's deadline rule."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..rdb import RDB
from ..rdb.records import TaskMessage
from ..task import Task

__all__ = ["Running", "DeadlineExceeded", "Cancelled", "HandlerError", "error_text", "compute_deadline",
           "ResultWriter", "ERROR_STORE_CAP", "ERROR_LOG_CAP", "log_line"]

log = logging.getLogger(__name__)
#: Guards every Running's claim: held for a flag check and set, so one lock for all of them
#: (not one allocated per task).
_CLAIM = threading.Lock()


class DeadlineExceeded(Exception):
    def __init__(self) -> None:
        super().__init__("context deadline exceeded")


class Cancelled(Exception):
    """The task was cancelled (asynq:cancel); its text is asynq's, "context canceled"."""

    def __init__(self) -> None:
        super().__init__("context canceled")


Canceled = Cancelled   # the former name


class HandlerError(Exception):
    """An error raised in a child process, carried back as its text (and its traceback, which
    FailureLog shows)."""

    def __init__(self, text: str, child_traceback: str = "") -> None:
        super().__init__(text)
        self.child_traceback = child_traceback


#: Most bytes of an error message stored in Redis (the task's last_err and the history event).
ERROR_STORE_CAP = 64 * 1024
#: Most characters of an error message in one log line.
ERROR_LOG_CAP = 1000


def _cap(text: str, limit: int) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    marker = f" ... [dmq: error message cut, {len(data)} bytes in all]"
    return data[:limit - len(marker)].decode("utf-8", "ignore") + marker


def error_text(exc: BaseException) -> str:
    """What asynq would store as err.Error(): the message, or the class name if it is empty;
    at most ERROR_STORE_CAP bytes (a 20 MB message would be stored twice and fill Redis)."""
    try:
        text = str(exc)
    except Exception as failed:   # a handler's exception whose __str__ raises
        text = f"{type(exc).__name__} (its message could not be read: {type(failed).__name__})"
    return _cap(text, ERROR_STORE_CAP) if text else type(exc).__name__


def log_line(text: str) -> str:
    """An error message as one capped log line."""
    if len(text) > ERROR_LOG_CAP:
        text = text[:ERROR_LOG_CAP] + f" ... [{len(text)} characters in all]"
    return text.replace("\r", "\\r").replace("\n", "\\n")


class Running:
    """One leased task from dispatch until its outcome is written.

    A task leased ahead (prefetch) waits with `began` False: its deadline is computed and its
    start time taken when a handler thread begins it (`begin`), as asynq counts the timeout
    from the start of processing; until then it is not reported as a running worker."""

    __slots__ = ("msg", "task", "queue", "started", "started_mono", "deadline", "lease_expiry",
                 "claimed", "replaced", "executing", "began", "future", "child", "seq")

    def __init__(self, msg: TaskMessage, task: Task, deadline: float, lease_expiry: float) -> None:
        self.msg = msg
        self.task = task
        self.queue = msg.queue
        self.started = 0.0          # set by begin(): a task leased ahead has not started
        self.started_mono = 0.0
        self.deadline = deadline
        self.lease_expiry = lease_expiry
        self.claimed = False
        self.replaced = False
        self.executing = False
        self.began = False
        self.future: Any = None
        self.child: Any = None

    def claim(self, replace: bool = False) -> bool:
        with _CLAIM:
            if self.claimed:
                return False
            self.claimed = True
            self.replaced = replace and self.executing
            return True

    def begin(self, default_timeout: float) -> float:
        """The handler starts now: asynq's deadline from now, the start time reported (and
        returned, for the caller's own checks)."""
        now = time.time()
        self.started = now
        self.started_mono = time.perf_counter()
        self.deadline = compute_deadline(self.msg, now, default_timeout)
        self.task._deadline = self.deadline
        self.began = True
        return now

    def duration_ms(self) -> float:
        return (time.perf_counter() - self.started_mono) * 1000.0 if self.began else 0.0


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


class ResultWriter:
    """task.write_result(): HSET result now (asynq's ResultWriter)."""

    __slots__ = ("rdb", "queue", "task_id")

    def __init__(self, rdb: RDB, queue: str, task_id: str) -> None:
        self.rdb, self.queue, self.task_id = rdb, queue, task_id

    def __call__(self, data: bytes | None) -> None:
        self.rdb.write_result(self.queue, self.task_id, data)
