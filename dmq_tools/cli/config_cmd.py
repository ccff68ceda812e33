"""`dmq config`: the effective settings (environment over ./.env), secrets masked."""

from __future__ import annotations

import click

from ._output import handle_errors, json_option, print_json, print_table

__all__ = ["register"]


def register(main: click.Group) -> None:
    @main.command("config")
    @json_option
    @handle_errors
    def config(as_json: bool) -> None:
        """Print the effective settings; passwords and the API token show as ***.

        A bad value fails here with the variable's name, as it would at start-up."""
        from ..config import load_settings

        shown = load_settings().masked()
        if as_json:
            print_json(shown)
            return
        print_table(["setting", "value"], [[k, v] for k, v in shown.items()], title="dmq settings")
