"""`Waker`: an idle cluster worker's wait for the wake tokens of queues in different slots.

BLPOP cannot wait on keys of several slots, so the Waker keeps one connection per queue, to the
node that holds the queue's slot, with a `BLPOP <wake key> <s>` outstanding on it, and the
fetcher thread itself waits on all those sockets at once (`selectors`), plus a socket pair that
`interrupt()` writes to. Whichever replies first names the queue to dequeue. No thread sits in
between: an earlier design (one thread per queue setting an Event, then a dequeue of every queue)
gave 1.4-2.3 ms p50 pickup, this one 0.9-1.2 ms (benchmarks/cluster_pickup.py, docs/scaling.md).

A BLPOP stays outstanding across waits: its reply is read at the next `wait()` (a wake that
came while the worker was busy is then seen at once). Each connection is a plain connection of
the node's own pool (same TLS, credentials, timeouts), named `dmq-wake:<queue>` in CLIENT LIST.
A connection that breaks (node restarted, CLIENT KILL, a slot moved: MOVED) is dropped and made
again, to the node the cluster client then names for the slot, after a short pause; meanwhile
the fetcher's poll (its wait timeout) covers the queue. `close()` unblocks every outstanding
BLPOP (CLIENT UNBLOCK) and pushes back a token popped meanwhile, so a stopped worker takes no
wake token from the others.
"""

from __future__ import annotations

import logging
import select
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import RedisClusterException, ResponseError

from . import keys
from .corrupt import is_wrongtype
from .lean import plain_io, Wire

__all__ = ["Waker"]

log = logging.getLogger(__name__)

#: How long one BLPOP blocks on the server before it answers nil and is sent again.
BLOCK_SECONDS = 5
#: A BLPOP with no reply this long after its own timeout is taken for a dead connection.
_OVERDUE_SECONDS = 5.0
#: Pause before a broken connection is made again (a node restarting, a slot moving).
_RETRY_SECONDS = 0.2
#: Pause before a wake key of the wrong type is tried again (the dequeue reports it meanwhile).
_WRONGTYPE_SECONDS = 5.0

_ERRORS = (redis.ConnectionError, redis.TimeoutError, RedisClusterException, OSError)


@dataclass(eq=False)
class _Watch:
    """One queue's wake connection and its outstanding BLPOP."""

    queue: str
    key: str
    conn: Any = None
    direct: bool = False
    node: str = ""              # "host:port" of the node the connection is to
    client_id: int = 0          # CLIENT ID, for CLIENT UNBLOCK at close
    sock: Any = None            # the socket registered with the selector
    sent_at: float = 0.0        # monotonic time the outstanding BLPOP was sent; 0 = none
    retry_at: float = 0.0       # monotonic time before which the connection is not made again


def _readable(sock: Any) -> bool:
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError, TypeError):
        return False


