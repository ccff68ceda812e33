"""dmq_tools: a Python task queue on Redis, wire-compatible with asynq, driven from Jupyter.

    import dmq_tools as dmq
    client = dmq.Client()                       # REDIS_URL, else an embedded redis-server
    client.enqueue(dmq.Task("email:deliver", {"to": "a@example.com"}))
"""

from __future__ import annotations

from .client import Client
from .errors import (
    ConfigurationError,
    ConnectionFailedError,
    DmqError,
    DuplicateTaskError,
    QueueNotEmptyError,
    QueueNotFoundError,
    RevokeTask,
    SkipRetry,
    TaskIDConflictError,
    TaskNotFoundError,
)
from .models import QueueInfo, TaskInfo, TaskState
from .rdb.connection import connect
from .task import Task

__version__ = "0.1.0"

__all__ = [
    "connect", "Client", "Task", "TaskInfo", "QueueInfo", "TaskState",
    "DmqError", "ConfigurationError", "ConnectionFailedError", "TaskIDConflictError",
    "DuplicateTaskError", "QueueNotFoundError", "QueueNotEmptyError", "TaskNotFoundError",
    "SkipRetry", "RevokeTask",
]
