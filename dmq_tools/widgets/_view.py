"""Pure view-models and HTML for the widgets: no ipywidgets, no Redis, testable alone.

The HTML is self-contained and theme-aware: colours come from Jupyter's `--jp-*` CSS variables
with fallbacks, so the same markup reads well in JupyterLab light/dark and in Voilà.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..models import QueueInfo, TaskInfo, TaskState, decode_payload

__all__ = [
    "STATES", "QueueRow", "queue_rows", "queues_table_html", "tasks_table_html", "task_detail_html",
    "status_html", "error_html", "records_table_html", "fmt_dt", "fmt_td", "short_id",
    "TaskBrowserState", "count_for_state", "parse_weights", "format_weights", "payload_text", "totals",
]

STATES: tuple[str, ...] = tuple(s.value for s in TaskState)
_MUTED = "var(--jp-ui-font-color2,#9D9D9D)"
STYLE = (
    "<style>"
    ".dmq-grid{border-collapse:collapse;font-size:var(--jp-ui-font-size1,12px);"
    "color:var(--jp-ui-font-color1,inherit);width:auto;line-height:1.4;"
    "margin:2px 0 6px 0 !important}"
    ".dmq-grid th,.dmq-grid td{border:1px solid var(--jp-border-color2,rgba(127,127,127,.35));"
    "padding:2px 8px;text-align:right;white-space:nowrap}"
    ".dmq-grid th{background:var(--jp-layout-color2,rgba(127,127,127,.12))}"
    ".dmq-grid td.dmq-l,.dmq-grid th.dmq-l{text-align:left}"
    ".dmq-grid tr.dmq-paused td{color:var(--jp-warn-color1,#b26b00)}"
    ".dmq-bad{color:var(--jp-error-color1,#d32f2f)}"
    ".dmq-ok{color:var(--jp-success-color1,#388e3c)}"
    ".dmq-muted{color:" + _MUTED + "}"
    # beat `.jp-RenderedHTMLCommon pre` and the widget's 28px inherited line-height
    "pre.dmq-pre,.jp-RenderedHTMLCommon pre.dmq-pre{white-space:pre-wrap;max-height:18em;overflow:auto;"
    "margin:0 0 6px 0;line-height:1.35;font-size:var(--jp-code-font-size,12px);"
    "background:var(--jp-layout-color2,rgba(127,127,127,.08));padding:4px 6px}"
    ".jp-RenderedHTMLCommon pre.dmq-pre.dmq-bad{color:var(--jp-error-color1,#d32f2f)}"
    "</style>"
)


def fmt_dt(value: datetime | None, now: datetime | None = None) -> str:
    """A UTC time with a relative hint ("in 4s", "3m ago"); empty for None / Go zero time."""
    if value is None or value.year <= 1:
        return ""
    now = now or datetime.now(timezone.utc)
    delta = (value - now).total_seconds()
    rel = f"in {fmt_seconds(delta)}" if delta >= 0 else f"{fmt_seconds(-delta)} ago"
    return f"{value.strftime('%Y-%m-%d %H:%M:%S')} ({rel})"


def fmt_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 90:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def fmt_td(value: timedelta | None) -> str:
    return "" if value is None else fmt_seconds(max(value.total_seconds(), 0.0))


def short_id(task_id: str, n: int = 8) -> str:
    return task_id if len(task_id) <= n + 1 else task_id[:n] + "…"


def payload_text(payload: bytes | None, pretty: bool = False, limit: int = 80) -> str:
    """Decoded payload: JSON (pretty when asked), text, or a byte count."""
    value = decode_payload(payload)
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, indent=2 if pretty else None, ensure_ascii=False, sort_keys=pretty)
    if not pretty and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the queue table (what the Dashboard shows per queue)."""

    queue: str
    paused: bool
    size: int
    pending: int
    active: int
    scheduled: int
    retry: int
    archived: int
    completed: int
    aggregating: int
    processed: int
    failed: int
    failure_rate: float
    latency: str


def queue_rows(infos: Iterable[QueueInfo]) -> list[QueueRow]:
    rows = []
    for i in infos:
        rate = i.failed / i.processed if i.processed else 0.0
        rows.append(QueueRow(i.queue, i.paused, i.size, i.pending, i.active, i.scheduled, i.retry,
                             i.archived, i.completed, i.aggregating, i.processed, i.failed, rate,
                             fmt_td(i.latency)))
    return rows


def totals(rows: Sequence[QueueRow]) -> dict[str, int]:
    keys = ("size", "pending", "active", "scheduled", "retry", "archived", "completed",
            "aggregating", "processed", "failed")
    return {k: sum(getattr(r, k) for r in rows) for k in keys}


