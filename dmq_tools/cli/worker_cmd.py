"""`dmq worker`: run a Worker in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import importlib
import os
import sys
from datetime import timedelta
from typing import Any

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


def load_app(ref: str) -> Any:
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
    if not (hasattr(obj, "match") or callable(obj)):
        raise click.BadParameter(f"--app {ref!r} is a {type(obj).__name__}, not a ServeMux or a handler function")
    return obj


def _settings() -> Any:
    from ..config import load_settings
    from ..errors import ConfigurationError

    try:
        return load_settings()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


DISABLED = ("dmq worker: not starting, the worker is disabled by QUEUE_WORKER_ENABLED=false "
            "(set QUEUE_WORKER_ENABLED=true, or unset it, to process tasks here).")


@click.command("worker")
@click.option("--app", "app", default=None,
              help="Handlers to serve, as module:mux (a ServeMux or a function) [default: the built-in tasks "
                   "email:deliver, image:resize, image:thumbnail, data:export].")
@click.option("--queues", "-q", default=None,
              help="Queues and priorities, e.g. critical=6,default=3,low=1 [default: $QUEUE_QUEUES or that].")
@click.option("--strict", is_flag=True, help="Strict priority: lower queues only when higher ones are empty.")
@click.option("--concurrency", "-c", type=click.IntRange(1, 10_000), default=None,
              help="Handler threads [default: $QUEUE_CONCURRENCY or 10].")
@click.option("--pool", type=click.Choice(["thread", "process"]), default="thread", show_default=True,
              help="process: handlers run in child processes and are killed at their deadline.")
@click.option("--shutdown-timeout", type=float, default=8.0, show_default=True,
              help="Seconds to let running tasks finish at shutdown before requeueing them.")
@click.option("--redis-url", default=None, help="Redis URL [default: $REDIS_URL, else the embedded server].")
def worker_command(app: str | None, queues: str | None, strict: bool, concurrency: int | None, pool: str,
                   shutdown_timeout: float, redis_url: str | None) -> None:
    """Process tasks (asynq-compatible) until SIGINT or SIGTERM.

    Settings come from the environment over ./.env (see `dmq config`); options override them."""
    settings = _settings()
    if not settings.worker_enabled:
        click.echo(DISABLED, err=True)
        sys.exit(0)
    from ..errors import DmqError
    from ..rdb import connect
    from ..worker import Worker

    if app is None:
        from ..tasks import builtin_mux

        handlers: Any = builtin_mux(settings)
    else:
        handlers = load_app(app)
    conc = concurrency if concurrency is not None else settings.concurrency
    weights = parse_queues(queues) if queues is not None else dict(settings.queues)
    try:
        r = connect(redis_url)
        worker = Worker(r, handlers, concurrency=conc, queues=weights,
                        strict_priority=strict or settings.strict_priority,
                        pool=pool, shutdown_timeout=timedelta(seconds=shutdown_timeout))
    except DmqError as exc:
        raise click.ClickException(str(exc)) from None
    served = "built-in tasks" if app is None else app
    click.echo(f"dmq worker {worker.id[:8]}: {served}, queues={worker.config.queues} concurrency={conc} "
               f"pool={pool} (Ctrl-C to stop)")
    worker.run()
    click.echo(f"dmq worker {worker.id[:8]}: stopped ({worker.counts})")


def register(main: click.Group) -> None:
    """Add this module's commands to the `dmq` group."""
    main.add_command(worker_command)
