"""The dmq error hierarchy: one root, one class per thing a caller can act on.

Handler control-flow signals (`SkipRetry`, `RevokeTask`) are exceptions too, as in asynq,
but they are not failures of dmq itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import TaskInfo

__all__ = [
    "DmqError",
    "ConfigurationError",
    "ConnectionFailedError",
    "RedisTimeoutError",
    "CorruptStateError",
    "MissingDependencyError",
    "CodecError",
    "InvalidTaskError",
    "TaskIDConflictError",
    "DuplicateTaskError",
    "QueueNotFoundError",
    "QueueNotEmptyError",
    "TaskNotFoundError",
    "TaskAlreadyArchivedError",
    "TaskStateError",
    "QueuePausedStateError",
    "ServerClosedError",
    "CorruptStateError",
    "CronSpecError",
    "HandlerNotFoundError",
    "SkipRetry",
    "RevokeTask",
]


class DmqError(Exception):
    """Root of every error dmq_tools raises."""


class ConfigurationError(DmqError, ValueError):
    """A setting or argument is invalid (blank queue, bad URL, unique TTL under 1 s, ...)."""


class ConnectionFailedError(DmqError, ConnectionError):
    """Redis could not be reached. The message names the address, never the password."""


class RedisTimeoutError(ConnectionFailedError, TimeoutError):
    """Redis did not answer within the socket timeout (a stall, a long script, a lost network).
    Whether a write sent just before it went in is unknown."""


class MissingDependencyError(DmqError, ImportError):
    """An optional extra is not installed; the message says which `pip install` fixes it."""


class CodecError(DmqError, ValueError):
    """A payload cannot be encoded, or a stored record cannot be decoded."""


class InvalidTaskError(ConfigurationError):
    """A task is malformed: blank type, payload that is not JSON-serialisable, ..."""


class TaskIDConflictError(DmqError):
    """asynq's ErrTaskIDConflict: a task with this ID already exists in the queue."""

    #: from enqueue_many(on_conflict="raise"): the batch's tasks that were written
    enqueued: list[TaskInfo]

    def __init__(self, message: str = "task ID conflicts with another task") -> None:
        super().__init__(message)
        self.enqueued = []


class DuplicateTaskError(DmqError):
    """asynq's ErrDuplicateTask: the unique lock for this type and payload is held."""

    #: from enqueue_many(on_conflict="raise"): the batch's tasks that were written
    enqueued: list[TaskInfo]

    def __init__(self, message: str = "task already exists") -> None:
        super().__init__(message)
        self.enqueued = []


class QueueNotFoundError(DmqError, LookupError):
    #: the Redis asked (a redacted address), added by the storage layer; None when unknown
    redis: str | None = None

    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__(f"queue {queue!r} does not exist")


class QueueNotEmptyError(DmqError):
    def __init__(self, queue: str, message: str | None = None) -> None:
        self.queue = queue
        super().__init__(message or f"queue {queue!r} is not empty")


class TaskNotFoundError(DmqError, LookupError):
    redis: str | None = None   # as QueueNotFoundError.redis

    def __init__(self, queue: str, task_id: str) -> None:
        self.queue, self.task_id = queue, task_id
        super().__init__(f"cannot find task with id={task_id!r} in queue {queue!r}")


class TaskAlreadyArchivedError(DmqError):
    def __init__(self, queue: str, task_id: str) -> None:
        self.queue, self.task_id = queue, task_id
        super().__init__(f"task already archived: id={task_id!r} queue={queue!r}")


class TaskStateError(DmqError):
    """The operation is not allowed in the task's current state (e.g. deleting an active task)."""


class QueuePausedStateError(DmqError):
    """Pausing a paused queue, or resuming one that is not paused."""


class ServerClosedError(DmqError):
    """The worker or scheduler has been stopped and cannot be used again."""


class ReplicationTimeoutError(DmqError):
    """Fewer replicas than `Client(wait_replicas=n)` asked for acknowledged an enqueue in time.
    The task is written on the master; a failover before it replicates may lose it."""


class CorruptStateError(DmqError):
    """A Redis key holds the wrong type or an unreadable record (written by hand or by a buggy
    tool); the call that raised it wrote nothing. The message names the key when known; `key`,
    `found` and `expected` say what is wrong (None when Redis did not tell)."""

    def __init__(self, message: str | None = None, *, key: str | None = None, found: str | None = None,
                 expected: str | None = None) -> None:
        self.key, self.found, self.expected = key, found, expected
        super().__init__(message or f"corrupt state: {key} holds a {found}, expected a {expected}")


class CronSpecError(ConfigurationError):
    """A cron spec could not be parsed; the message names the spec."""


class HandlerNotFoundError(DmqError):
    """No handler is registered for a task type (asynq's ErrHandlerNotFound)."""

    def __init__(self, task_type: str) -> None:
        self.task_type = task_type
        super().__init__(f'handler not found for task "{task_type}"')


class SkipRetry(Exception):
    """Raise from a handler to archive the task at once instead of retrying it."""

    def __init__(self, message: str = "skip retry for the task") -> None:
        super().__init__(message)


class RevokeTask(Exception):
    """Raise from a handler to drop the task: it is deleted and counted as processed."""

    def __init__(self, message: str = "revoke task") -> None:
        super().__init__(message)
