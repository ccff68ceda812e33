"""The producer for asyncio (AsyncClient): redis-py's asyncio clients, the same scripts and bytes.

The script calls (which script, its KEYS and ARGV, the protobuf message) are built by the sync
producer's own code (`ProducerMixin._chunk_calls`), so a task written here is byte-for-byte the
record `Client` writes; only the transport differs: one asyncio pipeline per flush, carrying the
tasks of every coroutine that enqueued while the previous flush was in flight.

Transports, by client type (as the sync RDB picks its path):
- one server, or a Sentinel-managed master: the producer's own connection (made by the client's
  pool, so a Sentinel connection asks the sentinels for the master when it connects).
- Redis Cluster: redis-py's cluster pipeline, which sends each command to the master of its
  slot (one pipeline per node, in parallel). Each script call touches one queue's `{queue}`
  keys, so one slot; `asynq:queues` (no tag, as in asynq) is a separate SADD in the pipeline,
  routed to its own slot. A flush across queues never raises CROSSSLOT.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any
from collections.abc import Sequence

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.exceptions import ClusterError, NoScriptError, RedisClusterException, ResponseError

from ..clock import Clock, SystemClock
from ..errors import ConfigurationError, ConnectionFailedError, ReplicationTimeoutError
from . import keys
from .base import DEFAULT_EVENTS_MAXLEN
from .guard import translate
from .topology import Topology, is_cluster, is_sentinel, is_topology_url, open_async_topology, parse_topology
from .connection import FAILOVER_WAIT_S, _load_dotenv, _source_url, normalize_url, redact_url
from .lean import _hiredis_pack
from .producer import EnqueueRequest, PlainTasks, ProducerMixin, _queue_of, codes_per_task
from .scripts import _SHAS, SOURCES
from .wire import encode_task_message

__all__ = ["AsyncProducer", "open_async_redis", "PlainTasks"]

#: Errors that mean "Redis did not answer" (a Sentinel failover retries them).
_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError, RedisClusterException, ClusterError)


class _CallBuilder(ProducerMixin):
    """The sync producer's call-building half (no connection of its own)."""

    def __init__(self, clock: Clock, events_maxlen: int) -> None:   # noqa: D107 - see class
        self.clock = clock
        self.events_maxlen = events_maxlen
        self._known_queues: dict[str, float] = {}
        self._enqueue_keys: dict[str, tuple[str, str, str, str]] = {}
        self._plain_parts: dict[str, tuple[int, bytes, int, bytes]] = {}
        self._queues_lock = threading.Lock()


#: The TLS options redis.asyncio's SSLConnection takes (the sync one has a few more, OCSP).
_ASYNC_TLS_OPTIONS = ("ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_include_verify_flags",
                      "ssl_exclude_verify_flags", "ssl_ca_certs", "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname",
                      "ssl_min_version", "ssl_ciphers", "ssl_password")


def _same_tls(kw: dict[str, Any], connection_class: type) -> dict[str, Any]:
    """The TLS keyword arguments of a sync client's connections, for an asyncio client."""
    if "SSL" not in connection_class.__name__ and not kw.get("ssl"):
        return {}
    return {"ssl": True, **{k: kw[k] for k in _ASYNC_TLS_OPTIONS if kw.get(k) is not None}}


def _from_sync_topology(conn: Any) -> tuple[Any, str]:
    """An asyncio client of the same cluster or Sentinel master as a sync one (same nodes,
    credentials and TLS)."""
    if is_cluster(conn):
        kw = dict(conn.nodes_manager.connection_kwargs)
        nodes = tuple((n.host, int(n.port)) for n in conn.get_primaries()) or \
            tuple((n.host, int(n.port)) for n in conn.nodes_manager.startup_nodes.values())
        tls = _same_tls(kw, kw.get("connection_class", type(None)))
        top = Topology("cluster", nodes, bool(tls), username=kw.get("username"), password=kw.get("password"),
                       tls_options=tuple((k, v) for k, v in tls.items() if k != "ssl"))
        return open_async_topology(top), top.address()
    pool = conn.connection_pool
    kw = pool.connection_kwargs
    manager = pool.sentinel_manager
    sentinels = tuple((s.connection_pool.connection_kwargs.get("host", "localhost"),
                       int(s.connection_pool.connection_kwargs.get("port", 26379))) for s in manager.sentinels)
    tls = _same_tls(kw, pool.connection_class)
    top = Topology("sentinel", sentinels, bool(tls), pool.service_name, int(kw.get("db") or 0),
                   kw.get("username"), kw.get("password"), tuple((k, v) for k, v in tls.items() if k != "ssl"))
    return open_async_topology(top), top.address()


