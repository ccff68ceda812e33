"""`async def` handlers: each handler thread runs its coroutines on an event loop of its own.

A handler thread waits for its coroutine anyway, so a loop shared by all threads buys no
concurrency, and one handler that blocks it (`time.sleep` in an `async def`) stalls every other
async task until their deadlines pass. With a loop per thread, a blocking coroutine costs only
its own slot, like a blocking sync handler: the deadline watcher frees the slot and starts a
replacement thread. A loop that stops turning for `BLOCKED_AFTER` seconds is logged once per task
type, naming it. Objects bound to one event loop (aiohttp sessions, asyncpg pools) must be made per
loop (e.g. keyed by `asyncio.get_running_loop()`), not shared across handler threads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from .running import Running

__all__ = ["AsyncRunner", "BLOCKED_AFTER"]

log = logging.getLogger(__name__)

#: A loop that has not turned for this long is blocked by its coroutine (logged once per type).
BLOCKED_AFTER = 1.0
_TICK = 0.1


class _Cancel:
    """run.future for a coroutine on a handler thread's loop: cancel() from any thread."""

    __slots__ = ("loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        self.loop, self.task = loop, task

    def cancel(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.task.cancel)
        except RuntimeError:   # the loop is closed: the coroutine is over
            pass


class _Slot:
    """One handler thread's loop and what it runs now."""

    __slots__ = ("loop", "run", "tick", "handle")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.run: Running | None = None
        self.tick = time.monotonic()
        self.handle: asyncio.Handle | None = None


class AsyncRunner:
    def __init__(self) -> None:
        self._local = threading.local()
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()
        self._reported: set[str] = set()

    def run(self, run: Running, awaitable: Any) -> Any:
        """Run `awaitable` to completion on this thread's loop; cancelled at the deadline."""
        slot = getattr(self._local, "slot", None)
        if slot is None:
            slot = self._local.slot = _Slot()
            with self._lock:
                self._slots.append(slot)
        loop = slot.loop

        async def runner() -> Any:
            return await awaitable

        task = loop.create_task(runner())
        run.future = _Cancel(loop, task)
        if run.claimed:
            task.cancel()
        slot.run, slot.tick = run, time.monotonic()
        slot.handle = loop.call_soon(self._tick, slot)
        try:
            return loop.run_until_complete(task)
        finally:
            if slot.handle is not None:
                slot.handle.cancel()
            slot.run = slot.handle = None

    def _tick(self, slot: _Slot) -> None:
        now = time.monotonic()
        if now - slot.tick > BLOCKED_AFTER and slot.run is not None:
            self.report(slot.run, now - slot.tick)
        slot.tick = now
        slot.handle = slot.loop.call_later(_TICK, self._tick, slot) if slot.run is not None else None

    def blocked(self, run: Running) -> bool:
        """True if `run` is on a loop that has not turned for BLOCKED_AFTER (logged once)."""
        with self._lock:
            slots = list(self._slots)
        for slot in slots:
            if slot.run is run:
                stuck = time.monotonic() - slot.tick
                if stuck > BLOCKED_AFTER:
                    self.report(run, stuck)
                    return True
        return False

    def report(self, run: Running, seconds: float) -> None:
        kind = run.msg.type
        if kind in self._reported:
            return
        self._reported.add(kind)
        log.error("async handler for task type %r (task %s) blocked its event loop for %.1f s: a blocking "
                  "call (time.sleep, blocking I/O) in an async def; it holds only its own slot, use "
                  "await asyncio.sleep / a sync handler instead", kind, run.msg.id, seconds)

    def close_thread_loop(self) -> None:
        """Close this thread's loop (the thread is leaving the pool)."""
        slot = getattr(self._local, "slot", None)
        if slot is None:
            return
        self._local.slot = None
        with self._lock:
            if slot in self._slots:
                self._slots.remove(slot)
        try:
            slot.loop.close()
        except Exception:  # pragma: no cover - best effort
            pass
