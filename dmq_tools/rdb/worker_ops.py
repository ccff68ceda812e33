"""Worker transitions: dequeue, done, mark_as_complete, requeue, retry, archive, forward, leases, janitor, presence."""

from __future__ import annotations

from .base import RDBBase

__all__ = ["WorkerOpsMixin"]


class WorkerOpsMixin(RDBBase):
    pass
