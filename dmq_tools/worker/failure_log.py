"""How a worker reports failed tasks in its log: short by default, so a notebook never drowns.

A failing handler under load fails hundreds of times a minute; a traceback each (what a plain
`log.exception` gives) buries the notebook in red. Modes (`Worker(log=...)`):

- "short" (default): one line per failed task, at most `burst` lines per `window` seconds, then a
  single summary line ("... 40 more failed tasks in the last 10 s"); full tracebacks go to DEBUG,
  so `logging.getLogger("dmq_tools.worker").setLevel("DEBUG")` brings them back;
- "full": a traceback for every failure (unexpected exceptions), like before;
- "quiet": nothing above DEBUG (the Dashboard and the events stream still show every failure).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback

from .running import log_line

__all__ = ["FailureLog", "LOG_MODES"]

LOG_MODES = ("short", "full", "quiet")


class FailureLog:
    """Rate-limited failure lines for one worker (thread-safe: handler threads call it)."""

    def __init__(self, logger: logging.Logger, mode: str = "short", *, burst: int = 3,
                 window: float = 10.0) -> None:
        if mode not in LOG_MODES:
            raise ValueError(f"log must be one of {', '.join(LOG_MODES)}, got {mode!r}")
        self.logger, self.mode, self.burst, self.window = logger, mode, burst, window
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._shown = 0
        self._hidden = 0

    def failed(self, task_id: str, task_type: str, err: str, exc: BaseException | None,
               expected: bool) -> None:
        """One failed task. `expected`: SkipRetry, timeouts, missing handler (no traceback needed)."""
        trace = getattr(exc, "child_traceback", None)
        line = log_line(err)   # capped: a 20 MB message is never logged whole, nor twice
        if self.mode == "full":
            if expected:
                self.logger.warning("task %s (%s) failed: %s", task_id, task_type, line)
            elif trace:
                self.logger.error("task %s (%s) failed in a child process:\n%s", task_id, task_type, trace)
            else:
                self.logger.error("task %s (%s) failed: %s%s", task_id, task_type, line, _frames(exc))
            return
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("task %s (%s) failed: %s%s", task_id, task_type, line,
                              "\n" + trace if trace else ("" if expected else _frames(exc)))
        if self.mode == "quiet":
            return
        summary, show = self._admit()
        if summary:
            self.logger.warning("... %d more failed tasks in the last %.0f s (not shown)", summary, self.window)
        if show:
            self.logger.warning("task %s (%s) failed: %s", task_id, task_type, _one_line(err))

    def flush(self) -> None:
        """Log the count of failures not shown yet (at stop)."""
        with self._lock:
            hidden, self._hidden = self._hidden, 0
        if hidden and self.mode == "short":
            self.logger.warning("... %d more failed tasks (not shown)", hidden)

    def _admit(self) -> tuple[int, bool]:
        """(failures hidden in the previous window to report now, whether to show this one)."""
        with self._lock:
            now = time.monotonic()
            summary = 0
            if now - self._start >= self.window:
                summary, self._hidden = self._hidden, 0
                self._start, self._shown = now, 0
            if self._shown < self.burst:
                self._shown += 1
                return summary, True
            self._hidden += 1
            return summary, False


def _frames(exc: BaseException | None) -> str:
    """The traceback's frames without the exception's message (already on the line)."""
    if exc is None or exc.__traceback__ is None:
        return ""
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    return f"\nTraceback (most recent call last):\n{frames}\n{type(exc).__name__}"


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
