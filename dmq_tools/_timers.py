"""Live auto-refresh timers of this process, so `dmq.stop_all()` can stop them too.

Widgets register here (this module is stdlib-only, so the package can call it without importing
the widgets). Held weakly: a closed, collected widget drops out by itself.
"""

from __future__ import annotations

import weakref
from typing import Any

__all__ = ["register", "stop_all", "live"]

_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()


def register(obj: Any) -> None:
    """`obj.stop_auto_refresh()` will be called by `stop_all()`."""
    _LIVE.add(obj)


def live() -> list[Any]:
    return list(_LIVE)


def stop_all() -> int:
    """Stop every registered timer that is running; returns how many were running."""
    n = 0
    for obj in list(_LIVE):
        timer = getattr(obj, "timer", None)
        if timer is not None and getattr(timer, "running", False):
            n += 1
        try:
            obj.stop_auto_refresh()
        except Exception:  # a half-closed widget must not stop the others from stopping
            pass
    return n
