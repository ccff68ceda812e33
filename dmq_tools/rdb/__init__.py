"""The storage layer: the only package that knows Redis keys, fields, protobuf and Lua.

`RDB` composes one mixin per concern; each method is a state transition or a query.
"""

from __future__ import annotations

from .base import RDBBase
from .connection import connect, redact_url, resolve
from .inspect import InspectMixin
from .producer import EnqueueRequest, ProducerMixin
from .records import StoredTask, TaskMessage
from .scheduler_ops import SchedulerOpsMixin
from .worker_ops import WorkerOpsMixin

__all__ = ["RDB", "RDBBase", "connect", "resolve", "redact_url", "EnqueueRequest", "TaskMessage", "StoredTask"]


class RDB(ProducerMixin, WorkerOpsMixin, InspectMixin, SchedulerOpsMixin):
    """asynq-compatible storage over one Redis client."""
