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
    "STATES", "queue_table", "task_rows", "task_detail_html", "cards_html", "summarize", "Summary",
    "status_html", "error_html", "records_table_html", "fmt_dt", "fmt_td", "short_id",
    "TaskBrowserState", "count_for_state", "parse_weights", "format_weights", "payload_text",
    "state_for_column", "row_actions", "matches", "local_rows", "server_health", "owner_text",
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
    ".dmq-grid.dmq-task-detail td{white-space:normal;word-break:break-all}"
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


# -- the clickable tables and the Overview (ClickTable rows: {"id", "cells", "cls", "actions"}) ----

COUNT_COLUMNS: tuple[str, ...] = ("pending", "active", "scheduled", "retry", "archived", "completed",
                                  "aggregating", "processed", "failed")
_COUNT_TITLES = {"processed": "processed today", "failed": "failed today: click for retry/archived"}
_COUNT_LABELS = {"scheduled": "sched.", "aggregating": "aggr.", "completed": "done"}


def fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} GB"  # pragma: no cover


def fmt_count(n: int) -> str:
    return f"{n:,}"


def queue_table(infos: Sequence[QueueInfo], sparks: dict[str, str] | None = None
                ) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Columns and rows of the Overview's queue table; count columns that are zero for every
    queue are left out (so it fits about 1,000 px)."""
    sparks = sparks or {}
    shown = [c for c in COUNT_COLUMNS if any(getattr(i, c) for i in infos)]
    cols: list[dict[str, str]] = [{"key": "queue", "label": "queue", "align": "left"},
                                  {"key": "size", "label": "size"}]
    cols += [{"key": c, "label": _COUNT_LABELS.get(c, c),
              "title": _COUNT_TITLES.get(c, f"{c} tasks: click to list them")} for c in shown]
    cols += [{"key": "rate", "label": "fail %", "title": "failed / processed today"},
             {"key": "latency", "label": "latency", "title": "age of the oldest pending task"},
             {"key": "memory", "label": "memory", "title": "sampled memory usage (asynq's estimate)"},
             {"key": "trend", "label": "last 30 min", "align": "left",
              "title": "processed (blue) and failed (red) per minute"}]
    rows = []
    for i in infos:
        rate = i.failed / i.processed if i.processed else None
        cells = {
            "queue": f"<b>{html.escape(i.queue)}</b>"
                     + (" <span class='dmq-badge dmq-warn'>paused</span>" if i.paused else ""),
            "size": fmt_count(i.size),
            "rate": "" if rate is None else f"<span class='{'dmq-bad' if rate > 0.1 else ''}'>{rate:.1%}</span>",
            "latency": html.escape(fmt_td(i.latency)) if i.pending else "",
            "memory": fmt_bytes(i.memory_usage),
            "trend": sparks.get(i.queue, ""),
        }
        for c in shown:
            v = int(getattr(i, c))
            cls = "dmq-bad" if c in ("failed", "archived", "retry") and v else ("dmq-zero" if not v else "")
            cells[c] = f"<span class='{cls}'>{fmt_count(v)}</span>"
        rows.append({"id": i.queue, "cells": cells, "cls": "dmq-paused" if i.paused else "",
                     "actions": ["resume" if i.paused else "pause"]})
    return cols, rows


def state_for_column(info: QueueInfo | None, column: str) -> str:
    """Which task state a click on a queue-table cell opens (the queue name: the first non-empty)."""
    if column in STATES:
        return column
    if column == "failed":
        return "retry" if info is not None and info.retry else "archived"
    if info is not None:
        for s in ("active", "pending", "retry", "archived", "scheduled", "completed", "aggregating"):
            if getattr(info, s):
                return s
    return "pending"


@dataclass(frozen=True, slots=True)
class Summary:
    """The Overview's cards."""

    queues: int
    paused: int
    pending: int
    active: int
    processed_today: int
    failed_today: int
    workers_alive: int
    oldest_pending: timedelta | None

    @property
    def failure_rate(self) -> float | None:
        return self.failed_today / self.processed_today if self.processed_today else None


def summarize(infos: Sequence[QueueInfo], workers_alive: int) -> Summary:
    lat = [i.latency for i in infos if i.pending and i.latency is not None]
    return Summary(len(infos), sum(i.paused for i in infos), sum(i.pending for i in infos),
                   sum(i.active for i in infos), sum(i.processed for i in infos),
                   sum(i.failed for i in infos), workers_alive, max(lat) if lat else None)


