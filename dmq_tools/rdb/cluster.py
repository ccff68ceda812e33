"""`ClusterRDB`: the RDB of a Redis Cluster client, where a script or multi-key command may touch
one hash slot only.

Every queue's keys share the `{<queue>}` hash tag, so each per-queue script already runs on one
slot. What the single-server RDB does across queues in one call is split here, per queue:

- dequeue: one script call per queue in the worker's order (weighted or strict, as computed by
  the worker), until the batch is full. Each call is atomic for its queue; the batch as a whole is not.
- wake-ups: BLPOP cannot wait on keys of several slots, so a `_Waker` keeps one daemon thread
  per queue blocked on that queue's wake key (one connection per queue per worker process) and
  sets an Event the fetcher waits on. Pickup stays one wake-up plus one dequeue round trip.
- reclaiming a lost dequeue, clearing server state: per queue / per key.

The single-server path (rdb/lean.py fast path, one dequeue call for all queues) is untouched:
`open_rdb` picks this class by client type only.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from redis.exceptions import RedisClusterException

from . import keys
from .guard import _wrap
from .worker_ops import Leased, Outcome

__all__ = ["ClusterRDBMixin", "Waker"]

log = logging.getLogger(__name__)

#: How long one waker BLPOP blocks; also how soon a stopped waker thread exits.
_WAKER_BLOCK_SECONDS = 1.0


class Waker:
    """One daemon thread per queue, blocked on its wake key; `wait()` returns when any fires.
    `close()` ends the threads (within one BLPOP timeout); a later `watch()` starts new ones."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._event = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def watch(self, queues: list[str]) -> None:
        with self._lock:
            for q in queues:
                if q not in self._threads:
                    t = threading.Thread(target=self._run, args=(q, self._stop), name=f"dmq-waker-{q}",
                                         daemon=True)
                    self._threads[q] = t
                    t.start()

    def _run(self, queue: str, stop: threading.Event) -> None:
        key = keys.wake(queue)
        while not stop.is_set():
            try:
                got = self._client.blpop([key], timeout=_WAKER_BLOCK_SECONDS)
            except (redis.ConnectionError, redis.TimeoutError, RedisClusterException, redis.ResponseError) as exc:
                log.debug("waker for queue %s: %s", queue, exc)
                stop.wait(0.5)     # the cluster is reconfiguring or the key is corrupt
                continue
            except Exception:  # noqa: BLE001 - a waker thread must never die silently
                log.exception("waker for queue %s", queue)
                stop.wait(1.0)
                continue
            if got:
                self._event.set()
                if stop.is_set():    # popped while closing: leave the token to other workers
                    self._client.rpush(key, got[1])
                    self._client.ltrim(key, 0, 0)

    def wait(self, timeout: float) -> bool:
        """True when woken (a token arrived, or `interrupt()`), False after `timeout`."""
        woke = self._event.wait(max(timeout, 0.0))
        self._event.clear()
        return woke

    def interrupt(self) -> None:
        self._event.set()

    def close(self) -> None:
        with self._lock:
            self._stop.set()
            self._stop = threading.Event()
            self._threads = {}
        self._event.set()


class ClusterRDBMixin:
    """Overrides of the cross-queue methods of RDB (mixed in before RDB, see rdb/__init__.py)."""

    client: Any

    def _waker(self) -> Waker:
        waker: Waker | None = getattr(self, "_cluster_waker", None)
        if waker is None:
            waker = self._cluster_waker = Waker(self.client)
        return waker

    def dequeue(self, queues: list[str], max_count: int, lease_seconds: float,
                worker_id: str = "", token: str = "", acked: str = "") -> Leased:
        """Per queue, in the given order, until `max_count` tasks are leased."""
        out = Leased()
        for q in queues:
            if len(out) >= max_count:
                break
            one = super().dequeue([q], max_count - len(out), lease_seconds,   # type: ignore[misc]
                                  worker_id, token, acked)
            out.extend(one)
            out.corrupt.extend(one.corrupt)
            out.no_wake.extend(one.no_wake)
        return out

    def write_outcomes_and_dequeue(self, items: list[Outcome], queues: list[str], max_count: int, lease_seconds: float,
                                   worker_id: str = "", token: str = "", acked: str = "") -> tuple[list[bool], Leased]:
        codes = self.write_outcomes(items, worker_id) if items else []   # type: ignore[attr-defined]
        return codes, self.dequeue(queues, max_count, lease_seconds, worker_id, token, acked)

    def wait_and_dequeue(self, items: list[Outcome], queues: list[str], max_count: int, lease_seconds: float,
                         worker_id: str, timeout: float,
                         skip_wake: set[str] | frozenset[str] = frozenset(), token: str = "",
                         acked: str = "") -> tuple[list[bool], bool, Leased]:
        """Write `items`, then wait for a wake token of any queue (a waker thread per queue) up to
        `timeout`, then dequeue. Tasks already pending are taken without waiting."""
        codes = self.write_outcomes(items, worker_id) if items else []   # type: ignore[attr-defined]
        waker = self._waker()
        waker.watch([q for q in queues if q not in skip_wake])
        got = self.dequeue(queues, max_count, lease_seconds, worker_id, token, acked)
        if got:
            return codes, False, got
        woke = waker.wait(min(timeout, self.max_block_seconds()))   # type: ignore[attr-defined]
        return codes, woke, self.dequeue(queues, max_count, lease_seconds, worker_id, token, acked)

    def reclaim_dequeue(self, queues: list[str], token: str, worker_id: str) -> int:
        return sum(int(super().reclaim_dequeue([q], token, worker_id))   # type: ignore[misc]
                   for q in queues)

    def interrupt_wait(self, worker_id: str) -> None:
        self._waker().interrupt()

    def stop_waiting(self) -> None:
        """End the waker threads (a stopping worker): they must not take wake tokens any more."""
        waker: Waker | None = getattr(self, "_cluster_waker", None)
        if waker is not None:
            waker.close()

    def clear_server_state(self, host: str, pid: int, server_id: str) -> None:
        skey, wkey = keys.server_info(host, pid, server_id), keys.workers(host, pid, server_id)
        self.client.zrem(keys.ALL_SERVERS, skey)
        self.client.zrem(keys.ALL_WORKERS, wkey)
        self.client.delete(skey, wkey)     # one hash tag: {host:pid:server_id}

    def close(self) -> None:
        self.stop_waiting()
        super().close()   # type: ignore[misc]


def guard_own(cls: type) -> type:
    """Wrap only the methods `cls` defines itself (its bases are guarded already)."""
    for name, attr in list(vars(ClusterRDBMixin).items()):
        if not name.startswith("_") and callable(attr):
            setattr(cls, name, _wrap(attr))
    return cls
