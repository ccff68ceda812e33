"""`dmq doctor`, `dmq alerts` and `dmq metrics`: operating a deployment from the shell."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from ._output import console, handle_errors, open_inspector, print_json, uri_option

__all__ = ["register"]

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


@click.command("doctor")
@uri_option
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.option("--app", "app", default=None, help="Handlers (module:mux) to check queued task types against.")
@click.option("--strict", is_flag=True, help="Exit non-zero on warnings too.")
@handle_errors
def doctor_command(uri: str | None, as_json: bool, app: str | None, strict: bool) -> None:
    """Check Redis, workers, handlers, failures, backlogs, leases and clocks; explain each fix.

    Exit status 1 when a check fails (2 for usage errors); with --strict, warnings count too."""
    from ..config import load_settings
    from ..doctor import run_doctor
    from .worker_cmd import load_app

    handlers = load_app(app) if app else None
    try:
        settings = load_settings()
    except Exception:  # noqa: BLE001 - a broken .env is reported by `dmq config`; the doctor still runs
        settings = None
    try:
        insp = open_inspector(uri)
    except Exception as exc:  # noqa: BLE001
        from ..doctor import FAIL, Check, DoctorReport

        report = DoctorReport((Check("redis", FAIL, f"Redis unreachable: {exc}",
                                     "check REDIS_URL / REDIS_PASSWORD and that redis-server runs"),))
    else:
        report = run_doctor(insp, settings, handlers)
    if as_json:
        print_json({"verdict": report.worst, "checks": report.checks})
    else:
        out = console()
        for c in report.checks:
            out.print(f"[{_STYLE[c.verdict]}]{c.verdict.upper():4}[/] [bold]{c.name}[/]: {c.summary}",
                      highlight=False, markup=True)
            for d in c.details:
                out.print(f"       {d}", highlight=False, markup=False)
            if c.fix:
                out.print(f"       fix: {c.fix}", highlight=False, markup=False, style="cyan")
    sys.exit(1 if report.needs_action(strict) else 0)


@click.command("alerts")
@uri_option
@click.option("--rules", "rules_path", required=True, type=click.Path(dir_okay=False),
              help="YAML rule file (see docs/operations.md).")
@click.option("--once", is_flag=True, help="Evaluate once and exit (cron, tests).")
@click.option("--interval", type=float, default=None, help="Seconds between evaluations [default: the file's].")
@handle_errors
def alerts_command(uri: str | None, rules_path: str, once: bool, interval: float | None) -> None:
    """Evaluate alert rules in a loop and notify (log, webhook, email); Ctrl-C stops.

    Several `dmq alerts` on one Redis send each notice once."""
    from ..alerts import AlertEvaluator, load_rules

    rules = load_rules(rules_path)
    ev = AlertEvaluator(open_inspector(uri), rules, interval=interval)
    if once:
        for n in ev.run_once():
            click.echo(n.text)
        return
    click.echo(f"dmq alerts: {len(rules.rules)} rule(s) every {ev.interval:g}s (Ctrl-C to stop)")
    ev.run()


@click.command("metrics")
@uri_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=9090, show_default=True)
@handle_errors
def metrics_command(uri: str | None, host: str, port: int) -> None:
    """Serve Prometheus metrics with asynq's names at http://HOST:PORT/metrics."""
    try:
        from ..metrics import serve_metrics
    except ImportError:
        raise click.ClickException("prometheus-client is missing: pip install 'dmq_tools[metrics]'") from None
    server: Any
    server, _ = serve_metrics(open_inspector(uri), host, port)
    click.echo(f"dmq metrics: http://{host}:{port}/metrics (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


def register(main: click.Group) -> None:
    for cmd in (doctor_command, alerts_command, metrics_command):
        main.add_command(cmd)
