"""The storage layer: the only package that knows Redis keys, fields, protobuf and Lua.

`RDB` composes one mixin per concern; each method is a state transition or a query.
"""

from __future__ import annotations

from typing import Any

from .base import RDBBase
from .cluster import ClusterRDBMixin, guard_own
from .connection import connect, redact_url, resolve
from .guard import guard
from .inspect import InspectMixin
from .producer import EnqueueRequest, ProducerMixin
from .replication import ReplicationMixin
from .records import StoredTask, TaskMessage
from .scheduler_ops import SchedulerOpsMixin
from .topology import is_cluster
from .worker_ops import WorkerOpsMixin

__all__ = ["RDB", "ClusterRDB", "RDBBase", "open_rdb", "rdb_for", "connect", "resolve", "redact_url", "EnqueueRequest",
           "TaskMessage", "StoredTask"]


class RDB(ProducerMixin, WorkerOpsMixin, InspectMixin, SchedulerOpsMixin,
          ReplicationMixin):
    """asynq-compatible storage over one Redis client. Its public methods raise dmq errors for
    Redis's (ConnectionFailedError, RedisTimeoutError, CorruptStateError): see guard.py."""


guard(RDB, local=frozenset({"now_s", "now_ns", "today", "stats_expiry", "queues_to_register", "queue_is_known",
                            "forget_queue"}))


class ClusterRDB(ClusterRDBMixin, RDB):
    """RDB over a Redis Cluster client: the cross-queue calls go per queue (see cluster.py)."""


guard_own(ClusterRDB)


def rdb_for(client: Any, **rdb_kwargs: Any) -> RDB:
    """The RDB for `client`: ClusterRDB for a RedisCluster, else RDB (the single-server path)."""
    return ClusterRDB(client, **rdb_kwargs) if is_cluster(client) else RDB(client, **rdb_kwargs)


def open_rdb(conn: Any = None, *, rdb: RDB | None = None, **rdb_kwargs: Any) -> tuple[RDB, bool]:
    """(RDB, owned) for what Client, Worker and Inspector accept: a given RDB or redis.Redis is
    shared and never closed by us; a URL or nothing (connect()) opens a connection we own."""
    if rdb is not None:
        return rdb, False
    client, owned = resolve(conn)
    return rdb_for(client, **rdb_kwargs), owned
