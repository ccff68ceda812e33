"""`dmq scheduler --config schedule.yaml` and `dmq cron ls | history` (asynq's `cron` verbs)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from ._output import (
    DURATION,
    handle_errors,
    json_option,
    open_inspector,
    open_redis,
    print_json,
    print_table,
    uri_option,
)

__all__ = ["register"]


@click.command("scheduler")
@click.option("--config", "-c", "config", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Schedule file (YAML or TOML): a list of {cron, task, payload, options}.")
@click.option("--sync-interval", type=DURATION, default="3m", show_default=True,
              help="How often the file is re-read (changed entries are re-registered).")
@click.option("--tz", default="UTC", show_default=True,
              help="Time zone of specs without a CRON_TZ= prefix (IANA name).")
@click.option("--heartbeat", type=DURATION, default="10s", show_default=True,
              help="How often the entries are written for `cron ls` / asynqmon.")
@click.option("--misfire-grace", type=DURATION, default="60s", show_default=True,
              help="A tick missed by at most this much (stalled process) still fires once.")
@click.option("--dry-run", is_flag=True, help="Validate the file, print the next fire times, exit.")
@uri_option
@handle_errors
def scheduler_cmd(config: Path, sync_interval: timedelta, tz: str, heartbeat: timedelta,
                  misfire_grace: timedelta, dry_run: bool, uri: str | None) -> None:
    """Run a scheduler for the periodic tasks in a YAML/TOML file (blocks until Ctrl-C/SIGTERM).

    Any number of `dmq scheduler` processes may run the same file: each tick is enqueued once.
    """
    from ..scheduler import PeriodicTaskManager, load_configs
    from ..scheduler.cron import parse

    configs = load_configs(config)
    if dry_run:
        rows = []
        for cfg in configs:
            schedule = parse(cfg.cron, tz)
            t, times = datetime.now(timezone.utc), []
            for _ in range(3):
                t = schedule.next(t)
                times.append(t.strftime("%Y-%m-%d %H:%M:%S UTC"))
            rows.append([cfg.cron, cfg.task.type, cfg.task.payload, ", ".join(times)])
        print_table(["spec", "type", "payload", "next fire times"], rows, title=str(config))
        return
    if sync_interval.total_seconds() <= 0:
        raise click.BadParameter("must be positive", param_hint="--sync-interval")
    manager = PeriodicTaskManager(open_redis(uri), provider=config, sync_interval=sync_interval,
                                  tz=tz, heartbeat_interval=heartbeat, misfire_grace=misfire_grace)
    click.echo(f"dmq scheduler {manager.scheduler.id}: {len(configs)} entries from {config}", err=True)
    manager.run()
    click.echo("dmq scheduler stopped", err=True)


@click.group("cron")
def cron_group() -> None:
    """Scheduler entries and their enqueue history (ours and asynq's)."""


def _entry_row(e: Any) -> list[Any]:
    return [e.id, e.spec, e.task_type, e.task_payload, ", ".join(e.opts),
            e.next_enqueue_at, e.prev_enqueue_at if e.prev_enqueue_at else "N/A"]


@cron_group.command("ls")
@uri_option
@json_option
@handle_errors
def cron_ls(uri: str | None, as_json: bool) -> None:
    """List the entries of every live scheduler (like `asynq cron ls`)."""
    entries = open_inspector(uri).scheduler_entries()
    if as_json:
        print_json(list(entries))
        return
    print_table(["EntryID", "Spec", "Type", "Payload", "Options", "Next", "Prev"],
                [_entry_row(e) for e in entries], title="Scheduler entries")


@cron_group.command("history")
@click.argument("entry_ids", nargs=-1, required=True)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--size", type=click.IntRange(1, 1000), default=30, show_default=True)
@uri_option
@json_option
@handle_errors
def cron_history(entry_ids: tuple[str, ...], page: int, size: int, uri: str | None,
                 as_json: bool) -> None:
    """Enqueue events of scheduler entries, newest first (like `asynq cron history`)."""
    insp = open_inspector(uri)
    found = {eid: list(insp.scheduler_history(eid, page=page, page_size=size)) for eid in entry_ids}
    if as_json:
        print_json(found)
        return
    for eid, events in found.items():
        print_table(["TaskID", "EnqueuedAt"], [[ev.task_id, ev.enqueued_at] for ev in events],
                    title=f"Entry {eid}")


def register(main: click.Group) -> None:
    """Add this module's commands to the `dmq` group."""
    main.add_command(scheduler_cmd)
    main.add_command(cron_group)