def cards_html(s: Summary) -> str:
    rate = s.failure_rate
    cards = [
        ("queues", fmt_count(s.queues), f"{s.paused} paused" if s.paused else "all running", ""),
        ("pending", fmt_count(s.pending), "waiting for a worker", ""),
        ("active", fmt_count(s.active), "running now", ""),
        ("failed today", fmt_count(s.failed_today), f"of {fmt_count(s.processed_today)} processed",
         "dmq-bad" if s.failed_today else ""),
        ("failure rate", "–" if rate is None else f"{rate:.1%}", "today, all queues",
         "dmq-bad" if rate and rate > 0.1 else ""),
        ("workers alive", fmt_count(s.workers_alive), "servers with a heartbeat",
         "" if s.workers_alive else "dmq-warn"),
        ("oldest pending", fmt_td(s.oldest_pending) or "–", "queue latency",
         "dmq-warn" if s.oldest_pending and s.oldest_pending.total_seconds() > 60 else ""),
    ]
    body = "".join(
        f"<div class='dmq-card' data-card='{html.escape(k)}'><div class='dmq-card-k'>{html.escape(k)}</div>"
        f"<div class='dmq-card-v {cls}'>{html.escape(v)}</div><div class='dmq-card-s'>{html.escape(sub)}</div></div>"
        for k, v, sub, cls in cards)
    return DASH_STYLE + f"<div class='dmq-cards'>{body}</div>"


def alerts_html(alerts: list[Any]) -> str:
    """A banner of the alerts firing now (nothing when none fires)."""
    if not alerts:
        return ""
    rows = "".join(
        f"<li data-alert='{html.escape(a.alert)}'><b>{html.escape(a.alert)}</b> "
        f"{html.escape(a.message[:300])}"
        + (f" <span class='dmq-muted'>since {a.fired_at:%H:%M:%S} UTC</span>" if a.fired_at else "")
        + "</li>" for a in alerts[:20])
    more = f"<li class='dmq-muted'>… and {len(alerts) - 20} more</li>" if len(alerts) > 20 else ""
    return (DASH_STYLE + f"<div class='dmq-alerts'><div class='dmq-card-k'>{len(alerts)} alert"
            f"{'s' if len(alerts) != 1 else ''} firing</div><ul>{rows}{more}</ul></div>")


DASH_STYLE = (
    "<style>"
    ".dmq-alerts{border:1px solid var(--jp-error-color1,#d32f2f);border-left-width:4px;border-radius:6px;"
    "padding:6px 10px;margin:4px 0 8px;color:var(--jp-ui-font-color1,#222)}"
    ".dmq-alerts ul{margin:2px 0 0;padding-left:18px}"
    ".dmq-cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(112px,1fr));gap:8px;margin:4px 0 10px;"
    "box-sizing:border-box;width:100%}"
    ".dmq-card{border:1px solid var(--jp-border-color2,#e0e0e0);border-radius:6px;padding:6px 10px;box-sizing:border-box;min-width:0;"
    "background:var(--jp-layout-color1,#fff);line-height:1.25}"
    ".dmq-card-k{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--jp-ui-font-color2,#777)}"
    ".dmq-card-v{font-size:22px;font-weight:600;color:var(--jp-ui-font-color0,#111)}"
    ".dmq-card-s{font-size:11px;color:var(--jp-ui-font-color2,#777)}"
    ".dmq-card-v.dmq-bad{color:var(--jp-error-color1,#d32f2f)}.dmq-card-v.dmq-warn{color:var(--jp-warn-color1,#b26b00)}"
    ".dmq-legend{font-size:11px;color:var(--jp-ui-font-color2,#777);margin:2px 0 4px}"
    ".dmq-legend-item{margin-right:10px;white-space:nowrap}"
    ".dmq-swatch{display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:4px;vertical-align:-1px}"
    ".dmq-svg-label,.dmq-svg-num,.dmq-svg-title{font:11px var(--jp-ui-font-family,sans-serif);"
    "fill:var(--jp-ui-font-color1,#333)}.dmq-svg-num{fill:var(--jp-ui-font-color2,#777)}"
    ".dmq-svg-title{font-weight:600}"
    ".dmq-h{font-weight:600;font-size:13px;margin:4px 0 2px;color:var(--jp-ui-font-color1,#333)}"
    ".dmq-muted{color:var(--jp-ui-font-color2,#777)}"
    "</style>"
)


