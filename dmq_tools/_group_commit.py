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
from collections.abc import Iterable
from typing import Any

from .rdb import RDB
from .rdb.producer import EnqueueRequest, PlainTasks

__all__ = ["ALONE", "GroupCommit"]

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
            results = self._rdb.write_items(batch_writes(batch))
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


def batch_writes(entries: Iterable[Any]) -> list[EnqueueRequest | PlainTasks]:
    """The writes of a batch in order: consecutive plain tasks (anything with .plan, .task_id,
    .type, .payload) with equal options become one PlainTasks (one enqueue_batch call, the batch
    encoder); an EnqueueRequest stays as it is. Shared by the group commit and AsyncClient."""
    items: list[EnqueueRequest | PlainTasks] = []
    run: PlainTasks | None = None
    run_key: tuple[Any, ...] | None = None
    for entry in entries:
        if isinstance(entry, EnqueueRequest):
            items.append(entry)
            run, run_key = None, None
            continue
        p = entry.plan
        key = (p.queue, p.max_retry, p.timeout_s, p.deadline_s, p.retention_s)
        if run is None or key != run_key:
            run, run_key = PlainTasks(*key), key
            items.append(run)
        run.add(entry.task_id, entry.type, entry.payload)
    return items
