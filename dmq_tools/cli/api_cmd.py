"""`dmq api`: serve the JSON HTTP API (dmq_tools.api) with uvicorn."""

from __future__ import annotations

import click

from ._output import handle_errors, open_inspector, uri_option

__all__ = ["register"]


def register(main: click.Group) -> None:
    @main.command("api")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
    @click.option("--read-only", is_flag=True, help="Refuse every action (pause, run, delete, ...).")
    @uri_option
    @handle_errors
    def api(host: str, port: int, read_only: bool, uri: str | None) -> None:
        """Serve the HTTP API over the Inspector (needs `pip install 'dmq_tools[api]'`)."""
        try:
            import uvicorn
        except ImportError:
            raise click.ClickException("the API needs uvicorn: pip install 'dmq_tools[api]'") from None
        from ..api import create_app

        uvicorn.run(create_app(open_inspector(uri), read_only=read_only), host=host, port=port,
                    log_level="warning")
