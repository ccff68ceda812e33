"""A lean command path for the hot transitions (enqueue, dequeue, acknowledge).

redis-py's `Redis.execute_command` takes a pooled connection, wraps the call in retry, telemetry
and response-callback layers, then gives the connection back: on redis-py 8 that is ~70 µs of
client CPU per command, more than the loopback round trip itself (measured in benchmarks/README.md).
`LeanExecutor` keeps its own stack of connections made by the client's pool (same address, TLS,
credentials and timeouts) and talks to them directly: pack, send, read. Each call owns its
connection exclusively, so it is thread-safe without locks.

Semantics kept from redis-py: error replies raise `ResponseError` (NoScriptError, ...), a broken
connection is retried once on a fresh socket (as redis-py's default retry does), and a
connection that failed mid-reply is dropped. Clients without a plain connection pool (Redis
Cluster) fall back to redis-py's own calls.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, ResponseError

try:  # redis[hiredis] is a dependency; without it redis-py's own packer is used
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover
    _hiredis_pack = None

__all__ = ["LeanExecutor"]


class LeanExecutor:
    """Direct pack/send/read on connections of our own, made by the client's pool."""

    def __init__(self, client: "redis.Redis[Any]") -> None:
        self._client = client
        pool = getattr(client, "connection_pool", None)
        self._pool = pool if pool is not None and hasattr(pool, "make_connection") else None
        self._idle: list[Any] = []
        self._pid = os.getpid()
        encoding = str(getattr(self._pool, "connection_kwargs", {}).get("encoding", "utf-8")).lower()
        # our commands are str/bytes/int/float tokens: hiredis packs them as redis-py would
        self._fast_pack = _hiredis_pack if encoding in ("utf-8", "utf8") else None

    def _pack(self, conn: Any, args: Sequence[Any]) -> Any:
        if self._fast_pack is not None:
            return [self._fast_pack(tuple(args))]   # send_packed_command takes a list of chunks
        return conn.pack_command(*args)

    def _pack_many(self, conn: Any, commands: Sequence[Sequence[Any]]) -> Any:
        if self._fast_pack is not None:
            pack = self._fast_pack
            return [b"".join([pack(tuple(c)) for c in commands])]
        return conn.pack_commands(commands)

    def _take(self) -> Any:
        """An idle connection of ours, a new one, or None when the pool's max_connections is
        reached (the caller then goes through redis-py's own path, which waits for the pool)."""
        if self._pid != os.getpid():  # forked: the parent's sockets are not ours
            self._idle, self._pid = [], os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            assert self._pool is not None
            try:
                return self._pool.make_connection()
            except MaxConnectionsError:
                return None

    def execute(self, *args: Any) -> Any:
        """One command, one round trip; error replies raise."""
        conn = self._take() if self._pool is not None else None
        if conn is None:
            return self._client.execute_command(*args)
        try:
            packed = self._pack(conn, args)
            try:
                conn.send_packed_command(packed)
                return conn.read_response()
            except RedisConnectionError:
                conn.disconnect()  # stale socket (server restarted): one fresh try, as redis-py
                conn.send_packed_command(packed)
                return conn.read_response()
        except ResponseError:
            raise
        except BaseException:
            conn.disconnect()
            raise
        finally:
            self._idle.append(conn)

    def execute_many(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Many commands in one round trip (no MULTI); error replies come back as values."""
        if not commands:
            return []
        conn = self._take() if self._pool is not None else None
        if conn is None:
            pipe = self._client.pipeline(transaction=False)
            for args in commands:
                pipe.execute_command(*args)
            return pipe.execute(raise_on_error=False)
        try:
            packed = self._pack_many(conn, commands)
            try:
                conn.send_packed_command(packed)
                first = self._read_one(conn)
            except RedisConnectionError:
                conn.disconnect()
                conn.send_packed_command(packed)
                first = self._read_one(conn)
            return [first, *(self._read_one(conn) for _ in range(len(commands) - 1))]
        except BaseException:
            conn.disconnect()
            raise
        finally:
            self._idle.append(conn)

    def stream(self, chunks: Iterable[Sequence[Sequence[Any]]]) -> list[Any]:
        """Send each chunk of commands as soon as the iterator yields it, read every reply at the
        end: the caller builds chunk k+1 while Redis runs chunk k. Error replies come back as values.
        A broken connection raises with `dmq_replies_read` set on the exception."""
        conn = self._take() if self._pool is not None else None
        if conn is None:
            return self.execute_many([c for chunk in chunks for c in chunk])
        replies: list[Any] = []
        try:
            sent = 0
            for chunk in chunks:
                if chunk:
                    conn.send_packed_command(self._pack_many(conn, chunk))
                    sent += len(chunk)
            for _ in range(sent):
                replies.append(self._read_one(conn))
            return replies
        except BaseException as exc:
            conn.disconnect()
            exc.dmq_replies_read = len(replies)  # type: ignore[attr-defined]
            raise
        finally:
            self._idle.append(conn)

    @staticmethod
    def _read_one(conn: Any) -> Any:
        try:
            return conn.read_response()
        except ResponseError as exc:
            return exc

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            try:
                conn.disconnect()
            except Exception:  # pragma: no cover - best effort
                pass
