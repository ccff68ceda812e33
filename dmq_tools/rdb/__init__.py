"""The storage layer: the only package that knows Redis keys, fields, protobuf and Lua.

`RDB` composes one mixin per concern; each method is a state transition or a query.
"""

from __future__ import annotations

from typing import Any

from .base import RDBBase
from .connection import connect, redact_url, resolve
from .guard import guard
from .inspect import InspectMixin
from .producer import EnqueueRequest, ProducerMixin
from .records import StoredTask, TaskMessage
from .scheduler_ops import SchedulerOpsMixin
from .worker_ops import WorkerOpsMixin

__all__ = ["RDB", "RDBBase", "open_rdb", "connect", "resolve", "redact_url", "EnqueueRequest", "TaskMessage",
           "StoredTask"]


class RDB(ProducerMixin, WorkerOpsMixin, InspectMixin, SchedulerOpsMixin):
    """asynq-compatible storage over one Redis client. Its public methods raise dmq errors for
    Redis's (ConnectionFailedError, RedisTimeoutError, CorruptStateError): see guard.py."""


guard(RDB, local=frozenset({"now_s", "now_ns", "today", "stats_expiry", "queues_to_register", "queue_is_known",
                            "forget_queue"}))


def open_rdb(conn: Any = None, *, rdb: RDB | None = None, **rdb_kwargs: Any) -> tuple[RDB, bool]:
    """(RDB, owned) for what Client, Worker and Inspector accept: a given RDB or redis.Redis is
    shared and never closed by us; a URL or nothing (connect()) opens a connection we own."""
    if rdb is not None:
        return rdb, False
    client, owned = resolve(conn)
    return RDB(client, **rdb_kwargs), owned
