"""`dmq dashboard`: the notebook Dashboard as a web page, for people outside Jupyter.

What asynqmon is for asynq users. Voilà serves a one-cell notebook (written to a temporary
folder) that displays the Dashboard; each browser tab gets its own kernel. The HTTP API's token
rules apply: with `DMQ_API_TOKEN` set, the page asks for it (`?token=...`) and actions work;
without one the dashboard is read-only unless `--allow-actions` says otherwise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from ..config import load_settings

__all__ = ["register", "dashboard_notebook"]

_CELL = """\
from dmq_tools.widgets import Dashboard

Dashboard(read_only={read_only}, auto_refresh={auto}, interval={interval})
"""


def dashboard_notebook(read_only: bool, interval: float, auto_refresh: bool = True) -> dict:
    """The notebook Voilà runs, as nbformat v4 JSON."""
    source = _CELL.format(read_only=read_only, auto=auto_refresh, interval=float(interval))
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": "dashboard", "metadata": {},
                       "outputs": [], "source": source}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@click.command("dashboard")
@click.option("--host", default=None, help="Address to listen on (default DMQ_API_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default DMQ_API_PORT, 8080).")
@click.option("--allow-actions", is_flag=True,
              help="Without DMQ_API_TOKEN, still allow pause/run/archive/delete: anyone who can reach "
                   "the port can act.")
@click.option("--theme", type=click.Choice(["light", "dark"]), default="light", show_default=True)
@click.option("--interval", type=float, default=5.0, show_default=True, help="Auto-refresh period (s).")
def dashboard(host: str | None, port: int | None, allow_actions: bool, theme: str, interval: float) -> None:
    """Serve the Dashboard as a web page (Voilà)."""
    try:
        import voila  # noqa: F401
    except ImportError:
        raise click.ClickException("Voilà is not installed: pip install 'dmq_tools[browser]'") from None
    settings = load_settings()
    host = host or settings.api_host
    port = settings.api_port if port is None else port
    token = settings.api_token
    read_only = not token and not allow_actions
    folder = Path(tempfile.mkdtemp(prefix="dmq-dashboard-"))
    try:
        import json

        nb = folder / "dashboard.ipynb"
        nb.write_text(json.dumps(dashboard_notebook(read_only, interval)), encoding="utf-8")
        os.environ.pop("DMQ_API_TOKEN", None)  # the kernels (children of this process) do not need it
        if token:  # Voilà reads ./voila.json: the token stays off the command line (ps)
            conf = folder / "voila.json"
            conf.touch(mode=0o600)
            conf.write_text(json.dumps({"Voila": {"token": token}}), encoding="utf-8")
        argv = [str(nb), "--no-browser", f"--port={port}", f"--Voila.ip={host}", "--Voila.port_retries=0",
                f"--theme={theme}", "--VoilaConfiguration.show_tracebacks=False"]
        mode = ("actions need the token: open /?token=$DMQ_API_TOKEN" if token else
                "actions allowed WITHOUT a token (--allow-actions)" if allow_actions else
                "read-only (set DMQ_API_TOKEN, or pass --allow-actions, to allow actions)")
        click.echo(f"dmq dashboard on http://{host}:{port}/ · {mode}", err=True)
        from voila.app import Voila  # in this process: SIGTERM/SIGINT stop Voilà and its kernels

        os.chdir(folder)
        Voila.launch_instance(argv=argv)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def register(group: click.Group) -> None:
    group.add_command(dashboard)
