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
Cluster) and Sentinel clients (whose retry with backoff follows a failover, see topology.py)
fall back to redis-py's own calls.

On a connection whose class does not customise its I/O (plain TCP, unix socket or TLS, RESP2
or RESP3, hiredis parser), `Wire` writes to the socket and feeds the connection's own hiredis
reader directly, reading redis-py's private fields `_sock`, `_parser`, `_parser._reader` and
`_parser._buffer` (checked by `plain_io`; any other connection goes through
`send_packed_command` / `read_response` unchanged); on Linux a plain socket's timeout is moved into
the kernel so a send and a read are one system call each (`_write`). One reply gains little (a PING: within
noise), but a reply of many parts gains per part: without it the plain enqueue's MULTI/EXEC
(6-7 replies) cost ~4 µs more client CPU and the worker's pipelines 12-18 % of throughput
(benchmarks/README.md, "Hot paths, fourth pass"), so it stays. The handshake (AUTH, SELECT,
CLIENT SETNAME) is still redis-py's `connect()`, its health check (a PING when the interval has
passed since the last one; redis-py counts from the last reply, we from the last check) still
runs, and push messages are skipped as redis-py skips them on a command connection.

Outcomes a caller must tell apart are typed: `AmbiguousWriteError` (a transaction whose
connection broke after it was sent), `PartialTransactionError` (EXEC applied some commands and
refused one) and `StreamBrokenError` (a stream whose connection broke, with how many replies
were read).
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time
from typing import Any
from collections.abc import Callable, Iterable, Sequence

import redis
from redis.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .topology import is_sentinel

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
_HiredisParser: type[Any] | None
_MORE: object
_Push: type[Any] | None
try:  # redis[hiredis] is a dependency; without it redis-py's own packer is used
    from hiredis import pack_command

    _hiredis_pack = pack_command
except ImportError:  # pragma: no cover
    _hiredis_pack = None

try:  # the parser class and its "need more bytes" sentinel; absent -> always the generic path
    from redis._parsers import hiredis as _parsers

    _HiredisParser, _MORE = _parsers._HiredisParser, _parsers.NOT_ENOUGH_DATA
except (ImportError, AttributeError):  # pragma: no cover
    _HiredisParser = None
    _MORE = None
try:
    from hiredis import PushNotification

    _Push = PushNotification
except ImportError:  # pragma: no cover - hiredis < 3.2 has no push type (RESP2 only then)
    _Push = None

__all__ = [
    "AmbiguousWriteError", "Answered", "InFlight", "LeanExecutor", "PartialTransactionError", "SLOT", "Sent",
    "SentTransaction", "StreamBrokenError", "Wire", "plain_io", "resp_format",
]

#: Bumped in a forked child: an executor made before the fork drops the parent's sockets
#: (cheaper than an os.getpid() system call per command).
_FORKS = [0]
os.register_at_fork(after_in_child=lambda: _FORKS.__setitem__(0, _FORKS[0] + 1))

_CLOSED = "Connection closed by server."
#: Reply types taken as they come in read_many (anything else gets a closer look).
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


def plain_io(conn: Any) -> bool:
    """True when `Wire` may talk to this connection's socket and reader directly."""
    cls = type(conn)
    return (
        _HiredisParser is not None
        and cls.send_packed_command is AbstractConnection.send_packed_command
        and cls.read_response is AbstractConnection.read_response
        and isinstance(getattr(conn, "_parser", None), _HiredisParser)
        and (str(getattr(conn, "protocol", 2) or 2) == "2" or _Push is not None)
    )


def _write(sock: socket.socket, data: bytes) -> None:
    """`sock.sendall(data)` in one system call, on a plain TCP / unix socket: CPython polls before
    every send and every receive on a socket with a timeout, a second system call each time. So
    the first write turns the socket's timeout into the kernel's own (SO_SNDTIMEO / SO_RCVTIMEO,
    Linux) on a blocking socket: a write or read past it fails with EAGAIN, which Wire reports
    as redis-py's TimeoutError (benchmarks/README.md "Hot paths, fifth pass")."""
    if _KERNEL_TIMEOUTS and sock.timeout:
        _kernel_timeouts(sock)
    try:
        n = os.write(sock.fileno(), data)
    except BlockingIOError:
        if sock.timeout is None:
            raise   # the kernel's send timeout passed
        n = 0       # a non-blocking socket whose buffer is full: sendall waits, with its timeout
    if n < len(data):
        sock.sendall(memoryview(data)[n:])


