"""Shared pieces of the ops tests: a real worker in threads, polling for conditions."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest


def wait_for(cond: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until `cond()` is truthy (generous: the test machine is shared and loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def start_worker(r):
    """start_worker(mux, queues) -> a started dmq.Worker, stopped after the test."""
    import dmq_tools as dmq

    made: list[Any] = []

    def start(mux: Any, queues: dict[str, int]) -> Any:
        w = dmq.Worker(r, mux, concurrency=2, queues=queues, shutdown_timeout=timedelta(seconds=1))
        w.start()
        made.append(w)
        return w

    yield start
    for w in made:
        w.stop()
