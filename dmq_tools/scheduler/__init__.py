"""Periodic tasks: `Scheduler` (cron entries -> enqueue, visible to asynq's tools, one fire per
tick across replicas) and `PeriodicTaskManager` (entries from a callable or a YAML/TOML file).

Read the entries and history that schedulers (ours or asynq's) write with
`Inspector.scheduler_entries()` / `Inspector.scheduler_history(entry_id)`.
"""

from __future__ import annotations

from ..errors import CronSpecError
from .cron import parse
from .engine import Scheduler, running, stop_all
from .periodic import PeriodicTaskConfig, PeriodicTaskManager, SyncResult, load_configs

__all__ = [
    "Scheduler", "PeriodicTaskManager", "PeriodicTaskConfig", "SyncResult", "load_configs",
    "CronSpecError", "parse", "running", "stop_all",
]
