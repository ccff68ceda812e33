"""Handlers of `dmq demo` (also usable with `dmq worker --app dmq_tools.tasks.demo:mux`).

They show asynq's outcomes: success, retry then success, failure archived after its retries,
a scheduled task and a task whose result is retained.
"""

from __future__ import annotations

import time
from typing import Any

from ..task import Task
from ..worker.mux import ServeMux

__all__ = ["mux", "demo_tasks"]

mux = ServeMux()


@mux.handle("demo:hello")
def hello(task: Task) -> dict[str, Any]:
    name = task.json().get("name", "world")
    return {"greeting": f"hello, {name}"}


@mux.handle("demo:flaky")
def flaky(task: Task) -> dict[str, Any]:
    """Fails on its first attempt and succeeds on the retry."""
    if task.retry_count == 0:
        raise RuntimeError("temporary failure (first attempt)")
    return {"attempts": task.retry_count + 1}


@mux.handle("demo:broken")
def broken(task: Task) -> None:
    raise ValueError("this task always fails")


@mux.handle("demo:sum")
def add(task: Task) -> dict[str, Any]:
    numbers = task.json()["numbers"]
    time.sleep(0.05)
    return {"sum": sum(numbers), "count": len(numbers)}


def demo_tasks() -> list[tuple[str, Task, dict[str, Any]]]:
    """(label, task, enqueue options) of the demo run."""
    from datetime import timedelta

    return [
        ("success", Task("demo:hello", {"name": "dmq"}), {}),
        ("retry, then success", Task("demo:flaky", {}), {"max_retry": 3, "retention": timedelta(minutes=10)}),
        ("failure, archived", Task("demo:broken", {}), {"max_retry": 1}),
        ("scheduled in 2 s", Task("demo:hello", {"name": "later"}), {"process_in": timedelta(seconds=2)}),
        ("result retained", Task("demo:sum", {"numbers": [1, 2, 3, 4]}), {"retention": timedelta(hours=1)}),
    ]
