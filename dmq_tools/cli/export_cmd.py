"""`dmq export <what> --format csv|parquet|json -o FILE`: DataFrames from dmq_tools.export."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import click

from ..models import TaskState
from ._output import DATETIME, DURATION, handle_errors, open_inspector, progress_bar, uri_option

__all__ = ["export_cmd"]

_WHAT = ["queues", "tasks", "history", "events", "throughput", "servers", "scheduler"]


@click.command("export")
@click.argument("what", type=click.Choice(_WHAT, case_sensitive=False))
@click.option("--format", "-f", "fmt", type=click.Choice(["csv", "parquet", "json"]), default=None,
              help="File format (default: from the file name, else csv).")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, writable=True),
              help="File to write.")
@click.option("--queue", "-q", default=None, help="Queue (required for tasks; others: every queue).")
@click.option("--state", "-s", type=click.Choice([s.value for s in TaskState]), default=None,
              help="tasks: one state (default every state).")
@click.option("--days", type=click.IntRange(1, 90), default=30, show_default=True, help="history: days.")
@click.option("--since", type=DATETIME, default=None, help="events: from (ISO time).")
@click.option("--until", type=DATETIME, default=None, help="events/throughput: until (ISO time).")
@click.option("--window", type=DURATION, default="1h", show_default=True, help="throughput: window.")
@click.option("--freq", default="1min", show_default=True, help="throughput: bucket (pandas freq).")
@uri_option
@handle_errors
def export_cmd(what: str, fmt: str | None, output: str, queue: str | None, state: str | None, days: int,
               since: datetime | None, until: datetime | None, window: timedelta, freq: str,
               uri: str | None) -> None:
    """Export queues, tasks, history, events, throughput, servers or scheduler entries."""
    from .. import export

    fmt = fmt or _format_from_name(output)
    if what == "tasks" and not queue:
        raise click.UsageError("exporting tasks needs --queue")
    insp = open_inspector(uri)
    df = _frame(export, insp, what, queue, state, days, since, until, window, freq)
    export.write_frame(df, output, fmt)
    click.echo(f"Wrote {len(df)} rows to {output} ({fmt})")


def _format_from_name(path: str) -> str:
    for ext in ("csv", "parquet", "json"):
        if path.lower().endswith("." + ext):
            return ext
    return "csv"


def _frame(export: Any, insp: Any, what: str, queue: str | None, state: str | None, days: int,
           since: datetime | None, until: datetime | None, window: timedelta, freq: str) -> Any:
    if what == "queues":
        return export.queues_frame(insp)
    if what == "tasks":
        states = [state] if state else [s.value for s in TaskState]
        total = sum(insp.count_tasks(queue, s) for s in states)
        with progress_bar(total, f"tasks of {queue}") as bar:
            job = bar.add_task("read", total=total)
            return export.tasks_frame(insp, queue, state, progress=lambda n: bar.advance(job, n))
    if what == "history":
        return export.history_frame(insp, queue, days=days)
    if what == "events":
        with progress_bar(None, "events") as bar:
            job = bar.add_task("read", total=None)
            return export.events_frame(insp, queue, since=since, until=until,
                                       progress=lambda n: bar.advance(job, n))
    if what == "throughput":
        try:
            return export.throughput_frame(insp, queue, freq=freq, window=window,
                                           until=until or datetime.now(timezone.utc))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--freq") from None
    if what == "servers":
        return export.servers_frame(insp)
    return export.scheduler_frame(insp)
