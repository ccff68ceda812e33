"""The producer for asyncio (AsyncClient): redis-py's asyncio client, the same scripts and bytes.

The script calls (which script, its KEYS and ARGV, the protobuf message) are built by the sync
producer's own code (`ProducerMixin._chunk_calls`), so a task written here is byte-for-byte the
record `Client` writes; only the transport differs: one asyncio pipeline per flush, carrying the
tasks of every coroutine that enqueued while the previous flush was in flight.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from collections.abc import Sequence

import redis
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from ..clock import Clock, SystemClock
from ..errors import ConfigurationError, ConnectionFailedError
from . import keys
from .base import DEFAULT_EVENTS_MAXLEN
from .guard import translate
from .topology import is_cluster, is_topology_url
from .connection import _load_dotenv, _source_url, normalize_url, redact_url
from .lean import _hiredis_pack
from .producer import EnqueueRequest, PlainTasks, ProducerMixin, _queue_of, codes_per_task
from .scripts import _SHAS, SOURCES

__all__ = ["AsyncProducer", "open_async_redis", "PlainTasks"]


class _CallBuilder(ProducerMixin):
    """The sync producer's call-building half (no connection of its own)."""

    def __init__(self, clock: Clock, events_maxlen: int) -> None:   # noqa: D107 - see class
        self.clock = clock
        self.events_maxlen = events_maxlen
        self._known_queues: dict[str, float] = {}
        self._enqueue_keys: dict[str, tuple[str, str, str, str]] = {}
        self._plain_parts: dict[str, tuple[int, bytes, int, bytes]] = {}
        self._queues_lock = threading.Lock()


def open_async_redis(conn: Any = None) -> tuple[aioredis.Redis, bool, str]:
    """(client, owned, address) for what AsyncClient accepts: an asyncio Redis (shared), a
    sync redis.Redis (its address and credentials are reused), a URL, or None (REDIS_URL +
    REDIS_PASSWORD, else the embedded server)."""
    if isinstance(conn, aioredis.Redis):
        return conn, False, "the given asyncio Redis client"
    if is_cluster(conn) or (isinstance(conn, str) and is_topology_url(conn)) or \
            getattr(getattr(conn, "connection_pool", None), "service_name", None):
        raise ConfigurationError("AsyncClient does not support Redis Cluster or Sentinel yet: use Client "
                                 "(docs/scaling.md)")
    if isinstance(conn, redis.Redis):
        kw = conn.connection_pool.connection_kwargs
        common = {k: kw[k] for k in ("db", "password", "username") if kw.get(k) is not None}
        if "path" in kw:
            return aioredis.Redis(unix_socket_path=kw["path"], **common), True, f"unix://{kw['path']}"
        tls = "SSL" in conn.connection_pool.connection_class.__name__
        if tls:   # rediss://: the same TLS settings
            common.update({k: v for k, v in kw.items() if k.startswith("ssl_") and v is not None}, ssl=True)
        return (aioredis.Redis(host=kw.get("host", "localhost"), port=kw.get("port", 6379),
                               socket_connect_timeout=5, **common), True,
                f"{'rediss' if tls else 'redis'}://{kw.get('host')}:{kw.get('port')}/{kw.get('db', 0)}")
    if conn is not None and not isinstance(conn, str):
        raise ConfigurationError(f"expected a URL, a redis.Redis or a redis.asyncio.Redis, got {type(conn).__name__}")
    _load_dotenv()
    password = os.environ.get("REDIS_PASSWORD") or None
    url = conn
    if url is None:
        url, _ = _source_url()
    if url is None:
        from ..embedded import ensure_running

        url, password = ensure_running().url, None
    if is_topology_url(url):
        raise ConfigurationError("AsyncClient does not support Redis Cluster or Sentinel yet: use Client "
                                 "(docs/scaling.md)")
    full = normalize_url(url, password)
    return aioredis.Redis.from_url(full, socket_connect_timeout=5), True, redact_url(full)


class AsyncProducer:
    """Writes EnqueueRequests through one asyncio pipeline per call; a code or an error per task."""

    def __init__(self, client: aioredis.Redis, address: str, *, clock: Clock | None = None,
                 events_maxlen: int = DEFAULT_EVENTS_MAXLEN) -> None:
        self.client = client
        self.address = address
        self.calls = _CallBuilder(clock or SystemClock(), events_maxlen)
        self._conn: Any = None
        self._reused = False    # the last round trip went over a connection kept from before

    @property
    def clock(self) -> Clock:
        return self.calls.clock

    unique_key = staticmethod(ProducerMixin.unique_key)

    async def write(self, items: Sequence[EnqueueRequest | PlainTasks]) -> list[Any]:
        """Write every item in one round trip; per task 1 (written), 0 (ID conflict),
        -1 (duplicate) or the exception Redis answered for it. A lost connection raises
        ConnectionFailedError naming the address (never the password)."""
        items = list(items)
        calls, spans = self.calls._chunk_calls(items)
        todo = self.calls.queues_to_register({_queue_of(i) for i in items})
        commands: list[tuple[Any, ...]] = [("SADD", keys.ALL_QUEUES, *todo)] if todo else []
        commands += [("EVALSHA", _SHAS[name], len(k), *k, *a) for name, k, a in calls]
        retried = False
        try:
            try:
                results = await self._execute(commands)
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                if not self._reused:
                    raise
                # a kept connection gone stale (Redis restarted since): once more on a new one.
                # The scripts refuse an ID that exists, so a write whose reply was lost is not
                # made twice; its code then says "exists" (see below)
                retried = True
                results = await self._execute(commands)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            for q in todo:
                self.calls.forget_queue(q)
            raise ConnectionFailedError(f"cannot reach Redis at {self.address}: "
                                        f"{type(exc).__name__}: {str(exc)[:200]}") from None
        if todo:
            sadd, results = results[0], results[1:]
            if isinstance(sadd, Exception):
                for q in todo:
                    self.calls.forget_queue(q)
        codes = [translate(self.client, c) or c if isinstance(c, Exception) else c   # as Client's: dmq errors
                 for c in codes_per_task(spans, results)]
        if retried:   # a PlainTasks ID was drawn here: "exists" means the first attempt wrote it
            pos = 0
            for item in items:
                n = len(item.ids) if isinstance(item, PlainTasks) else 1
                if isinstance(item, PlainTasks):
                    codes[pos:pos + n] = [1 if c == 0 else c for c in codes[pos:pos + n]]
                pos += n
        return codes

    async def _execute(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """One pipelined round trip; calls answered NOSCRIPT (they did not run) are sent again
        after SCRIPT LOAD, as the sync Scripts.execute does."""
        results = await self._pipeline(commands)
        again = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if again:
            await self._pipeline([("SCRIPT", "LOAD", src) for src in SOURCES.values()])
            for i, value in zip(again, await self._pipeline([commands[i] for i in again])):
                results[i] = value
        return results

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
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise ConnectionFailedError(f"cannot reach Redis at {self.address}: {type(exc).__name__}") from None

    async def close(self, *, client: bool = True) -> None:
        """Drop the producer's connection, and the client's pool too when `client`."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.disconnect()
        if client:
            await self.client.aclose()

