"""What Worker and Scheduler share about their life: the registry of the running instances of
this process (for `dmq.running()`, `dmq.stop_all()` and interpreter exit) and run-until-signal.
Stdlib only."""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from typing import Any, Generic, TypeVar
from collections.abc import Callable

__all__ = ["Registry", "run_until_signal"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Registry(Generic[T]):
    """The running instances of one kind, in start order. Each still registered at interpreter
    exit is stopped (`stop()`), so a forgotten notebook worker does not hold its leases."""

    def __init__(self, kind: str, alive: Callable[[T], bool] = lambda obj: True) -> None:
        self._kind = kind
        self._alive = alive
        self._live: list[T] = []
        self._lock = threading.Lock()
        self._atexit = False

    def add(self, obj: T) -> None:
        with self._lock:
            if obj not in self._live:
                self._live.append(obj)
            if not self._atexit:
                atexit.register(self._stop_at_exit)
                self._atexit = True

    def discard(self, obj: T) -> None:
        with self._lock:
            if obj in self._live:
                self._live.remove(obj)

    def running(self) -> list[T]:
        with self._lock:
            return [obj for obj in self._live if self._alive(obj)]

    def stop_all(self, **stop_options: Any) -> int:
        """Stop every running instance (gracefully); the number stopped."""
        found = self.running()
        for obj in found:
            obj.stop(**stop_options)  # type: ignore[attr-defined]
        return len(found)

    def _stop_at_exit(self) -> None:
        with self._lock:
            found = list(self._live)
        for obj in found:
            try:
                obj.stop()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - best effort at interpreter exit
                log.debug("%s did not stop cleanly at exit", self._kind, exc_info=True)


def run_until_signal(start: Callable[[], object], stopped: Callable[[], bool], stop: Callable[[], object],
                     on_signal: Callable[[], object] | None = None) -> None:
    """start(), then block until SIGINT/SIGTERM (handled on the main thread only) or until
    `stopped()` says another thread stopped it; then stop(). The previous handlers come back."""
    got = threading.Event()

    def handler(*_: object) -> None:
        got.set()
        if on_signal is not None:
            on_signal()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    try:
        start()
        while not got.is_set() and not stopped():
            got.wait(0.5)
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
        stop()