def _kernel_timeouts(sock: socket.socket) -> None:
    """Make `sock` blocking with its timeout kept by the kernel (see _write); Linux only."""
    timeout = sock.gettimeout()
    assert timeout
    whole = int(timeout)
    tv = struct.pack("ll", whole, int((timeout - whole) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    sock.settimeout(None)


_KERNEL_TIMEOUTS = sys.platform.startswith("linux")


class Wire:
    """Send and read on one connection: direct socket + hiredis reader when `plain_io`, else
    redis-py's own methods. Errors are redis-py's (ConnectionError, TimeoutError, ResponseError)
    and a failed connection is disconnected, as redis-py does."""

    @staticmethod
    def send(conn: Any, data: bytes, direct: bool) -> None:
        if not direct:
            conn.send_packed_command([data])
            return
        sock = conn._sock
        if sock is None:
            conn.connect()
            sock = conn._sock
        elif conn.health_check_interval and time.monotonic() > conn.next_health_check:
            conn.check_health()     # PING through redis-py, reconnecting a dead socket
            sock = conn._sock
        try:
            if type(sock) is socket.socket:   # plain TCP / unix: write(2) at once (see _write)
                _write(sock, data)
            else:
                sock.sendall(data)
        except (TimeoutError, BlockingIOError):   # BlockingIOError: the kernel's timeout (see _write)
            conn.disconnect()
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            conn.disconnect()
            raise RedisConnectionError(f"Error while writing to socket: {exc}") from None
        except BaseException:
            conn.disconnect()
            raise

    @staticmethod
    def read(conn: Any, direct: bool) -> Any:
        """One reply; an error reply is returned as a ResponseError value, not raised."""
        if not direct:
            try:
                return conn.read_response()
            except ResponseError as exc:
                return exc
        parser = conn._parser
        reader = parser._reader
        if reader is None:
            raise RedisConnectionError(_CLOSED)
        reply = reader.gets()
        while reply is _MORE or (_Push is not None and isinstance(reply, _Push)):
            if reply is not _MORE:      # an out-of-band push message: not our reply
                reply = reader.gets()
                continue
            try:
                n = conn._sock.recv_into(parser._buffer)
            except (TimeoutError, BlockingIOError):   # BlockingIOError: the kernel's timeout (see _write)
                conn.disconnect()
                raise RedisTimeoutError("Timeout reading from socket") from None
            except (OSError, AttributeError) as exc:   # AttributeError: disconnected meanwhile
                conn.disconnect()
                raise RedisConnectionError(f"Error while reading from socket: {exc}") from None
            except BaseException:
                conn.disconnect()
                raise
            if n == 0:
                conn.disconnect()
                raise RedisConnectionError(_CLOSED)
            reader.feed(parser._buffer, 0, n)
            reply = reader.gets()
        if isinstance(reply, RedisConnectionError):   # e.g. "max number of clients reached"
            conn.disconnect()
            raise reply
        return reply

    @staticmethod
    def read_many(conn: Any, direct: bool, count: int) -> list[Any]:
        """`count` replies (see read): the first waits for the socket, the others usually sit
        in the reader's buffer already and are taken without a call per reply."""
        read = Wire.read
        replies = [read(conn, direct)]
        if not direct:
            replies += [read(conn, direct) for _ in range(count - 1)]
            return replies
        gets = conn._parser._reader.gets
        for _ in range(count - 1):
            reply = gets()
            if type(reply) not in _PLAIN_REPLIES:
                if reply is _MORE or (_Push is not None and isinstance(reply, _Push)):
                    reply = read(conn, direct)   # more bytes needed, or a push message to skip
                elif isinstance(reply, RedisConnectionError):
                    conn.disconnect()
                    raise reply
            replies.append(reply)
        return replies


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

    __slots__ = ("_idle", "_conn", "_direct", "_packed", "_retried")

    def __init__(self, idle: list[Any], conn: Any, direct: bool, packed: bytes, retried: bool) -> None:
        self._idle, self._conn, self._direct, self._packed, self._retried = idle, conn, direct, packed, retried

    def reply(self) -> Any:
        conn = self._conn
        try:
            try:
                reply = Wire.read(conn, self._direct)
            except RedisConnectionError:
                if self._retried:
                    raise
                conn.disconnect()  # stale socket (server restarted): one fresh try, as redis-py
                Wire.send(conn, self._packed, self._direct)
                reply = Wire.read(conn, self._direct)
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

    __slots__ = ("_idle", "_conn", "_direct", "_count")

    def __init__(self, idle: list[Any], conn: Any, direct: bool, count: int) -> None:
        self._idle, self._conn, self._direct, self._count = idle, conn, direct, count

    def replies(self) -> list[Any]:
        """EXEC's replies (read exactly once). Raises the first error: a command refused while
        queueing aborts the whole transaction (nothing applied: its ResponseError); a command
        failing in EXEC, e.g. WRONGTYPE, leaves the others applied (PartialTransactionError,
        with every reply); a broken connection leaves it unknown (AmbiguousWriteError)."""
        conn = self._conn
        try:
            *queued, replies = Wire.read_many(conn, self._direct, self._count + 2)   # +OK, +QUEUED each, EXEC's
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

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        pool = getattr(client, "connection_pool", None)
        self._pool = pool if pool is not None and hasattr(pool, "make_connection") else None
        if is_sentinel(client):   # Sentinel: redis-py's calls, whose retry rides out a failover
            self._pool = None
        self._idle: list[Any] = []
        self._direct: dict[int, bool] = {}     # id(conn) -> may Wire use its socket directly
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
            self._idle, self._direct, self._forks = [], {}, _FORKS[0]
        try:
            return self._idle.pop()
        except IndexError:
            assert self._pool is not None
            try:
                conn = self._pool.make_connection()
            except MaxConnectionsError:
                return None
            self._direct[id(conn)] = plain_io(conn)
            return conn

    def execute(self, *args: Any) -> Any:
        """One command, one round trip; error replies raise."""
        conn = self._take() if self._pool is not None else None
        if conn is None:
            return self._client.execute_command(*args)
        direct = self._direct[id(conn)]
        try:
            fast = self._fast_pack
            packed = fast(args) if fast is not None else self._pack(conn, args)
            try:
                Wire.send(conn, packed, direct)
                reply = Wire.read(conn, direct)
            except RedisConnectionError:
                conn.disconnect()  # stale socket (server restarted): one fresh try, as redis-py
                Wire.send(conn, packed, direct)
                reply = Wire.read(conn, direct)
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
        direct = self._direct[id(conn)]
        retried = False
        try:
            fast = self._fast_pack
            packed = fast(args) if fast is not None else self._pack(conn, args)
            try:
                Wire.send(conn, packed, direct)
            except RedisConnectionError:
                conn.disconnect()  # stale socket: one fresh try, as in execute
                retried = True
                Wire.send(conn, packed, direct)
        except BaseException:
            conn.disconnect()
            self._idle.append(conn)
            raise
        return Sent(self._idle, conn, direct, packed, retried)

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
        direct = self._direct[id(conn)]
        read = Wire.read
        try:
            packed = self._pack_many(conn, commands)
            try:
                Wire.send(conn, packed, direct)
                first = read(conn, direct)
            except RedisConnectionError:
                conn.disconnect()
                Wire.send(conn, packed, direct)
                first = read(conn, direct)
            return [first, *(read(conn, direct) for _ in range(len(commands) - 1))]
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
        direct = self._direct[id(conn)]
        replies: list[Any] = []
        try:
            sent = 0
            for chunk in chunks:
                if chunk:
                    Wire.send(conn, self._pack_many(conn, chunk), direct)
                    sent += len(chunk)
            read = Wire.read
            for _ in range(sent):
                replies.append(read(conn, direct))
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
        direct = self._direct[id(conn)]
        try:
            Wire.send(conn, _MULTI + packed + _EXEC, direct)
        except RedisConnectionError as exc:
            conn.disconnect()
            self._idle.append(conn)
            raise AmbiguousWriteError(str(exc)) from exc
        except BaseException:
            conn.disconnect()
            self._idle.append(conn)
            raise
        return SentTransaction(self._idle, conn, direct, count)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        self._direct = {}
        for conn in idle:
            try:
                conn.disconnect()
            except Exception:  # pragma: no cover - best effort
                pass
