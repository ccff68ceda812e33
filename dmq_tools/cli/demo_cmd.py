"""`dmq demo`: enqueue a few tasks, process them with a Worker in threads, print what happened.

Runs on the embedded server when REDIS_URL is not set, in its own queue (`demo`).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import click

__all__ = ["register", "run_demo"]

QUEUE = "demo"


def run_demo(redis_url: str | None = None, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Enqueue the demo tasks, run them to their end state, return one row per task."""
    from ..client import Client
    from ..errors import TaskNotFoundError
    from ..inspector import Inspector
    from ..models import TaskInfo
    from ..rdb import connect
    from ..tasks.demo import demo_tasks, mux
    from ..worker import Worker, WorkerConfig

    r = connect(redis_url)
    client, insp = Client(r), Inspector(r)
    cfg = WorkerConfig(concurrency=4, queues={QUEUE: 1}, shutdown_timeout=timedelta(seconds=2),
                       delayed_task_check_interval=timedelta(seconds=0.5),
                       retry_delay_func=lambda n, err, task: timedelta(seconds=1))
    started = time.monotonic()
    worker = Worker(r, mux, config=cfg).start()
    rows: list[dict[str, Any]] = []
    try:
        infos = []
        for label, task, opts in demo_tasks():
            opts = {"retention": timedelta(minutes=10), **opts}
            infos.append((label, client.enqueue(task, queue=QUEUE, **opts)))
        pending = {info.id for _, info in infos}
        end = time.monotonic() + timeout
        final: dict[str, TaskInfo] = {}
        while pending and time.monotonic() < end:
            for tid in list(pending):
                try:
                    ti = insp.get_task_info(QUEUE, tid)
                except TaskNotFoundError:
                    pending.discard(tid)
                    continue
                if str(getattr(ti.state, "value", ti.state)) in ("completed", "archived"):
                    final[tid] = ti
                    pending.discard(tid)
            time.sleep(0.1)
        for label, info in infos:
            end_info = final.get(info.id)
            if end_info is None:
                rows.append({"label": label, "type": info.type, "outcome": "unfinished", "attempts": "-",
                             "detail": "timed out waiting"})
                continue
            state = str(getattr(end_info.state, "value", end_info.state))
            detail = end_info.last_err if state == "archived" else (end_info.result or b"").decode("utf-8", "replace")
            rows.append({"label": label, "type": end_info.type, "outcome": state, "attempts": end_info.retried + 1,
                         "detail": detail, "id": end_info.id})
    finally:
        worker.stop()
    rows.append({"elapsed": time.monotonic() - started, "counts": worker.counts})
    return rows


@click.command("demo")
@click.option("--redis-url", default=None, help="Redis URL [default: $REDIS_URL, else the embedded server].")
@click.option("--timeout", type=float, default=30.0, show_default=True)
def demo_command(redis_url: str | None, timeout: float) -> None:
    """Enqueue a success, a retry, a failure, a scheduled and a result task; run and summarise them."""
    from rich.console import Console
    from rich.table import Table

    from ..errors import DmqError

    import logging

    console = Console()
    quiet = logging.getLogger("dmq_tools.worker")   # the demo's failures are intended
    level = quiet.level
    if not logging.getLogger("dmq_tools").isEnabledFor(logging.INFO):
        quiet.setLevel(logging.CRITICAL)
    try:
        rows = run_demo(redis_url, timeout)
    except DmqError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        quiet.setLevel(level)
    summary = rows.pop()
    table = Table(title=f"dmq demo (queue {QUEUE!r})")
    for col in ("task", "type", "outcome", "attempts", "result / last error"):
        table.add_column(col)
    for row in rows:
        style = {"completed": "green", "archived": "red"}.get(str(row["outcome"]), "yellow")
        table.add_row(str(row["label"]), str(row["type"]), f"[{style}]{row['outcome']}[/]", str(row["attempts"]),
                      str(row["detail"]))
    console.print(table)
    counts = summary["counts"]
    console.print(f"{counts.get('succeeded', 0)} succeeded, {counts.get('retried', 0)} retried, "
                  f"{counts.get('archived', 0)} archived in {summary['elapsed']:.1f} s. "
                  "Look closer: dmq_tools.Inspector().list_tasks('demo', 'completed')")
    if any(r["outcome"] == "unfinished" for r in rows):
        raise SystemExit(1)


def register(main: click.Group) -> None:
    """Add this module's commands to the `dmq` group."""
    main.add_command(demo_command)
