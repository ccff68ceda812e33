"""`ClusterRDB`: the RDB of a Redis Cluster client, where a script or multi-key command may touch
one hash slot only.

Every queue's keys share the `{<queue>}` hash tag, so each per-queue script already runs on one
slot. What the single-server RDB does across queues in one call is split here, per queue:

- dequeue: one script call per queue in the worker's order (weighted or strict, as computed by
  the worker), until the batch is full. Each call is atomic for its queue; the batch as a whole is not.
- wake-ups: BLPOP cannot wait on keys of several slots, so the `Waker` (cluster_wake.py) keeps
  one BLPOP outstanding per queue, each on its own connection to the queue's node, and the
  fetcher waits on all those sockets at once; after a wake it dequeues the woken queue(s) only.
  Pickup is one wake-up plus one dequeue round trip, with no thread hand-off.
- reclaiming a lost dequeue, clearing server state: per queue / per key.

The single-server path (rdb/lean.py fast path, one dequeue call for all queues) is untouched:
`open_rdb` picks this class by client type only.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

from redis.exceptions import ResponseError

from . import keys
from .cluster_wake import Waker
from .guard import _wrap
from .worker_ops import Leased, Outcome

__all__ = ["ClusterRDBMixin", "Waker"]

#: Error replies of a script call that did not run (the cluster client's way then runs it).
_NOT_RUN = ("NOSCRIPT", "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING")


def _per_queue(queues: list[str], max_count: int, take: Callable[[str, int], Leased]) -> Leased:
    """`take(queue, n)` for each queue in order until `max_count` tasks are leased, merged."""
    out = Leased()
    for q in queues:
        if len(out) >= max_count:
            break
        one = take(q, max_count - len(out))
        out.extend(one)
        out.corrupt.extend(one.corrupt)
        out.no_wake.extend(one.no_wake)
    return out


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
        return _per_queue(queues, max_count, lambda q, n: self._dequeue_one(q, n, lease_seconds, worker_id,
                                                                            token, acked))

    def _dequeue_one(self, queue: str, n: int, lease_seconds: float, worker_id: str, token: str,
                     acked: str) -> Leased:
        """The single-server dequeue of one queue (through the cluster client's routing)."""
        return super().dequeue([queue], n, lease_seconds, worker_id, token, acked)   # type: ignore[misc, no-any-return]

    def write_outcomes_and_dequeue(self, items: list[Outcome], queues: list[str], max_count: int, lease_seconds: float,
                                   worker_id: str = "", token: str = "", acked: str = "") -> tuple[list[bool], Leased]:
        codes = self.write_outcomes(items, worker_id) if items else []   # type: ignore[attr-defined]
        return codes, self.dequeue(queues, max_count, lease_seconds, worker_id, token, acked)

    def wait_and_dequeue(self, items: list[Outcome], queues: list[str], max_count: int, lease_seconds: float,
                         worker_id: str, timeout: float,
                         skip_wake: set[str] | frozenset[str] = frozenset(), token: str = "",
                         acked: str = "") -> tuple[list[bool], bool, Leased]:
        """Write `items`, wait up to `timeout` for a wake token of any queue (the Waker's
        sockets, in this thread), then dequeue: only the queues whose token arrived (in the given
        order) after a wake, every queue after the timeout (the poll for tokenless tasks).

        Dequeuing just the woken queues keeps pickup at one round trip after the wake. The worker
        waits only after a dequeue over all its queues found nothing, and every task a dmq
        Client enqueued since carries a token, so the queues left out are empty but for tokenless
        tasks (Go producers), which the next fetch takes: one that leased anything is not idle,
        and dequeues over all queues in the worker's order."""
        codes = self.write_outcomes(items, worker_id) if items else []   # type: ignore[attr-defined]
        woken = self._waker().wait([q for q in queues if q not in skip_wake],
                                   min(timeout, self.max_block_seconds()))   # type: ignore[attr-defined]
        if not woken:
            return codes, False, self.dequeue(queues, max_count, lease_seconds, worker_id, token, acked)
        return codes, True, self._dequeue_woken(woken, max_count, lease_seconds, worker_id, token, acked)

    def _dequeue_woken(self, woken: list[str], max_count: int, lease_seconds: float, worker_id: str,
                       token: str, acked: str) -> Leased:
        """`dequeue` of the woken queues, each on its wake connection (idle now, to the right node)."""
        waker = self._waker()

        def take(q: str, n: int) -> Leased:
            k, a = self._dequeue_args([q], n, lease_seconds, worker_id, token, acked)   # type: ignore[attr-defined]
            reply = waker.call(q, "EVALSHA", self.scripts.sha("dequeue"), len(k), *k, *a)   # type: ignore[attr-defined]
            if reply is None or (isinstance(reply, ResponseError) and str(reply).startswith(_NOT_RUN)):
                return self._dequeue_one(q, n, lease_seconds, worker_id, token, acked)
            if isinstance(reply, ResponseError):
                raise reply
            return self._leased([q], reply)   # type: ignore[attr-defined, no-any-return]

        return _per_queue(woken, max_count, take)

    def reclaim_dequeue(self, queues: list[str], token: str, worker_id: str) -> int:
        given_back = 0
        for q in queues:     # (not a generator expression: super() needs the method's frame)
            given_back += int(super().reclaim_dequeue([q], token, worker_id))   # type: ignore[misc]
        return given_back

    def interrupt_wait(self, worker_id: str) -> None:
        self._waker().interrupt()

    def stop_waiting(self) -> None:
        """Close the wake connections (a stopping worker): they must not take wake tokens any more."""
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
