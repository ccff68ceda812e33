"""Self-contained HTML for notebook reprs: theme-aware through Jupyter's CSS variables."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ._payload_text import decode_payload

__all__ = ["render_record", "render_records", "format_value"]

_STYLE = (
    "<style>.dmq-table{border-collapse:collapse;font-size:12px;"
    "color:var(--jp-ui-font-color1,inherit)}"
    ".dmq-table th,.dmq-table td{border:1px solid var(--jp-border-color1,#9D9D9D);"
    "padding:2px 6px;text-align:left;vertical-align:top}"
    ".dmq-table th{background:var(--jp-layout-color2,rgba(127,127,127,.15))}</style>"
)


def format_value(value: Any, limit: int = 120) -> str:
    """A short, human-readable text for one field."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, timedelta):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    if isinstance(value, (bytes, bytearray)):
        decoded = decode_payload(bytes(value))
        if isinstance(decoded, (bytes, bytearray)):
            text = f"<{len(value)} non-printable bytes>"
        else:
            import json

            text = decoded if isinstance(decoded, str) else json.dumps(decoded, ensure_ascii=False)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(value: Any) -> str:
    return html.escape(format_value(value))


def render_record(obj: Any) -> str:
    """One dataclass as a two-column field/value table."""
    rows = "".join(
        f"<tr><th>{html.escape(f.name)}</th><td>{_cell(getattr(obj, f.name))}</td></tr>"
        for f in dataclasses.fields(obj)
    )
    title = html.escape(type(obj).__name__)
    return f"{_STYLE}<table class='dmq-table'><caption>{title}</caption>{rows}</table>"


def render_records(items: Iterable[Any], columns: Sequence[str] | None = None,
                   title: str | None = None, max_rows: int = 200) -> str:
    """Many dataclasses as one table, a row each (at most `max_rows`, then a "more" line)."""
    items = list(items)
    caption = f"<caption>{html.escape(title)} ({len(items)})</caption>" if title else ""
    if not items:
        return f"{_STYLE}<table class='dmq-table'>{caption}</table><em>(empty)</em>"
    names = list(columns or [f.name for f in dataclasses.fields(items[0])])
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(getattr(it, n, None))}</td>" for n in names) + "</tr>"
        for it in items[:max_rows]
    )
    more = ""
    if len(items) > max_rows:
        more = f"<tr><td colspan='{len(names)}'>… {len(items) - max_rows} more rows</td></tr>"
    return (f"{_STYLE}<table class='dmq-table'>{caption}<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}{more}</tbody></table>")
