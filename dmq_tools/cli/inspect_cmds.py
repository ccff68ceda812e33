"""`dmq stats | queue | task | group | server | export`: asynq's CLI verbs over the Inspector."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click

from ..models import TaskState
from ._output import (
    DATETIME,
    DURATION,
    handle_errors,
    json_option,
    open_inspector,
    open_redis,
    print_json,
    print_records,
    print_table,
    uri_option,
)

__all__ = ["register"]

_STATES = [s.value for s in TaskState]
_QUEUE_COLUMNS = ["queue", "paused", "size", "pending", "active", "scheduled", "retry", "archived",
                  "completed", "aggregating", "processed", "failed", "latency", "memory_usage"]
_TASK_COLUMNS = {
    "pending": ["id", "type", "payload", "max_retry", "retried", "last_err"],
    "active": ["id", "type", "payload", "is_orphaned", "deadline"],
    "scheduled": ["id", "type", "payload", "next_process_at", "retried", "last_err"],
    "retry": ["id", "type", "payload", "next_process_at", "retried", "max_retry", "last_err"],
    "archived": ["id", "type", "payload", "retried", "last_failed_at", "last_err"],
    "completed": ["id", "type", "payload", "completed_at", "retention", "result"],
    "aggregating": ["id", "type", "payload", "group"],
}


def _queue_opt(f: Any) -> Any:
    return click.option("--queue", "-q", required=True, help="Queue name.")(f)


def _state_opt(choices: list[str]) -> Any:
    return click.option("--state", "-s", required=True, type=click.Choice(choices, case_sensitive=False),
                        help="Task state.")


# ---------------------------------------------------------------- stats
@click.command("stats")
@uri_option
@json_option
@handle_errors
def stats_cmd(uri: str | None, as_json: bool) -> None:
    """Counts by state and queue, today's processed/failed, and Redis info."""
    insp = open_inspector(uri)
    infos = insp.queue_infos()
    info = insp.redis_info()
    redis_keys = ["redis_version", "uptime_in_days", "connected_clients", "used_memory_human",
                  "used_memory_peak_human"]
    totals = {s: sum(getattr(i, s) for i in infos) for s in _STATES}
    processed, failed = sum(i.processed for i in infos), sum(i.failed for i in infos)
    if as_json:
        print_json({"queues": infos, "by_state": totals,
                    "today": {"processed": processed, "failed": failed,
                              "failure_rate": failed / processed if processed else 0.0},
                    "redis": {k: info.get(k, "") for k in redis_keys}})
        return
    print_table(_STATES, [[totals[s] for s in _STATES]], title="Task count by state")
    print_records(infos, ["queue", "size", "pending", "active", "scheduled", "retry", "archived",
                          "completed", "aggregating", "paused"], title="Queues")
    rate = f"{failed / processed:.2%}" if processed else "0.00%"
    print_table(["processed", "failed", "error rate"], [[processed, failed, rate]], title="Today (UTC)")
    print_table(["field", "value"], [[k, info.get(k, "")] for k in redis_keys], title="Redis")


# ---------------------------------------------------------------- queue
@click.group("queue")
def queue_group() -> None:
    """List, inspect, pause, resume and remove queues."""


@queue_group.command("ls")
@uri_option
@json_option
@handle_errors
def queue_ls(uri: str | None, as_json: bool) -> None:
    """List queues with their sizes."""
    infos = open_inspector(uri).queue_infos()
    if as_json:
        print_json(infos)
    else:
        print_records(infos, ["queue", "size", "pending", "active", "paused"], title="Queues")


@queue_group.command("inspect")
@click.argument("queues", nargs=-1, required=True)
@uri_option
@json_option
@handle_errors
def queue_inspect(queues: tuple[str, ...], uri: str | None, as_json: bool) -> None:
    """Show a queue's details."""
    insp = open_inspector(uri)
    infos = [insp.get_queue_info(q) for q in queues]
    if as_json:
        print_json(infos if len(infos) > 1 else infos[0])
        return
    for i in infos:
        print_table(["field", "value"], [[k, getattr(i, k)] for k in _QUEUE_COLUMNS[1:]], title=i.queue)


