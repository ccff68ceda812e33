"""PeriodicLoop: a daemon thread calling `run_once()` every interval, riding out Redis outages."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from ..errors import CorruptStateError
from ..rdb.worker_ops import REDIS_ERRORS

__all__ = ["PeriodicLoop", "CorruptReporter"]

log = logging.getLogger(__name__)


class CorruptReporter:
    """Logs each corrupt key once per worker, whichever part (fetcher, forwarder, ...) meets it
    first: the key is stepped around on every run, the log must not fill up."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def report(self, key: str, text: str, who: str) -> None:
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        log.error("%s: %s", who, text)


class PeriodicLoop:
    """Subclasses implement `run_once()`; tests call it directly, without the thread."""

    name = "loop"

    def __init__(self, interval: float, *, run_at_start: bool = False) -> None:
        self.interval = float(interval)
        self.run_at_start = run_at_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error_log = 0.0
        self._reported: set[str] = set()
        self.reporter = CorruptReporter()      # the Worker shares one between its parts

    def run_once(self) -> object:  # pragma: no cover - abstract; what it returns is for tests
        raise NotImplementedError

    def start(self, prefix: str = "dmq") -> None:
        self._thread = threading.Thread(target=self._run, name=f"{prefix}-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        if not self.run_at_start and self._stop.wait(self.interval):
            return
        while not self._stop.is_set():
            try:
                self.run_once()
            except REDIS_ERRORS as exc:
                self._log_outage(exc)
            except Exception:
                log.exception("%s: unexpected error; continuing", self.name)
            if self._stop.wait(self.interval):
                return

    def report_once(self, key: str, text: str) -> None:
        """Log a corrupt key once per loop (it is stepped around on every run)."""
        self.reporter.report(key, text, self.name)

    def each_queue(self, queues: Iterable[str], fn: Callable[[str], int]) -> int:
        """fn(q) for every queue; one queue's corrupt state or failure never stops the others.
        Outages propagate (the loop backs off as a whole)."""
        total = 0
        for q in queues:
            try:
                total += fn(q) or 0
            except REDIS_ERRORS:
                raise
            except CorruptStateError as exc:
                # a key Redis did not name is reported once per queue, not once per worker
                self.report_once(exc.key or f"{q} (key unknown)", f"queue {q!r} skipped: {exc}")
            except Exception as exc:
                if q not in self._reported:
                    self._reported.add(q)
                    log.exception("%s: queue %r failed (%s); the other queues go on", self.name, q, exc)
        return total

    def _log_outage(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_error_log > 10:
            self._last_error_log = now
            log.warning("%s: Redis unreachable (%s); retrying every %.1f s", self.name, exc, self.interval)