_QUEUE_COLS = ("queue", "state", "size", "pending", "active", "scheduled", "retry", "archived",
               "completed", "aggregating", "processed today", "failed today", "failure rate",
               "latency")


def queues_table_html(rows: Sequence[QueueRow]) -> str:
    """The Dashboard's queue table; `data-queue` attributes let tests find rows."""
    if not rows:
        return STYLE + "<p class='dmq-muted dmq-empty'>No queues yet: enqueue a task to create one.</p>"
    head = "".join(f"<th class='{'dmq-l' if c in ('queue', 'state') else ''}'>{c}</th>"
                   for c in _QUEUE_COLS)
    body = []
    for r in rows:
        state = "<span class='dmq-bad'>paused</span>" if r.paused else "<span class='dmq-ok'>running</span>"
        rate_cls = " class='dmq-bad'" if r.failure_rate > 0.1 else ""
        cells = [
            f"<td class='dmq-l dmq-qname'>{html.escape(r.queue)}</td>",
            f"<td class='dmq-l dmq-qstate'>{state}</td>",
            *(f"<td>{getattr(r, k)}</td>" for k in ("size", "pending", "active", "scheduled", "retry",
                                                    "archived", "completed", "aggregating",
                                                    "processed")),
            f"<td{' class=dmq-bad' if r.failed else ''}>{r.failed}</td>",
            f"<td{rate_cls}>{r.failure_rate:.1%}</td>",
            f"<td>{html.escape(r.latency)}</td>",
        ]
        cls = "dmq-paused" if r.paused else ""
        body.append(f"<tr class='{cls}' data-queue='{html.escape(r.queue, quote=True)}'>{''.join(cells)}</tr>")
    t = totals(rows)
    foot = ("<tr class='dmq-total'><th class='dmq-l'>total</th><th></th>"
            + "".join(f"<th>{t[k]}</th>" for k in ("size", "pending", "active", "scheduled", "retry",
                                                    "archived", "completed", "aggregating",
                                                    "processed", "failed"))
            + "<th></th><th></th></tr>")
    return (f"{STYLE}<table class='dmq-grid dmq-queue-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody><tfoot>{foot}</tfoot></table>")


def _task_time(t: TaskInfo, now: datetime) -> str:
    if t.state == TaskState.COMPLETED:
        return fmt_dt(t.completed_at, now)
    if t.state in (TaskState.SCHEDULED, TaskState.RETRY):
        return fmt_dt(t.next_process_at, now)
    if t.state == TaskState.ARCHIVED:
        return fmt_dt(t.last_failed_at, now)
    if t.state == TaskState.ACTIVE:
        return fmt_dt(t.deadline, now)
    return ""


_TIME_HEAD = {"completed": "completed", "scheduled": "process at", "retry": "retry at",
              "archived": "last failed", "active": "deadline", "pending": "", "aggregating": ""}


