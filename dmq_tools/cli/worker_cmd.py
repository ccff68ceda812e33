"""`dmq worker`: run a Worker in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import importlib
import os
import sys
from datetime import timedelta

import click

__all__ = ["register", "parse_queues", "load_app"]


def parse_queues(spec: str) -> dict[str, int]:
    """`critical=6,default=3,low=1` (a name without `=` has priority 1)."""
    out: dict[str, int] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, prio = part.partition("=")
        try:
            out[name.strip()] = int(prio) if prio else 1
        except ValueError:
            raise click.BadParameter(f"bad priority in {part!r}; use name=N, e.g. critical=6") from None
    if not out:
        raise click.BadParameter("no queue given")
    return out


def load_app(ref: str) -> object:
    """Import `module:attribute` (a ServeMux or a handler function); the cwd is importable."""
    mod_name, _, attr = ref.partition(":")
    if not mod_name or not attr:
        raise click.BadParameter(f"--app must look like module:mux, got {ref!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {mod_name!r}: {exc}") from None
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise click.BadParameter(f"{mod_name!r} has no attribute {attr!r}") from None
    return obj


def _default_concurrency() -> int:
    try:
        return int(os.environ.get("QUEUE_CONCURRENCY", "10"))
    except ValueError:
        return 10


@click.command("worker")
@click.option("--app", "app", required=True, help="Handlers to serve, as module:mux (a ServeMux or a function).")
@click.option("--queues", "-q", default="default", show_default=True,
              help="Queues and priorities, e.g. critical=6,default=3,low=1.")
@click.option("--strict", is_flag=True, help="Strict priority: lower queues only when higher ones are empty.")
@click.option("--concurrency", "-c", type=int, default=None,
              help="Handler threads [default: $QUEUE_CONCURRENCY or 10].")
@click.option("--pool", type=click.Choice(["thread", "process"]), default="thread", show_default=True,
              help="process: handlers run in child processes and are killed at their deadline.")
@click.option("--shutdown-timeout", type=float, default=8.0, show_default=True,
              help="Seconds to let running tasks finish at shutdown before requeueing them.")
@click.option("--redis-url", default=None, help="Redis URL [default: $REDIS_URL, else the embedded server].")
def worker_command(app: str, queues: str, strict: bool, concurrency: int | None, pool: str,
                   shutdown_timeout: float, redis_url: str | None) -> None:
    """Process tasks (asynq-compatible) until SIGINT or SIGTERM."""
    if os.environ.get("QUEUE_WORKER_ENABLED", "true").strip().lower() in ("false", "0", "no", "off"):
        click.echo("dmq worker: disabled by QUEUE_WORKER_ENABLED=false; not starting.")
        sys.exit(0)
    from ..errors import DmqError
    from ..rdb import connect
    from ..worker import Worker

    handlers = load_app(app)
    conc = concurrency if concurrency is not None else _default_concurrency()
    try:
        r = connect(redis_url)
        worker = Worker(r, handlers, concurrency=conc, queues=parse_queues(queues), strict_priority=strict,
                        pool=pool, shutdown_timeout=timedelta(seconds=shutdown_timeout))
    except DmqError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"dmq worker {worker.id[:8]}: queues={worker.config.queues} concurrency={conc} pool={pool} "
               "(Ctrl-C to stop)")
    worker.run()
    click.echo(f"dmq worker {worker.id[:8]}: stopped ({worker.counts})")


def register(main: click.Group) -> None:
    """Add this module's commands to the `dmq` group."""
    main.add_command(worker_command)