@queue_group.command("history")
@click.argument("queues", nargs=-1, required=True)
@click.option("--days", "-x", type=click.IntRange(1, 90), default=10, show_default=True)
@uri_option
@json_option
@handle_errors
def queue_history(queues: tuple[str, ...], days: int, uri: str | None, as_json: bool) -> None:
    """Processed and failed per day."""
    insp = open_inspector(uri)
    hist = {q: insp.history(q, days=days) for q in queues}
    if as_json:
        print_json(hist)
        return
    for q, rows in hist.items():
        print_table(["date", "processed", "failed", "error rate"],
                    [[h.date, h.processed, h.failed,
                      f"{h.failed / h.processed:.2%}" if h.processed else "0.00%"] for h in rows], title=q)


def _each_queue(verb: str, fn_name: str, done: str) -> Any:
    @click.argument("queues", nargs=-1, required=True)
    @uri_option
    @handle_errors
    def cmd(queues: tuple[str, ...], uri: str | None) -> None:
        insp = open_inspector(uri)
        for q in queues:
            getattr(insp, fn_name)(q)
            click.echo(f"Successfully {done} queue {q!r}")

    cmd.__doc__ = f"{verb.capitalize()} queues."
    return queue_group.command(verb)(cmd)


_each_queue("pause", "pause_queue", "paused")
_each_queue("resume", "unpause_queue", "resumed")


@queue_group.command("remove")
@click.argument("queues", nargs=-1, required=True)
@click.option("--force", "-f", is_flag=True, help="Also delete its tasks (unless some are active).")
@uri_option
@handle_errors
def queue_remove(queues: tuple[str, ...], force: bool, uri: str | None) -> None:
    """Remove queues (they must be empty unless --force)."""
    insp = open_inspector(uri)
    for q in queues:
        insp.remove_queue(q, force=force)
        click.echo(f"Successfully removed queue {q!r}")


# ---------------------------------------------------------------- task
@click.group("task")
def task_group() -> None:
    """List, inspect, run, archive, delete, cancel and enqueue tasks."""


@task_group.command("ls")
@_queue_opt
@_state_opt(_STATES)
@click.option("--group", "-g", default=None, help="Group (for aggregating tasks).")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--size", type=click.IntRange(1, 10_000), default=30, show_default=True)
@uri_option
@json_option
@handle_errors
def task_ls(queue: str, state: str, group: str | None, page: int, size: int, uri: str | None,
            as_json: bool) -> None:
    """List a page of tasks (page 1 = next to run)."""
    state = state.lower()
    if state == "aggregating" and not group:
        raise click.UsageError("--group is required for aggregating tasks")
    tasks = open_inspector(uri).list_tasks(queue, state, page=page, page_size=size, group=group)
    if as_json:
        print_json(tasks)
    else:
        print_records(tasks, _TASK_COLUMNS[state], title=f"{state} tasks in {queue!r} (page {page})")


@task_group.command("inspect")
@_queue_opt
@click.option("--id", "task_id", required=True, help="Task ID.")
@uri_option
@json_option
@handle_errors
def task_inspect(queue: str, task_id: str, uri: str | None, as_json: bool) -> None:
    """Show one task."""
    info = open_inspector(uri).get_task_info(queue, task_id)
    if as_json:
        print_json(info)
    else:
        from dataclasses import fields

        print_table(["field", "value"], [[f.name, getattr(info, f.name)] for f in fields(info)], title=task_id)


@task_group.command("cancel")
@click.argument("ids", nargs=-1, required=True)
@uri_option
@handle_errors
def task_cancel(ids: tuple[str, ...], uri: str | None) -> None:
    """Ask workers to cancel active tasks."""
    insp = open_inspector(uri)
    for tid in ids:
        insp.cancel_processing(tid)
        click.echo(f"Sent cancelation signal for task {tid}")


def _one_task(verb: str, done: str) -> Any:
    @_queue_opt
    @click.option("--id", "task_id", required=True, help="Task ID.")
    @uri_option
    @handle_errors
    def cmd(queue: str, task_id: str, uri: str | None) -> None:
        getattr(open_inspector(uri), f"{verb}_task")(queue, task_id)
        click.echo(f"Task {task_id} {done}")

    cmd.__doc__ = f"{verb.capitalize()} one task."
    return task_group.command(verb)(cmd)


_one_task("delete", "deleted")
_one_task("archive", "archived")
_one_task("run", "moved to pending")

_BULK = {
    "deleteall": ("delete_all", ["pending", "scheduled", "retry", "archived", "completed", "aggregating"],
                  "deleted"),
    "archiveall": ("archive_all", ["pending", "scheduled", "retry", "aggregating"], "archived"),
    "runall": ("run_all", ["scheduled", "retry", "archived", "aggregating"], "moved to pending"),
}