def task_rows(tasks: Sequence[TaskInfo], state: str, now: datetime | None = None
              ) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Columns and rows of the task list (ClickTable), per-row actions allowed in `state`."""
    now = now or datetime.now(timezone.utc)
    when = _TIME_HEAD.get(state, "")
    cols = [{"key": "id", "label": "id", "align": "left"}, {"key": "type", "label": "type", "align": "left"},
            {"key": "payload", "label": "payload", "align": "left"},
            {"key": "retried", "label": "retried"}]
    if when:
        cols.append({"key": "when", "label": when, "align": "left"})
    if state in ("retry", "archived"):
        cols.append({"key": "error", "label": "last error", "align": "left"})
    acts = row_actions(state)
    rows = []
    for t in tasks:
        cells = {"id": f"<code title='{html.escape(t.id, quote=True)}'>{html.escape(short_id(t.id))}</code>",
                 "type": html.escape(t.type),
                 "payload": f"<code>{html.escape(payload_text(t.payload, limit=120))}</code>",
                 "retried": f"{t.retried}/{t.max_retry}",
                 "when": html.escape(_task_time(t, now)),
                 "error": f"<span class='dmq-bad'>{html.escape(t.last_err[:60])}</span>"}
        rows.append({"id": t.id, "cells": cells, "cls": "", "actions": acts})
    return cols, rows


def row_actions(state: str) -> list[str]:
    out = []
    if state in ("scheduled", "retry", "archived", "aggregating"):
        out.append("run")
    if state in ("pending", "scheduled", "retry", "aggregating"):
        out.append("archive")
    if state != "active":
        out.append("delete")
    else:
        out.append("cancel")
    return out


def matches(t: TaskInfo, text: str) -> bool:
    """Search by ID, type or payload text (case-insensitive substring)."""
    needle = text.strip().lower()
    if not needle:
        return True
    return (needle in t.id.lower() or needle in t.type.lower()
            or needle in payload_text(t.payload, limit=100000).lower())


def local_rows(objects: Sequence[Any]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Workers and schedulers of this kernel (`dmq.running()`), each with a Stop button."""
    cols = [{"key": "kind", "label": "kind", "align": "left"}, {"key": "id", "label": "id", "align": "left"},
            {"key": "what", "label": "queues / entries", "align": "left"},
            {"key": "state", "label": "state", "align": "left"}]
    rows = []
    for obj in objects:
        cfg = getattr(obj, "config", None)
        if cfg is not None:  # a Worker
            kind = "worker"
            what = f"{format_weights(dict(cfg.queues))} · concurrency {cfg.concurrency}"
            alive = bool(getattr(obj, "is_running", False))
        else:
            kind = "scheduler"
            n = len(obj.entries()) if hasattr(obj, "entries") else 0
            what = f"{n} entries"
            alive = bool(getattr(obj, "running", False))
        state = "<span class='dmq-ok'>running</span>" if alive else "<span class='dmq-muted'>stopped</span>"
        rows.append({"id": obj.id, "cells": {"kind": kind, "id": f"<code>{html.escape(short_id(obj.id, 12))}</code>",
                                              "what": html.escape(what), "state": state},
                     "cls": "", "actions": ["stop"] if alive else []})
    return cols, rows


def server_health(s: Any) -> str:
    """The status, or "dead" when the server runs on this machine and its process is gone (a
    killed kernel's heartbeat stays in Redis until it expires)."""
    import os
    import socket

    if s.host == socket.gethostname() and s.pid > 0:
        try:
            os.kill(s.pid, 0)
        except ProcessLookupError:
            return "dead (process gone)"
        except PermissionError:
            pass
        if s.pid == os.getpid():
            return f"{s.status} (this kernel)"
    return s.status


def owner_text(scheduler_id: str) -> str:
    """"host:pid:uuid" -> "host:pid", marked when it is this kernel."""
    import os
    import socket

    parts = scheduler_id.split(":")
    if len(parts) < 3:
        return scheduler_id
    host, pid = parts[0], parts[1]
    mine = host == socket.gethostname() and pid == str(os.getpid())
    return f"{host}:{pid}" + (" (this kernel)" if mine else "")
