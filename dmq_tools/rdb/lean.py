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

Replies are read through the connection's own `read_response` (its parser, push-message
handling and health check). A direct socket path that fed the hiredis reader itself saved 1-2 µs
per round trip, within this VM's noise, at the price of reading redis-py's private fields: it was
removed (benchmarks/README.md, "Hot paths, fourth pass").

Outcomes a caller must tell apart are typed: `AmbiguousWriteError` (a transaction whose
connection broke after it was sent), `PartialTransactionError` (EXEC applied some commands and
refused one) and `StreamBrokenError` (a stream whose connection broke, with how many replies
were read).
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

__all__ = [
    "AmbiguousWriteError", "Answered", "InFlight", "LeanExecutor", "PartialTransactionError", "SLOT", "Sent",
    "SentTransaction", "StreamBrokenError", "resp_format",
]

#: Bumped in a forked child: an executor made before the fork drops the parent's sockets
#: (cheaper than an os.getpid() system call per command).
_FORKS = [0]
os.register_at_fork(after_in_child=lambda: _FORKS.__setitem__(0, _FORKS[0] + 1))

#: Reply types that cannot be an error (anything else gets a closer look).
_PLAIN_REPLIES = frozenset((bytes, int, list))
_MULTI = b"*1\r\n$5\r\nMULTI\r\n"
_EXEC = b"*1\r\n$4\r\nEXEC\r\n"


#: A per-call argument in `resp_format`.
SLOT = object()


def resp_format(commands: Sequence[Sequence[Any]]) -> bytes:
    """The RESP bytes of `commands` as a %-format: each SLOT argument becomes a hole, filled per
    call with `fmt % (len(v1), v1, len(v2), v2, ...)` (bytes values, in order). About half the
    cost of packing the commands each time, for a hot path whose commands differ in a few
    arguments only (RDB.start_plain_task)."""
    out = []
    for command in commands:
        out.append(b"*%d\r\n" % len(command))
        for arg in command:
            if arg is SLOT:
                out.append(b"$%d\r\n%b\r\n")
                continue
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n" % len(data) + data.replace(b"%", b"%%") + b"\r\n")
    return b"".join(out)


class AmbiguousWriteError(RedisConnectionError):
    """A transaction's connection broke while it was sent or before its replies were read:
    whether EXEC ran is unknown (the caller writes again through a check, see
    RDB.start_plain_task)."""


class PartialTransactionError(ResponseError):
    """A command failed inside EXEC while the others were applied (EXEC does not roll back).
    `replies` holds every command's reply, the failures as ResponseError values."""

    def __init__(self, error: ResponseError, replies: list[Any]) -> None:
        super().__init__(*error.args)
        self.replies = replies


class StreamBrokenError(RedisConnectionError):
    """A stream's connection broke; `replies_read` replies had been read before."""

    def __init__(self, message: str, *, replies_read: int) -> None:
        super().__init__(message)
        self.replies_read = replies_read


def _refusal(queued: list[Any], exec_reply: Any) -> ResponseError:
    """Why a transaction was not applied: the first command refused while queued (its own
    message says more than EXECABORT), else EXEC's reply."""
    for reply in queued:
        if isinstance(reply, ResponseError):
            return reply
    return exec_reply if isinstance(exec_reply, ResponseError) else ResponseError(f"EXEC replied {exec_reply!r}")


class _Wire:
    """Send and read on one connection through redis-py's own methods; errors are redis-py's
    (ConnectionError, TimeoutError) and a failed connection is disconnected, as redis-py does."""

    @staticmethod
    def send(conn: Any, data: bytes) -> None:
        conn.send_packed_command([data])

    @staticmethod
    def read(conn: Any) -> Any:
        """One reply; an error reply is returned as a ResponseError value, not raised."""
        try:
            return conn.read_response()
        except ResponseError as exc:
            return exc

    @staticmethod
    def read_many(conn: Any, count: int) -> list[Any]:
        """`count` replies (see read)."""
        read = _Wire.read
        return [read(conn) for _ in range(count)]


class InFlight:
    """A command on its way: `reply()` (called exactly once) reads its reply, raising an error
    reply. Until then the connection it went on is not used for anything else."""

    __slots__ = ()

    def reply(self) -> Any:
        raise NotImplementedError


