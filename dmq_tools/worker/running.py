"""What a leased task is while it runs here, and asynq's deadline rule."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..rdb import RDB
from ..rdb.records import TaskMessage
from ..task import Task

__all__ = ["Running", "DeadlineExceeded", "Canceled", "HandlerError", "error_text", "compute_deadline",
           "ResultWriter"]

log = logging.getLogger(__name__)


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


class ResultWriter:
    """task.write_result(): HSET result now (asynq's ResultWriter)."""

    __slots__ = ("rdb", "queue", "task_id")

    def __init__(self, rdb: RDB, queue: str, task_id: str) -> None:
        self.rdb, self.queue, self.task_id = rdb, queue, task_id

    def __call__(self, data: bytes | None) -> None:
        self.rdb.write_result(self.queue, self.task_id, data)