def _bulk(verb: str) -> Any:
    method, states, done = _BULK[verb]

    @_queue_opt
    @_state_opt(states)
    @click.option("--group", "-g", default=None, help="Group (aggregating; default every group).")
    @uri_option
    @handle_errors
    def cmd(queue: str, state: str, group: str | None, uri: str | None) -> None:
        n = getattr(open_inspector(uri), method)(queue, state.lower(), group=group)
        click.echo(f"{n} tasks {done}")

    cmd.__doc__ = f"{method.replace('_', ' ').capitalize()} tasks of a state."
    return task_group.command(verb)(cmd)


for _verb in _BULK:
    _bulk(_verb)


@task_group.command("enqueue")
@click.option("--type", "-t", "task_type", required=True, help="Task type name.")
@click.option("--payload", "-p", default=None, help="Payload text (JSON recommended).")
@click.option("--queue", "-q", default="default", show_default=True)
@click.option("--retry", "-r", "max_retry", type=click.IntRange(min=0), default=None, help="Max retries (25).")
@click.option("--timeout", type=DURATION, default=None, help="e.g. 30s, 10m.")
@click.option("--deadline", type=DATETIME, default=None, help="ISO time (UTC if no offset).")
@click.option("--unique", type=DURATION, default=None, help="Unique TTL, e.g. 1h.")
@click.option("--process-in", type=DURATION, default=None, help="Delay, e.g. 5m.")
@click.option("--process-at", type=DATETIME, default=None, help="ISO time.")
@click.option("--retention", type=DURATION, default=None, help="Keep after success, e.g. 24h.")
@click.option("--group", default=None, help="Aggregation group.")
@click.option("--id", "task_id", default=None, help="Task ID (default: a UUID).")
@uri_option
@json_option
@handle_errors
def task_enqueue(task_type: str, payload: str | None, queue: str, max_retry: int | None, timeout: Any,
                 deadline: Any, unique: Any, process_in: Any, process_at: Any, retention: Any,
                 group: str | None, task_id: str | None, uri: str | None, as_json: bool) -> None:
    """Enqueue a task."""
    from ..client import Client
    from ..task import Task

    if process_in is not None and process_at is not None:
        raise click.UsageError("give --process-in or --process-at, not both")
    opts = {k: v for k, v in dict(queue=queue, max_retry=max_retry, timeout=timeout, deadline=deadline,
                                  unique=unique, process_in=process_in, process_at=process_at,
                                  retention=retention, group=group, task_id=task_id).items() if v is not None}
    info = Client(open_redis(uri)).enqueue(Task(task_type, payload), **opts)
    if as_json:
        print_json(info)
    else:
        click.echo(f"Enqueued task {info.id} to queue {info.queue!r} ({info.state.value})")


# ---------------------------------------------------------------- group, server
@click.group("group")
def group_group() -> None:
    """Aggregation groups."""


@group_group.command("ls")
@_queue_opt
@uri_option
@json_option
@handle_errors
def group_ls(queue: str, uri: str | None, as_json: bool) -> None:
    """List the groups of a queue with their sizes."""
    groups = open_inspector(uri).groups(queue)
    if as_json:
        print_json(groups)
    else:
        print_records(groups, ["group", "size"], title=f"Groups in {queue!r}")


@click.group("server")
def server_group() -> None:
    """Worker servers."""


@server_group.command("ls")
@uri_option
@json_option
@handle_errors
def server_ls(uri: str | None, as_json: bool) -> None:
    """List live servers and their active workers."""
    servers = open_inspector(uri).servers()
    if as_json:
        print_json(servers)
        return
    now = datetime.now(timezone.utc)
    print_table(["host", "pid", "id", "concurrency", "queues", "status", "active", "uptime"],
                [[s.host, s.pid, s.id, s.concurrency, s.queues, s.status,
                  f"{len(s.active_workers)}/{s.concurrency}",
                  str(now - s.started).split(".")[0] if s.started else ""] for s in servers], title="Servers")


def register(main: click.Group) -> None:
    """Add this module's commands to the `dmq` group."""
    from .export_cmd import export_cmd

    for cmd in (stats_cmd, queue_group, task_group, group_group, server_group, export_cmd):
        main.add_command(cmd)
