"""Shared CLI helpers: the connection option, error handling, JSON and rich-table output.

`--uri` on every command (else REDIS_URL, else the embedded server, as `dmq_tools.connect`).
A DmqError becomes a one-line message and exit code 1; bad arguments are click usage errors
(exit code 2).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click

from ..errors import ConfigurationError, DmqError
from ..models import to_jsonable
from ..clock import utc as _UTC

__all__ = [
    "uri_option", "json_option", "handle_errors", "open_redis", "open_inspector", "to_jsonable",
    "print_json", "print_table", "print_records", "console", "Duration", "UtcDateTime",
    "fmt_value", "DURATION", "DATETIME",
]

F = TypeVar("F", bound=Callable[..., Any])


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    c = Console(stderr=stderr, soft_wrap=False)
    if not c.is_terminal:
        c.width = max(c.width, 200)  # pipes and files: do not wrap IDs at 80 columns
    return c


# ---- options ----
def uri_option(f: F) -> F:
    """Add `--uri` (Redis URL or host:port); without it REDIS_URL, else the embedded server."""
    return click.option(
        "--uri", "-u", default=None, metavar="URL",
        help="Redis URL (redis://, rediss://, unix://, host:port). Default: REDIS_URL, else embedded.",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def handle_errors(f: F) -> F:
    """ConfigurationError (a bad argument) -> usage error, exit code 2; any other DmqError ->
    `Error: <message>`, exit code 1."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except ConfigurationError as exc:
            raise click.UsageError(str(exc)) from None
        except DmqError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def open_redis(uri: str | None) -> Any:
    from .. import connect

    return connect(uri)


def open_inspector(uri: str | None) -> Any:
    from ..inspector import Inspector

    return Inspector(open_redis(uri))


# ---- parameter types ----
_DUR = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s|d)")


class Duration(click.ParamType):
    """`90`, `90s`, `5m`, `1h30m`, `2d`, `500ms` -> timedelta."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        text = str(value).strip().lower()
        try:
            return timedelta(seconds=float(text))
        except ValueError:
            pass
        pos, total = 0, 0.0
        unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
        for m in _DUR.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * unit[m.group(2)]
            pos = m.end()
        if pos != len(text) or not text:
            self.fail(f"{value!r} is not a duration (examples: 30s, 5m, 1h30m, 2d, 90)", param, ctx)
        return timedelta(seconds=total)


class UtcDateTime(click.ParamType):
    """ISO 8601 time; naive times are taken as UTC."""

    name = "datetime"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            when = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time (example: 2026-05-01T12:00:00Z)", param, ctx)
        return when if when.tzinfo else when.replace(tzinfo=_UTC)


DURATION = Duration()
DATETIME = UtcDateTime()


# ---- output ----
def print_json(value: Any) -> None:
    click.echo(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def fmt_value(value: Any, limit: int = 60) -> str:
    from .._html import format_value

    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, timedelta):
        secs = value.total_seconds()
        return f"{secs * 1000:.0f}ms" if secs < 1 else str(timedelta(seconds=int(secs)))
    return format_value(value, limit)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for i, c in enumerate(columns):
        table.add_column(c, overflow="fold", no_wrap=(i == 0))
    n = 0
    for row in rows:
        table.add_row(*(fmt_value(v) for v in row))
        n += 1
    out = console()
    if n == 0:
        out.print(f"{title + ': ' if title else ''}(none)")
        return
    out.print(table)


def print_records(items: Sequence[Any], columns: Sequence[str], title: str | None = None) -> None:
    print_table(columns, ([getattr(it, c) for c in columns] for it in items), title)


def progress_bar(total: int | None, label: str) -> Any:
    """A rich progress bar on stderr (silent when stderr is not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = console(stderr=True)
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, disable=not err.is_terminal or not sys.stderr.isatty(), transient=True)
