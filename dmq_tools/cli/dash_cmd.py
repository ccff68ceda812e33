"""`dmq dash`: the live terminal dashboard (needs the `tui` extra: Textual)."""

from __future__ import annotations

import click

from ._output import handle_errors, open_inspector, uri_option

__all__ = ["register"]


@click.command("dash")
@uri_option
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between refreshes.")
@click.option("--page-size", type=int, default=50, show_default=True, help="Tasks per page.")
@handle_errors
def dash_command(uri: str | None, interval: float, page_size: int) -> None:
    """Watch queues, tasks, servers, scheduler entries and alerts; run/archive/delete/pause by key."""
    try:
        from ..tui import DashApp
    except ImportError:
        raise click.ClickException("Textual is missing: pip install 'dmq_tools[tui]'") from None
    if interval <= 0 or page_size < 1:
        raise click.BadParameter("--interval must be > 0 and --page-size >= 1")
    DashApp(open_inspector(uri), interval=interval, page_size=page_size).run()


def register(main: click.Group) -> None:
    main.add_command(dash_command)
