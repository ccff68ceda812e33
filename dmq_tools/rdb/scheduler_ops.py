"""Scheduler records: entries, enqueue history, fire locks."""

from __future__ import annotations

from .base import RDBBase

__all__ = ["SchedulerOpsMixin"]


class SchedulerOpsMixin(RDBBase):
    pass
