"""`dmq.wait_until`: poll a condition while workers run in background threads.

A notebook cell that enqueues and then shows results must wait for the worker; a sleep is either
too short on a busy machine or wastes time on an idle one. This polls instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(condition: Callable[[], T] | threading.Event, timeout: float = 30.0, *,
               every: float = 0.05, message: str = "") -> T | bool:
    """Return the first truthy value of `condition()` (or True once an Event is set).

    Raises TimeoutError after `timeout` seconds, naming the condition. Exceptions raised by the
    condition propagate (a typo should not look like a timeout).
    """
    if isinstance(condition, threading.Event):
        if condition.wait(timeout):
            return True
        raise TimeoutError(message or f"event not set within {timeout:g} s")
    if not callable(condition):
        raise TypeError(f"wait_until needs a callable or a threading.Event, got {type(condition).__name__}")
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(message or f"{_name(condition)} still false after {timeout:g} s")
        time.sleep(every)


def _name(fn: Any) -> str:
    name = getattr(fn, "__name__", "") or type(fn).__name__
    return "the condition" if name == "<lambda>" else f"{name}()"
