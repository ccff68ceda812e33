"""Group commit for a Client shared by threads: calls made while another thread's write is in
flight go together in one round trip, written by one of them.

A thread that finds no write in flight writes its task alone on the usual fast path (a single
producer pays one uncontended lock, nothing more). Threads arriving meanwhile queue up and sleep;
when the write ends, the first of them is woken as the next writer: it writes everything queued
(one pipeline, plain tasks of a queue in one script call), wakes the others with their codes and
hands the role on. Each thread writes at most one batch besides its own task, so none is kept
writing for the others forever.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .rdb import RDB
from .rdb.producer import EnqueueRequest, PlainTasks

__all__ = ["ALONE", "BatchWrites", "GroupCommit", "batch_writes"]

#: GroupCommit.enter's answer when the caller writes its task alone.
ALONE = object()

#: Most tasks one batch writes (the rest go in the next batch).
_BATCH_MAX = 1000


class _Waiter:
    __slots__ = ("plan", "task_id", "type", "payload", "event", "result", "lead")

    def __init__(self, plan: Any, task_id: str, task_type: str, payload: bytes | None) -> None:
        self.plan, self.task_id, self.type, self.payload = plan, task_id, task_type, payload
        self.event = threading.Event()
        self.result: Any = None
        self.lead = False


class GroupCommit:
    """Batches plain enqueues of concurrent threads (see the module docstring)."""

    def __init__(self, rdb: RDB) -> None:
        self._rdb = rdb
        self._lock = threading.Lock()
        self._busy = threading.Lock()   # held while a write is in flight (by whichever thread)
        self._queue: list[_Waiter] = []

    def enter(self, plan: Any, task_id: str, task_type: str, payload: bytes | None) -> Any:
        """ALONE when nothing is in flight: the caller writes its task itself, then calls
        `leave()`. Otherwise the task goes in the next batch, and its code (1, 0, -1) or error
        is returned."""
        if self._busy.acquire(False):   # nothing in flight: no lock taken (the uncontended case)
            return ALONE
        with self._lock:
            if self._busy.acquire(False):   # released meanwhile (released under _lock: see _hand_on)
                return ALONE
            waiter = _Waiter(plan, task_id, task_type, payload)
            self._queue.append(waiter)
        waiter.event.wait()
        if waiter.lead:
            self._write_batch()
        return waiter.result

    def leave(self) -> None:
        """After a lone write (see enter), whether it succeeded or not."""
        self._hand_on()

    def _hand_on(self) -> None:
        """Wake the first queued thread as the next writer, or mark nothing in flight."""
        with self._lock:
            if self._queue:   # _busy stays held: the role passes to the first waiter
                nxt = self._queue[0]
                nxt.lead = True
                nxt.event.set()
            else:
                self._busy.release()

    def _write_batch(self) -> None:
        with self._lock:
            batch = self._queue[:_BATCH_MAX]
            del self._queue[:_BATCH_MAX]
        results: list[Any] | None = None
        try:
            writes = batch_writes(batch)
            results = writes.per_entry(self._rdb.write_items(writes.items))
        except Exception as exc:   # every task of the batch gets the error
            results = [exc] * len(batch)
        finally:
            if results is None:    # interrupted (KeyboardInterrupt, ...): nobody may wait forever
                results = [ConnectionError("enqueue interrupted; the task may or may not be written")] * len(batch)
            for waiter, result in zip(batch, results):
                waiter.result = result
                if not waiter.lead:
                    waiter.event.set()
            self._hand_on()


@dataclass(slots=True)
class BatchWrites:
    """A batch's writes and, for each per-task result they give (in item order), which entry it
    belongs to: plain tasks are grouped out of order, so results come back permuted."""

    items: list[EnqueueRequest | PlainTasks]
    order: list[int]

    def per_entry(self, results: Sequence[Any]) -> list[Any]:
        """The results in the entries' order."""
        out: list[Any] = [None] * len(self.order)
        for index, result in zip(self.order, results):
            out[index] = result
        return out


def batch_writes(entries: Iterable[Any]) -> BatchWrites:
    """The writes of a batch: plain tasks (anything with .plan, .task_id, .type, .payload) with
    equal options become one PlainTasks (one enqueue_batch call, the batch encoder) wherever they
    sit in the batch, so producers alternating queues still get one call per queue; each queue's
    tasks keep their order. An EnqueueRequest stays as it is. Shared by the group commit and
    AsyncClient. The batch's calls were concurrent, so no order across queues is owed."""
    items: list[EnqueueRequest | PlainTasks] = []
    members: list[list[int]] = []
    runs: dict[tuple[Any, ...], int] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, EnqueueRequest):
            items.append(entry)
            members.append([index])
            continue
        p = entry.plan
        key = (p.queue, p.max_retry, p.timeout_s, p.deadline_s, p.retention_s)
        at = runs.get(key)
        if at is None:
            at = runs[key] = len(items)
            items.append(PlainTasks(*key))
            members.append([])
        run = items[at]
        assert isinstance(run, PlainTasks)
        run.add(entry.task_id, entry.type, entry.payload)
        members[at].append(index)
    return BatchWrites(items, [index for group in members for index in group])