class Answered(InFlight):
    """A reply already read (redis-py's own path, or a call completed at once)."""

    __slots__ = ("_reply",)

    def __init__(self, reply: Any) -> None:
        self._reply = reply

    def reply(self) -> Any:
        return self._reply


class Sent(InFlight):
    """A command sent on a connection of ours (see LeanExecutor.send)."""

    __slots__ = ("_idle", "_conn", "_packed", "_retried")

    def __init__(self, idle: list[Any], conn: Any, packed: bytes, retried: bool) -> None:
        self._idle, self._conn, self._packed, self._retried = idle, conn, packed, retried

    def reply(self) -> Any:
        conn = self._conn
        try:
            try:
                reply = _Wire.read(conn)
            except RedisConnectionError:
                if self._retried:
                    raise
                conn.disconnect()  # stale socket (server restarted): one fresh try, as redis-py
                _Wire.send(conn, self._packed)
                reply = _Wire.read(conn)
        except BaseException:
            conn.disconnect()
            raise
        finally:
            self._idle.append(conn)
        if isinstance(reply, ResponseError):
            raise reply
        return reply


class SentTransaction:
    """A MULTI/EXEC sent on a connection of ours (see LeanExecutor.send_transaction)."""

    __slots__ = ("_idle", "_conn", "_count")

    def __init__(self, idle: list[Any], conn: Any, count: int) -> None:
        self._idle, self._conn, self._count = idle, conn, count

    def replies(self) -> list[Any]:
        """EXEC's replies (read exactly once). Raises the first error: a command refused while
        queueing aborts the whole transaction (nothing applied: its ResponseError); a command
        failing in EXEC, e.g. WRONGTYPE, leaves the others applied (PartialTransactionError,
        with every reply); a broken connection leaves it unknown (AmbiguousWriteError)."""
        conn = self._conn
        try:
            *queued, replies = _Wire.read_many(conn, self._count + 2)   # +OK, +QUEUED each, EXEC's
        except RedisConnectionError as exc:
            conn.disconnect()
            raise AmbiguousWriteError(str(exc)) from exc
        except BaseException:
            conn.disconnect()
            raise
        finally:
            self._idle.append(conn)
        if type(replies) is not list:   # EXECABORT (a command was refused while queued)
            raise _refusal(queued, replies)
        for reply in replies:
            if type(reply) not in _PLAIN_REPLIES and isinstance(reply, ResponseError):
                # a command failed but the others were applied (EXEC does not roll back): the
                # caller undoes what it must, knowing which went in
                raise PartialTransactionError(reply, replies)
        return replies


