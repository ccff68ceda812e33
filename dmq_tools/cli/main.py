"""`dmq` entry point. Each command family lives in its own module with a `register(group)`."""

from __future__ import annotations

import logging

import click

from . import (
    api_cmd,
    config_cmd,
    dash_cmd,
    dashboard_cmd,
    demo_cmd,
    inspect_cmds,
    ops_cmds,
    redis_cmd,
    scheduler_cmd,
    worker_cmd,
)

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Logging level of the dmq_tools loggers.")
@click.version_option(package_name="dmq_tools")
def main(log_level: str) -> None:
    """dmq: an asynq-compatible task queue on Redis."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


for _module in (redis_cmd, worker_cmd, scheduler_cmd, inspect_cmds, demo_cmd, api_cmd, config_cmd,
                dashboard_cmd, dash_cmd, ops_cmds):
    _module.register(main)


if __name__ == "__main__":  # pragma: no cover
    main()
