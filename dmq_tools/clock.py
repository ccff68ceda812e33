"""Injectable time, so loops and scripts can be tested without sleeping."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

__all__ = ["Clock", "SystemClock", "FrozenClock", "utc", "to_unix", "from_unix"]

utc = timezone.utc


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""

    def time(self) -> float:
        """Unix seconds as a float."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(utc)

    def time(self) -> float:
        return time.time()


class FrozenClock:
    """A clock that moves only when told to (asynq's SimulatedClock)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def time(self) -> float:
        return self.now().timestamp()

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


def to_unix(when: datetime) -> int:
    """Whole Unix seconds, as asynq's `t.Unix()` (floor)."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime (UTC)")
    return int(when.timestamp() // 1)


def from_unix(seconds: float) -> datetime | None:
    """None for 0 (asynq's "unset")."""
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, utc)