class LeanExecutor:
    """Direct pack/send/read on connections of our own, made by the client's pool."""

    def __init__(self, client: "redis.Redis[Any]") -> None:
        self._client = client
        pool = getattr(client, "connection_pool", None)
        self._pool = pool if pool is not None and hasattr(pool, "make_connection") else None
        self._idle: list[Any] = []
        self._forks = _FORKS[0]
        encoding = str(getattr(self._pool, "connection_kwargs", {}).get("encoding", "utf-8")).lower()
        # our commands are str/bytes/int/float tokens: hiredis packs them as redis-py would
        self._fast_pack = _hiredis_pack if encoding in ("utf-8", "utf8") else None

    def _pack(self, conn: Any, args: Sequence[Any]) -> bytes:
        if self._fast_pack is not None:
            return self._fast_pack(tuple(args))
        return b"".join(conn.pack_command(*args))

    def _pack_many(self, conn: Any, commands: Sequence[Sequence[Any]]) -> bytes:
        if self._fast_pack is not None:
            pack = self._fast_pack
            return b"".join([pack(tuple(c)) for c in commands])
        return b"".join(conn.pack_commands(commands))

    def _take(self) -> Any:
        """An idle connection of ours, a new one, or None when the pool's max_connections is
        reached (the caller then goes through redis-py's own path, which waits for the pool)."""
        if self._forks != _FORKS[0]:  # forked: the parent's sockets are not ours
            self._idle, self._forks = [], _FORKS[0]
        try:
            return self._idle.pop()
        except IndexError:
            assert self._pool is not None
            try:
                conn = self._pool.make_connection()
            except MaxConnectionsError:
                return None
            return conn

    def execute(self, *args: Any) -> Any:
        """One command, one round trip; error replies raise."""
        conn = self._take() if self._pool is not None else None
        if conn is None:
            return self._client.execute_command(*args)
        try:
            fast = self._fast_pack
            packed = fast(args) if fast is not None else self._pack(conn, args)
            try:
                _Wire.send(conn, packed)
                reply = _Wire.read(conn)
            except RedisConnectionError:
                conn.disconnect()  # stale socket (server restarted): one fresh try, as redis-py
                _Wire.send(conn, packed)
                reply = _Wire.read(conn)
        except BaseException:
            conn.disconnect()
            raise
        finally:
            self._idle.append(conn)
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    def send(self, *args: Any) -> InFlight:
        """`execute` in two steps: send now, `reply()` later, so the caller's own work (the
        TaskInfo of an enqueue) overlaps the round trip instead of following it."""
        conn = self._take() if self._pool is not None else None
        if conn is None:
            return Answered(self._client.execute_command(*args))
        retried = False
        try:
            fast = self._fast_pack
            packed = fast(args) if fast is not None else self._pack(conn, args)
            try:
                _Wire.send(conn, packed)
            except RedisConnectionError:
                conn.disconnect()  # stale socket: one fresh try, as in execute
                retried = True
                _Wire.send(conn, packed)
        except BaseException:
            conn.disconnect()
            self._idle.append(conn)
            raise
        return Sent(self._idle, conn, packed, retried)

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
        read = _Wire.read
        try:
            packed = self._pack_many(conn, commands)
            try:
                _Wire.send(conn, packed)
                first = read(conn)
            except RedisConnectionError:
                conn.disconnect()
                _Wire.send(conn, packed)
                first = read(conn)
            return [first, *(read(conn) for _ in range(len(commands) - 1))]
        except BaseException:
            conn.disconnect()
            raise
        finally:
            self._idle.append(conn)

    def stream(self, chunks: Iterable[Sequence[Sequence[Any]]]) -> list[Any]:
        """Send each chunk of commands as soon as the iterator yields it, read every reply at the
        end: the caller builds chunk k+1 while Redis runs chunk k. Error replies come back as values.
        A broken connection raises StreamBrokenError."""
        conn = self._take() if self._pool is not None else None
        if conn is None:
            return self.execute_many([c for chunk in chunks for c in chunk])
        replies: list[Any] = []
        try:
            sent = 0
            for chunk in chunks:
                if chunk:
                    _Wire.send(conn, self._pack_many(conn, chunk))
                    sent += len(chunk)
            read = _Wire.read
            for _ in range(sent):
                replies.append(read(conn))
            return replies
        except RedisConnectionError as exc:
            conn.disconnect()
            raise StreamBrokenError(str(exc), replies_read=len(replies)) from exc
        except BaseException:
            conn.disconnect()
            raise
        finally:
            self._idle.append(conn)

    @property
    def takes_transactions(self) -> bool:
        """Whether `transaction` can be used: it needs connections of our own (a plain pool) that
        encode text as UTF-8, as `resp_format` does."""
        return self._pool is not None and self._fast_pack is not None

    def transaction(self, packed: bytes, count: int) -> list[Any]:
        """MULTI, `count` packed commands (see resp_format), EXEC: one round trip, applied all
        at once. Returns EXEC's replies; raises as `SentTransaction.replies`."""
        return self.send_transaction(packed, count).replies()

    def send_transaction(self, packed: bytes, count: int) -> SentTransaction:
        """`transaction` in two steps (see `send`). Not retried on a broken connection, because
        whether EXEC ran is then unknown: AmbiguousWriteError, and the caller decides (see
        RDB.start_plain_task). RedisConnectionError when no connection of ours is free."""
        conn = self._take()
        if conn is None:
            raise RedisConnectionError("no connection available for a transaction")
        try:
            _Wire.send(conn, _MULTI + packed + _EXEC)
        except RedisConnectionError as exc:
            conn.disconnect()
            self._idle.append(conn)
            raise AmbiguousWriteError(str(exc)) from exc
        except BaseException:
            conn.disconnect()
            self._idle.append(conn)
            raise
        return SentTransaction(self._idle, conn, count)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            try:
                conn.disconnect()
            except Exception:  # pragma: no cover - best effort
                pass