def tasks_table_html(tasks: Sequence[TaskInfo], state: str, now: datetime | None = None) -> str:
    if not tasks:
        return STYLE + f"<p class='dmq-muted dmq-empty'>No {html.escape(state)} tasks.</p>"
    now = now or datetime.now(timezone.utc)
    when = _TIME_HEAD.get(state, "")
    head = ("<tr><th class='dmq-l'>id</th><th class='dmq-l'>type</th><th class='dmq-l'>payload</th>"
            "<th>retried</th>" + (f"<th class='dmq-l'>{when}</th>" if when else "")
            + "<th class='dmq-l'>last error</th></tr>")
    rows = []
    for t in tasks:
        time_cell = f"<td class='dmq-l'>{html.escape(_task_time(t, now))}</td>" if when else ""
        rows.append(
            f"<tr data-task-id='{html.escape(t.id, quote=True)}'>"
            f"<td class='dmq-l' title='{html.escape(t.id, quote=True)}'><code>{html.escape(short_id(t.id))}</code></td>"
            f"<td class='dmq-l'>{html.escape(t.type)}</td>"
            f"<td class='dmq-l'><code>{html.escape(payload_text(t.payload))}</code></td>"
            f"<td>{t.retried}/{t.max_retry}</td>{time_cell}"
            f"<td class='dmq-l dmq-bad'>{html.escape(t.last_err[:80])}</td></tr>")
    return f"{STYLE}<table class='dmq-grid dmq-task-table'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def task_detail_html(t: TaskInfo | None, now: datetime | None = None) -> str:
    """Everything about one task; the payload and result as pretty JSON."""
    if t is None:
        return STYLE + "<p class='dmq-muted'>Select a task to see its details.</p>"
    now = now or datetime.now(timezone.utc)
    fields: list[tuple[str, str]] = [
        ("id", html.escape(t.id)), ("type", html.escape(t.type)), ("queue", html.escape(t.queue)),
        ("state", html.escape(t.state.value)), ("retries", f"{t.retried} of {t.max_retry}"),
        ("next run", html.escape(fmt_dt(t.next_process_at, now)
                                 if t.state in (TaskState.SCHEDULED, TaskState.RETRY) else "")),
        ("timeout", html.escape(fmt_td(t.timeout))), ("deadline", html.escape(fmt_dt(t.deadline, now))),
        ("group", html.escape(t.group)), ("last failed", html.escape(fmt_dt(t.last_failed_at, now))),
        ("completed", html.escape(fmt_dt(t.completed_at, now))),
        ("retention", html.escape(fmt_td(t.retention) if t.retention else "")),
        ("orphaned", "yes" if t.is_orphaned else ""),
    ]
    if t.headers:
        fields.append(("headers", html.escape(json.dumps(t.headers, sort_keys=True))))
    rows = "".join(f"<tr><th class='dmq-l'>{k}</th><td class='dmq-l'>{v}</td></tr>" for k, v in fields if v)
    parts = [STYLE, f"<table class='dmq-grid dmq-task-detail'>{rows}</table>",
             "<div><b>payload</b></div>",
             f"<pre class='dmq-pre dmq-payload'>{html.escape(payload_text(t.payload, pretty=True))}</pre>"]
    if t.last_err:
        parts.append(f"<div><b>error</b></div><pre class='dmq-pre dmq-bad dmq-error'>{html.escape(t.last_err)}</pre>")
    if t.result is not None:
        parts.append("<div><b>result</b></div>"
                     f"<pre class='dmq-pre dmq-result'>{html.escape(payload_text(t.result, pretty=True))}</pre>")
    return "".join(parts)


def records_table_html(columns: Sequence[str], rows: Iterable[Sequence[Any]], css: str, empty: str) -> str:
    """A generic table of already-formatted values (servers, workers, entries, history)."""
    rows = list(rows)
    if not rows:
        return f"{STYLE}<p class='dmq-muted dmq-empty'>{html.escape(empty)}</p>"
    head = "".join(f"<th class='dmq-l'>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td class='dmq-l'>{html.escape(str(v))}</td>" for v in r) + "</tr>"
                   for r in rows)
    return f"{STYLE}<table class='dmq-grid {css}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def status_html(message: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%H:%M:%S UTC")
    return (f"<span class='dmq-muted dmq-updated'>updated {stamp}</span>"
            + (f" <span class='dmq-muted'>· {html.escape(message)}</span>" if message else ""))


def error_html(exc: BaseException | str, doing: str = "") -> str:
    """An error as a one-line message in the widget (never a traceback)."""
    what = f"{doing} failed: " if doing else ""
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return f"<span class='dmq-bad dmq-error-msg'>⚠ {html.escape(what)}{html.escape(text[:300])}</span>"


@dataclass(slots=True)
class TaskBrowserState:
    """The TaskBrowser's UI state: which queue, which state, which page."""

    queue: str = ""
    state: str = "pending"
    page: int = 1
    page_size: int = 20
    count: int = 0
    selected: str = ""
    pending_action: str = ""

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))

    def clamp(self) -> None:
        self.page = min(max(1, self.page), self.pages)

    def next_page(self) -> None:
        self.page += 1
        self.clamp()

    def prev_page(self) -> None:
        self.page -= 1
        self.clamp()

    def label(self) -> str:
        return f"page {self.page} / {self.pages} · {self.count} {self.state}"


def count_for_state(info: QueueInfo, state: str) -> int:
    return int(getattr(info, state, 0))


def parse_weights(text: str) -> dict[str, int]:
    """"critical=6, default=3, low" -> {"critical": 6, "default": 3, "low": 1}."""
    out: dict[str, int] = {}
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, weight = part.partition("=")
        name = name.strip()
        if not name:
            raise ValueError(f"empty queue name in {text!r}")
        try:
            w = int(weight) if weight.strip() else 1
        except ValueError:
            raise ValueError(f"weight of {name!r} must be an integer, got {weight.strip()!r}") from None
        if w < 1:
            raise ValueError(f"weight of {name!r} must be >= 1")
        out[name] = w
    if not out:
        raise ValueError("give at least one queue, e.g. 'critical=6,default=3,low=1'")
    return out


def format_weights(weights: dict[str, int]) -> str:
    return ",".join(f"{q}={w}" for q, w in weights.items())
