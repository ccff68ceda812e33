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
    CorruptStateError,
    DmqError,
    DuplicateTaskError,
    QueueNotEmptyError,
    QueueNotFoundError,
    RedisTimeoutError,
    ReplicationTimeoutError,
    RevokeTask,
    SkipRetry,
    TaskIDConflictError,
    TaskNotFoundError,
)
from .models import QueueInfo, TaskInfo, TaskState
from .rdb.connection import connect
from .task import Task
from .wait import wait_until

__version__ = "0.1.0"

# Heavier parts load on first use (PEP 562), so `import dmq_tools` stays light.
_LAZY = {
    "Worker": "dmq_tools.worker",
    "ServeMux": "dmq_tools.worker",
    "Scheduler": "dmq_tools.scheduler",
    "PeriodicTaskManager": "dmq_tools.scheduler",
    "Inspector": "dmq_tools.inspector",
    "AsyncClient": "dmq_tools.async_client",
    "export": "dmq_tools.export",
    "charts": "dmq_tools.charts",
    "Sandbox": "dmq_tools.sandbox",
}


def running() -> list:
    """Workers and schedulers started in this process and not stopped yet (notebook ghosts)."""
    from .scheduler import running as running_schedulers
    from .worker import running as running_workers

    return [*running_workers(), *running_schedulers()]


def stop_all() -> int:
    """Stop every worker and scheduler of this process gracefully (and the widgets' auto-refresh
    timers); the number of workers and schedulers stopped."""
    from ._timers import stop_all as stop_timers
    from .scheduler import stop_all as stop_schedulers
    from .worker import stop_all as stop_workers

    stop_timers()
    return stop_schedulers() + stop_workers()


def __getattr__(name: str):  # noqa: ANN202 - PEP 562 module attribute
    import importlib

    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'dmq_tools' has no attribute {name!r}")
    module = importlib.import_module(target)
    value = module if target.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "connect", "Client", "Task", "TaskInfo", "QueueInfo", "TaskState",
    "DmqError", "ConfigurationError", "ConnectionFailedError", "RedisTimeoutError", "ReplicationTimeoutError",
    "CorruptStateError",
    "TaskIDConflictError",
    "DuplicateTaskError", "QueueNotFoundError", "QueueNotEmptyError", "TaskNotFoundError",
    "SkipRetry", "RevokeTask", "running", "stop_all", "wait_until", *_LAZY,
]