def open_async_redis(conn: Any = None) -> tuple[Any, bool, str]:
    """(client, owned, address) for what AsyncClient accepts: an asyncio Redis or RedisCluster
    (shared), a sync redis.Redis or RedisCluster (its address and credentials are reused), a URL
    (also `redis+cluster://`, `redis+sentinel://`, see topology.py), or None (REDIS_URL +
    REDIS_PASSWORD, else the embedded server)."""
    if isinstance(conn, (aioredis.Redis, AsyncRedisCluster)):
        return conn, False, "the given asyncio Redis client"
    if is_cluster(conn) or is_sentinel(conn):
        client, address = _from_sync_topology(conn)
        return client, True, address
    if isinstance(conn, redis.Redis):
        kw = conn.connection_pool.connection_kwargs
        common = {k: kw[k] for k in ("db", "password", "username") if kw.get(k) is not None}
        if "path" in kw:
            return aioredis.Redis(unix_socket_path=kw["path"], **common), True, f"unix://{kw['path']}"
        tls = _same_tls(kw, conn.connection_pool.connection_class)   # rediss://: the same TLS settings
        common.update(tls)
        return (aioredis.Redis(host=kw.get("host", "localhost"), port=kw.get("port", 6379),
                               socket_connect_timeout=5, **common), True,
                f"{'rediss' if tls else 'redis'}://{kw.get('host')}:{kw.get('port')}/{kw.get('db', 0)}")
    if conn is not None and not isinstance(conn, str):
        raise ConfigurationError(f"expected a URL, a redis.Redis, a RedisCluster or a redis.asyncio client, "
                                 f"got {type(conn).__name__}")
    _load_dotenv()
    password = os.environ.get("REDIS_PASSWORD") or None
    url = conn
    if url is None:
        url, _ = _source_url()
    if url is None:
        from ..embedded import ensure_running

        url, password = ensure_running().url, None
    if is_topology_url(url):
        top = parse_topology(url, password)   # its errors name the address, never the password
        return open_async_topology(top), True, top.address()
    full = normalize_url(url, password)
    return aioredis.Redis.from_url(full, socket_connect_timeout=5), True, redact_url(full)


