"""RDBBase: the Redis client, its scripts and the shared bookkeeping of every RDB part."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from collections.abc import Collection

import redis

from ..clock import Clock, SystemClock
from . import keys
from .scripts import Scripts

__all__ = ["RDBBase", "MAX_INT64", "STATS_TTL_SECONDS", "DEFAULT_EVENTS_MAXLEN"]

MAX_INT64 = 9223372036854775807
#: Daily counters live 90 days (asynq: statsTTL).
STATS_TTL_SECONDS = 90 * 24 * 3600
#: Approximate cap of each queue's event stream (dmq addition, XADD MAXLEN ~).
DEFAULT_EVENTS_MAXLEN = 100_000
#: How long we trust our memory that a queue is registered in asynq:queues.
QUEUE_CACHE_SECONDS = 30.0
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class RDBBase:
    """Holds the client; subclasses (mixins) add one method per state transition or query."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock | None = None,
        events_maxlen: int = DEFAULT_EVENTS_MAXLEN,
    ) -> None:
        self.client = client
        self.scripts = Scripts(client)
        self.clock: Clock = clock or SystemClock()
        self.events_maxlen = events_maxlen
        self._known_queues: dict[str, float] = {}
        self._enqueue_keys: dict[str, tuple[str, str, str, str]] = {}   # see ProducerMixin
        self._plain_parts: dict[str, tuple[int, bytes, int, bytes]] = {}  # see ProducerMixin
        self._queues_lock = threading.Lock()

    # -- time helpers (raw units live here only) --
    def now_s(self) -> int:
        return int(self.clock.time())

    def now_ns(self) -> int:
        if isinstance(self.clock, SystemClock):
            return time.time_ns()
        # exact integer arithmetic: float seconds * 1e9 loses the low digits (2**53 < 1.8e18)
        delta = self.clock.now() - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000

    def today(self) -> str:
        return datetime.fromtimestamp(self.clock.time(), timezone.utc).strftime("%Y-%m-%d")

    def stats_expiry(self) -> int:
        return self.now_s() + STATS_TTL_SECONDS

    # -- asynq:queues registry --
    def queues_to_register(self, queues: Collection[str]) -> list[str]:
        """Queues not registered by us recently; the caller SADDs them in its round trip."""
        if all(self.queue_is_known(q) for q in queues):
            return []   # the common case, without the lock (dict reads are atomic)
        with self._queues_lock:
            todo = [q for q in queues if not self.queue_is_known(q)]
            now = time.monotonic()
            for q in todo:
                self._known_queues[q] = now
        return todo

    def queue_is_known(self, queue: str) -> bool:
        """Registered by us recently: a write to it needs no SADD (see queues_to_register)."""
        return time.monotonic() - self._known_queues.get(queue, -1e9) <= QUEUE_CACHE_SECONDS

    def forget_queue(self, queue: str) -> None:
        with self._queues_lock:
            self._known_queues.pop(queue, None)

    def register_queues(self, *queues: str) -> None:
        todo = self.queues_to_register(list(queues))
        if todo:
            self.client.sadd(keys.ALL_QUEUES, *todo)

    def ping(self) -> bool:
        return bool(self.client.ping())

    def close(self) -> None:
        self.scripts.close()
        self.client.close()