class Waker:
    """Waits, in the caller's thread, for a wake token of any of some queues (see module doc)."""

    def __init__(self, client: Any) -> None:
        self._client = client                   # the RedisCluster
        self._watches: dict[str, _Watch] = {}
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()           # one wait (or close) at a time
        self._rx, self._tx = socket.socketpair()
        self._rx.setblocking(False)
        self._tx.setblocking(False)
        self._selector.register(self._rx, selectors.EVENT_READ, None)

    # ---- the wait ----
    def wait(self, queues: list[str], timeout: float) -> list[str]:
        """The queues (of `queues`, in that order) whose wake token arrived, waiting up to
        `timeout`; [] after the timeout or on `interrupt()`."""
        end = time.monotonic() + max(timeout, 0.0)
        with self._lock:
            fired: set[str] = set()
            while True:
                now = time.monotonic()
                next_retry = self._arm(queues, now)
                left = end - now
                if left <= 0:
                    break
                events = self._selector.select(min(left, max(next_retry - now, 0.001)))
                interrupted = False
                for sel_key, _ in events:
                    watch = sel_key.data
                    if watch is None:
                        interrupted = self._drain()
                    elif self._read(watch):
                        fired.add(watch.queue)
                if fired or interrupted:
                    break
            return [q for q in queues if q in fired]

    def _arm(self, queues: list[str], now: float) -> float:
        """Make sure every queue has a BLPOP outstanding (connecting as needed); the earliest
        time a broken or overdue connection should be looked at again."""
        soonest = float("inf")
        for q in queues:
            watch = self._watches.get(q)
            if watch is None:
                watch = self._watches[q] = _Watch(q, keys.wake(q))
            if watch.sent_at:
                overdue = watch.sent_at + BLOCK_SECONDS + _OVERDUE_SECONDS
                if now < overdue or _readable(watch.sock):   # a reply waits (a busy worker did not read it)
                    soonest = min(soonest, overdue)
                    continue
                log.debug("wake connection for queue %s: no reply to BLPOP, reconnecting", q)
                self._drop(watch, now)
            if now < watch.retry_at:
                soonest = min(soonest, watch.retry_at)
                continue
            try:
                self._send(watch)
            except _ERRORS as exc:
                log.debug("wake connection for queue %s: %s", q, exc)
                self._drop(watch, now)
                soonest = min(soonest, watch.retry_at)
        return soonest

    def _send(self, watch: _Watch) -> None:
        if watch.conn is None:
            self._connect(watch)
        Wire.send(watch.conn, b"".join(watch.conn.pack_command("BLPOP", watch.key, BLOCK_SECONDS)), watch.direct)
        watch.sent_at = time.monotonic()

    def _connect(self, watch: _Watch) -> None:
        node = self._client.get_node_from_key(watch.key)
        if node is None:
            raise RedisClusterException(f"no node serves the slot of {watch.key}")
        conn = self._client.get_redis_connection(node).connection_pool.make_connection()
        conn.connect()
        direct = plain_io(conn)
        Wire.send(conn, b"".join(conn.pack_commands([("CLIENT", "SETNAME", f"dmq-wake:{watch.queue}"),
                                                      ("CLIENT", "ID")])), direct)
        _named, client_id = Wire.read(conn, direct), Wire.read(conn, direct)   # refused by an ACL: no name
        watch.conn, watch.direct, watch.node = conn, direct, node.name
        watch.client_id = client_id if isinstance(client_id, int) else 0    # 0: close just disconnects
        if conn._sock is None:      # the handshake failed and disconnected it
            raise redis.ConnectionError(f"wake connection to {node.name} closed during setup")
        watch.sock = conn._sock
        self._selector.register(watch.sock, selectors.EVENT_READ, watch)

    def _read(self, watch: _Watch) -> bool:
        """Read the outstanding BLPOP's reply: True when it carried a token."""
        now = time.monotonic()
        try:
            reply = Wire.read(watch.conn, watch.direct)
        except _ERRORS as exc:
            log.debug("wake connection for queue %s broke: %s", watch.queue, exc)
            self._drop(watch, now)
            return False
        watch.sent_at = 0.0
        if isinstance(reply, ResponseError):
            if is_wrongtype(reply):      # the dequeue reports the key; try again later
                watch.retry_at = now + _WRONGTYPE_SECONDS
            else:                        # MOVED, CLUSTERDOWN, LOADING...: reconnect to the slot's node
                log.debug("wake connection for queue %s: %s", watch.queue, reply)
                self._drop(watch, now)
                self._refresh_slots()
            return False
        return bool(reply)

    def _drop(self, watch: _Watch, now: float) -> None:
        """Forget the connection (its outstanding BLPOP dies with it); reconnect after a pause."""
        if watch.sock is not None:
            try:     # found by identity even when the socket is closed already (Wire's errors close it)
                self._selector.unregister(watch.sock)
            except (KeyError, ValueError):
                pass
        if watch.conn is not None:
            try:
                watch.conn.disconnect()
            except _ERRORS:
                pass
        watch.conn, watch.sock, watch.sent_at, watch.retry_at = None, None, 0.0, now + _RETRY_SECONDS

    def _refresh_slots(self) -> None:
        try:
            self._client.nodes_manager.initialize()
        except _ERRORS as exc:
            log.debug("refreshing the cluster's slots: %s", exc)

    def call(self, queue: str, *args: Any) -> Any:
        """Run one command on `queue`'s wake connection, which is to the node of the queue's slot
        and idle right after its BLPOP answered: the dequeue that follows a wake goes there, hot,
        without the cluster client's routing. None when that connection is not idle (the caller
        then takes the cluster client's way); an error reply is returned, not raised."""
        with self._lock:
            watch = self._watches.get(queue)
            if watch is None or watch.conn is None or watch.sent_at:
                return None
            try:
                Wire.send(watch.conn, b"".join(watch.conn.pack_command(*args)), watch.direct)
                return Wire.read(watch.conn, watch.direct)
            except _ERRORS:
                self._drop(watch, time.monotonic())
                raise

    # ---- interrupt and close ----
    def interrupt(self) -> None:
        """End the current (or next) `wait()` at once; thread-safe."""
        try:
            self._tx.send(b"x")
        except (BlockingIOError, OSError):
            pass      # the pipe is full (an interrupt is pending anyway) or closed

    def _drain(self) -> bool:
        try:
            while self._rx.recv(256):
                pass
        except (BlockingIOError, OSError):
            pass
        return True

    def close(self) -> None:
        """Unblock every outstanding BLPOP and give back a token it took; close the connections.
        A later `wait()` connects again."""
        self.interrupt()
        with self._lock:
            for watch in self._watches.values():
                if watch.conn is not None and watch.sent_at:
                    self._unblock(watch)
                self._drop(watch, 0.0)
            self._watches = {}
            self._drain()

    def _unblock(self, watch: _Watch) -> None:
        """CLIENT UNBLOCK the BLPOP from another connection, then read its reply: nil, or the
        token it popped meanwhile, which goes back for other workers."""
        if not watch.client_id:
            return
        try:
            node = self._client.get_node(node_name=watch.node)
            if node is None:
                return
            self._client.get_redis_connection(node).execute_command("CLIENT", "UNBLOCK", watch.client_id)
            watch.conn._sock.settimeout(1.0)
            got = Wire.read(watch.conn, watch.direct)
            if isinstance(got, list) and got:
                self._client.rpush(watch.key, got[1])
                self._client.ltrim(watch.key, 0, 0)
        except (*_ERRORS, ResponseError) as exc:
            log.debug("unblocking the wake connection for queue %s: %s", watch.queue, exc)

    def __del__(self) -> None:
        for s in (self._rx, self._tx):
            try:
                s.close()
            except OSError:
                pass