class AsyncProducer:
    """Writes EnqueueRequests through one asyncio pipeline per call; a code or an error per task."""

    def __init__(self, client: Any, address: str, *, clock: Clock | None = None,
                 events_maxlen: int = DEFAULT_EVENTS_MAXLEN) -> None:
        self.client = client
        self.address = address
        self.calls = _CallBuilder(clock or SystemClock(), events_maxlen)
        self._conn: Any = None
        self._reused = False    # the last round trip went over a connection kept from before
        self.cluster = isinstance(client, AsyncRedisCluster)
        self.sentinel = is_sentinel(client)

    @property
    def clock(self) -> Clock:
        return self.calls.clock

    unique_key = staticmethod(ProducerMixin.unique_key)

    async def write(self, items: Sequence[EnqueueRequest | PlainTasks], *, wait_replicas: int = 0,
                    wait_timeout_ms: int = 1000) -> list[Any]:
        """Write every item in one round trip; per task 1 (written), 0 (ID conflict),
        -1 (duplicate) or the exception Redis answered for it. A lost connection raises
        ConnectionFailedError naming the address (never the password).

        `wait_replicas=n` (one master, not a cluster): a WAIT on the same connection ends the
        round trip; a written task fewer than n replicas acknowledged within `wait_timeout_ms`
        gets a ReplicationTimeoutError instead of 1."""
        items = list(items)
        calls, spans = self.calls._chunk_calls(items)
        todo = self.calls.queues_to_register({_queue_of(i) for i in items})
        commands: list[tuple[Any, ...]] = [("SADD", keys.ALL_QUEUES, *todo)] if todo else []
        commands += [("EVALSHA", _SHAS[name], len(k), *k, *a) for name, k, a in calls]
        if wait_replicas:
            commands.append(("WAIT", int(wait_replicas), int(wait_timeout_ms)))
        try:
            results, retried = await self._run(commands)
        except _UNREACHABLE as exc:
            for q in todo:
                self.calls.forget_queue(q)
            raise ConnectionFailedError(f"cannot reach Redis at {self.address}: "
                                        f"{type(exc).__name__}: {str(exc)[:200]}") from None
        acked = results.pop() if wait_replicas else None
        if todo:
            sadd, results = results[0], results[1:]
            if isinstance(sadd, Exception):
                for q in todo:
                    self.calls.forget_queue(q)
        codes = [translate(self.client, c) or c if isinstance(c, Exception) else c   # as Client's: dmq errors
                 for c in codes_per_task(spans, results)]
        if retried:   # the first attempt may have written some: "exists" is then our own write
            await self._own_writes(items, codes)
        if wait_replicas:
            got = acked if isinstance(acked, int) else 0
            if got < wait_replicas:
                error = ReplicationTimeoutError(
                    f"the enqueue is on the master but only {got} of {wait_replicas} replica(s) acknowledged it "
                    f"within {wait_timeout_ms} ms" + (f" ({acked})" if isinstance(acked, Exception) else ""))
                codes = [error if c == 1 else c for c in codes]
        return codes

    async def _run(self, commands: list[tuple[Any, ...]]) -> tuple[list[Any], bool]:
        """(replies, retried). A kept connection gone stale (Redis restarted) is retried once on
        a new one; behind Sentinel, a lost or demoted master (redis-py's Sentinel connection
        reports READONLY as a ConnectionError, "The previous master is now a slave") is retried
        with backoff for up to FAILOVER_WAIT_S, each new connection asking the sentinels for the
        master. The scripts refuse an ID that exists, so a write whose reply was lost is not
        made twice."""
        retried = False
        deadline = time.monotonic() + FAILOVER_WAIT_S
        delay = 0.1
        while True:
            try:
                return await self._execute(commands), retried
            except _UNREACHABLE:
                if self.sentinel:
                    if time.monotonic() >= deadline:
                        raise
                    await self._drop_connection()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                elif not self._reused or retried or self.cluster:   # the cluster client retries itself
                    raise
                retried = True

    async def _own_writes(self, items: list[EnqueueRequest | PlainTasks], codes: list[Any]) -> None:
        """After a retry: a task answered "exists" (0) or "duplicate" (-1) whose stored message is
        byte for byte ours was written by the first attempt: its code becomes 1. A PlainTasks ID
        was drawn here, so "exists" is ours without asking."""
        pos = 0
        check: list[tuple[int, EnqueueRequest]] = []
        for item in items:
            n = len(item.ids) if isinstance(item, PlainTasks) else 1
            if isinstance(item, PlainTasks):
                codes[pos:pos + n] = [1 if c == 0 else c for c in codes[pos:pos + n]]
            elif codes[pos] in (0, -1):
                check.append((pos, item))
            pos += n
        if not check:
            return
        stored = await self._execute([("HGET", keys.task(r.message.queue, r.message.id), "msg")
                                      for _, r in check])
        for (i, req), msg in zip(check, stored):
            if isinstance(msg, bytes) and msg == encode_task_message(req.message):
                codes[i] = 1

    async def _execute(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """One pipelined round trip; calls answered NOSCRIPT (they did not run) are sent again
        after SCRIPT LOAD, as the sync Scripts.execute does."""
        send = self._cluster_pipeline if self.cluster else self._pipeline
        results = await send(commands)
        again = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if again:
            if self.cluster:   # SCRIPT LOAD goes to every primary
                for src in SOURCES.values():
                    await self.client.script_load(src)
            else:
                await self._pipeline([("SCRIPT", "LOAD", src) for src in SOURCES.values()])
            for i, value in zip(again, await send([commands[i] for i in again])):
                results[i] = value
        return results

    async def _cluster_pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """redis-py's cluster pipeline: each command to its slot's master (per node, in parallel),
        MOVED/ASK followed; error replies as values."""
        pipe = self.client.pipeline(transaction=False)
        for c in commands:
            pipe.execute_command(*c)
        return list(await pipe.execute(raise_on_error=False))

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.disconnect()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close; it is dropped anyway
                pass

    async def _pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send every command, then read every reply (error replies as values), on the
        producer's own connection (AsyncClient has one write in flight at a time, so one
        connection serves it; the pool's per-checkout health probe is skipped); packed by
        hiredis when present, as the sync path packs."""
        conn = self._conn
        if conn is None:
            conn = self._conn = self.client.connection_pool.make_connection()
        self._reused = conn.is_connected
        try:
            if not conn.is_connected:
                await conn.connect()
            if _hiredis_pack is not None:
                packed: Any = b"".join([_hiredis_pack(tuple(c)) for c in commands])
            else:
                packed = conn.pack_commands(commands)
            await conn.send_packed_command(packed, check_health=False)
            out: list[Any] = []
            for _ in commands:
                try:
                    out.append(await conn.read_response())
                except ResponseError as exc:
                    out.append(exc)
            return out
        except BaseException:
            self._conn = None
            await conn.disconnect()   # replies may be left unread: never reuse this socket
            raise

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except _UNREACHABLE as exc:
            raise ConnectionFailedError(f"cannot reach Redis at {self.address}: {type(exc).__name__}") from None

    async def close(self, *, client: bool = True) -> None:
        """Drop the producer's connection, and the client's pool too when `client`."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.disconnect()
        if client:
            await self.client.aclose()

