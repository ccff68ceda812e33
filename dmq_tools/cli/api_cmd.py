"""`dmq serve` (the guide's app: HTTP routes, plus a worker when QUEUE_WORKER_ENABLED=true) and
`dmq api` (the HTTP app alone, with explicit options), both with uvicorn."""

from __future__ import annotations

from typing import Any

import click

from ._output import handle_errors, open_inspector, uri_option

__all__ = ["register"]

INSECURE_HELP = ("DANGEROUS: accept actions (enqueue, run, archive, delete, ...) without a token when "
                 "DMQ_API_TOKEN is unset. Anything that can reach the port can then act.")


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise click.ClickException("the HTTP app needs uvicorn and starlette: pip install 'dmq_tools[api]'") from None
    return uvicorn


def _token_notice(settings: Any, insecure: bool) -> None:
    if settings.api_token:
        return
    if insecure:
        click.echo("dmq: WARNING: actions are open to anyone who reaches the port (--insecure-open-actions)",
                   err=True)
    else:
        click.echo("dmq: DMQ_API_TOKEN is not set: reads only, every action (POST) is refused", err=True)


def register(main: click.Group) -> None:
    @main.command("api")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
    @click.option("--read-only", is_flag=True, help="Refuse every action (pause, run, delete, ...).")
    @click.option("--insecure-open-actions", is_flag=True, help=INSECURE_HELP)
    @uri_option
    @handle_errors
    def api(host: str, port: int, read_only: bool, insecure_open_actions: bool, uri: str | None) -> None:
        """Serve the HTTP API over the Inspector (needs `pip install 'dmq_tools[api]'`)."""
        uvicorn = _uvicorn()
        from ..api import create_app
        from ..config import load_settings

        settings = load_settings()
        _token_notice(settings, insecure_open_actions)
        uvicorn.run(create_app(open_inspector(uri), settings=settings, read_only=read_only,
                               allow_unauthenticated_actions=insecure_open_actions),
                    host=host, port=port, log_level="warning")

    @main.command("serve")
    @click.option("--host", default=None, help="Address to listen on [default: $DMQ_API_HOST or 127.0.0.1].")
    @click.option("--port", default=None, type=click.IntRange(0, 65535),
                  help="Port [default: $DMQ_API_PORT or 8080].")
    @click.option("--app", "app_ref", default=None,
                  help="Handlers for the in-process worker, as module:mux [default: the built-in tasks].")
    @click.option("--insecure-open-actions", is_flag=True, help=INSECURE_HELP)
    @uri_option
    @handle_errors
    def serve(host: str | None, port: int | None, app_ref: str | None, insecure_open_actions: bool,
              uri: str | None) -> None:
        """The guide's application: the HTTP app (/api/queue/* and the inspector routes) and, when
        QUEUE_WORKER_ENABLED=true, a worker with QUEUE_CONCURRENCY on QUEUE_QUEUES serving the
        built-in tasks in the same process (plus the scheduler when DMQ_SCHEDULE names a file, and
        the alert rules of DMQ_ALERT_RULES)."""
        uvicorn = _uvicorn()
        from ..api import create_app
        from ..config import load_settings
        from ..inspector import Inspector
        from ..rdb import connect

        settings = load_settings()
        _token_notice(settings, insecure_open_actions)
        app = create_app(Inspector(connect(uri)), settings=settings,
                         allow_unauthenticated_actions=insecure_open_actions)
        background = _start_background(settings, uri, app_ref)
        try:
            uvicorn.run(app, host=host or settings.api_host, port=settings.api_port if port is None else port,
                        log_level="warning")
        finally:
            for part in reversed(background):
                part.stop()


def _start_background(settings: Any, uri: str | None, app_ref: str | None) -> list[Any]:
    """The worker (and scheduler) `dmq serve` runs beside the HTTP app, started."""
    from ..rdb import connect

    started: list[Any] = []
    if settings.alert_rules is not None:
        from ..alerts import AlertEvaluator, load_rules
        from ..inspector import Inspector

        started.append(AlertEvaluator(Inspector(connect(uri)), load_rules(settings.alert_rules)).start())
        click.echo(f"dmq serve: alert rules from {settings.alert_rules}", err=True)
    if not settings.worker_enabled:
        click.echo("dmq serve: QUEUE_WORKER_ENABLED=false: HTTP only, tasks are processed by `dmq worker`",
                   err=True)
        return started
    from ..worker import Worker

    if app_ref is None:
        from ..tasks import builtin_mux

        handlers: Any = builtin_mux(settings)
    else:
        from .worker_cmd import load_app

        handlers = load_app(app_ref)
    worker = Worker(connect(uri), handlers, concurrency=settings.concurrency, queues=dict(settings.queues),
                    strict_priority=settings.strict_priority)
    started.append(worker.start())
    click.echo(f"dmq serve: worker {worker.id[:8]} on {dict(settings.queues)}, concurrency "
               f"{settings.concurrency}", err=True)
    if settings.schedule_file is not None:
        from ..scheduler import PeriodicTaskManager

        manager = PeriodicTaskManager(connect(uri), provider=settings.schedule_file)
        started.append(manager.start())
        click.echo(f"dmq serve: scheduler for {settings.schedule_file}", err=True)
    return started
