"""Periodic tasks: `Scheduler` (cron entries -> enqueue), `PeriodicTaskManager` (entries from a
provider), and readers of the scheduler records in Redis (for `dmq cron` and notebooks).
"""

from __future__ import annotations

from typing import Any

from ..errors import CronSpecError
from ..models import SchedulerEnqueueEvent, SchedulerEntry
from ..rdb import RDB, resolve
from .cron import parse
from .engine import Scheduler
from .periodic import PeriodicTaskConfig, PeriodicTaskManager, SyncResult, load_configs

__all__ = [
    "Scheduler", "PeriodicTaskManager", "PeriodicTaskConfig", "SyncResult", "load_configs",
    "CronSpecError", "parse", "read_entries", "read_history",
]


def _rdb(redis: Any) -> tuple[RDB, bool]:
    if isinstance(redis, RDB):
        return redis, False
    conn, owned = resolve(redis)
    return RDB(conn), owned


def read_entries(redis: Any = None) -> list[SchedulerEntry]:
    """Entries of every live scheduler in Redis (ours and asynq's), like `asynq cron ls`."""
    rdb, owned = _rdb(redis)
    try:
        return [SchedulerEntry(id=e.id, spec=e.spec, task_type=e.task_type,
                               task_payload=e.task_payload, opts=tuple(e.enqueue_options),
                               next_enqueue_at=e.next_enqueue_at, prev_enqueue_at=e.prev_enqueue_at)
                for e in rdb.list_scheduler_entries()]
    finally:
        if owned:
            rdb.close()


def read_history(redis: Any, entry_id: str, *, page: int = 1,
                 page_size: int = 30) -> list[SchedulerEnqueueEvent]:
    """One page of an entry's enqueue events, newest first, like `asynq cron history`."""
    rdb, owned = _rdb(redis)
    start = (max(page, 1) - 1) * page_size
    try:
        return [SchedulerEnqueueEvent(task_id=ev.task_id, enqueued_at=ev.enqueued_at)  # type: ignore[arg-type]
                for ev in rdb.list_scheduler_history(entry_id, start, start + page_size - 1)]
    finally:
        if owned:
            rdb.close()
