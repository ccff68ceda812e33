"""Overview: the Dashboard's first tab. Cards, queue sizes, the last 30 minutes, the queue table.

One refresh reads each queue's info once, the servers once and the minute counters once; the
cards, both charts and the table are drawn from that, so the tab costs about what the queue table
alone used to.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import ipywidgets as W

from . import _svg, _view
from ._base import InspectorLike, Panel, set_if_changed
from .queues import QueueTable, sparks_for

__all__ = ["Overview"]

SPARK_WINDOW = timedelta(minutes=30)


class Overview(Panel):
    """Summary cards, a stacked queue-size chart, throughput of the last 30 min, clickable queues."""

    css = "dmq-overview"
    title = "Overview"

    def __init__(self, inspector: InspectorLike | None = None, **kwargs: Any) -> None:
        self.summary: _view.Summary | None = None
        super().__init__(inspector, **kwargs)

    def _build(self) -> W.Widget:
        self.alerts = W.HTML()
        self.alerts.add_class("dmq-alerts-box")
        self.cards = W.HTML()
        self.cards.add_class("dmq-cards-box")
        self.sizes = W.HTML(layout=W.Layout(width="auto", min_width="320px", overflow="hidden",
                                            margin="0 48px 0 0"))
        self.sizes.add_class("dmq-sizes")
        self.recent = W.HTML(layout=W.Layout(width="auto", min_width="320px", overflow="hidden"))
        self.recent.add_class("dmq-recent")
        self.queues = QueueTable(self.inspector, toolbar=False, lazy=True, read_only=self.read_only)
        charts = W.HBox([self.sizes, self.recent],
                        layout=W.Layout(flex_flow="row wrap"))
        return W.VBox([self.alerts, self.cards, charts, W.HTML("<div class='dmq-h'>Queues</div>" + _view.DASH_STYLE),
                       self.queues.widget], layout=W.Layout(width="100%"))

    def _refresh(self) -> str:
        infos = self.queues.load()
        servers = self.inspector.servers()
        now = datetime.now(timezone.utc)
        points = self._points(now)
        self.summary = _view.summarize(infos, len(servers))
        set_if_changed(self.cards, _view.cards_html(self.summary))
        alerts = getattr(self.inspector, "active_alerts", None)
        set_if_changed(self.alerts, _view.alerts_html(alerts() if alerts else []))
        set_if_changed(self.sizes, self._sizes_html(infos))
        set_if_changed(self.recent, self._recent_html(points, now))
        self.queues.show(infos, sparks_for(points))
        self.queues.refresh_count += 1
        paused = self.summary.paused
        return f"{len(infos)} queues" + (f", {paused} paused" if paused else "")

    def _points(self, now: datetime) -> list[Any]:
        fn = getattr(self.inspector, "throughput", None)
        if fn is None:
            return []
        return list(fn(None, since=now - SPARK_WINDOW, until=now))

    @staticmethod
    def _sizes_html(infos: list[Any]) -> str:
        rows = sorted(((i.queue, {s: getattr(i, s) for s in _svg.STATE_COLORS}) for i in infos),
                      key=lambda r: -sum(r[1].values()))[:12]
        rows = [r for r in rows if sum(r[1].values())]
        present = [s for s in _svg.STATE_COLORS if any(c[s] for _, c in rows)]
        more = f"<div class='dmq-muted'>… and {len(infos) - 12} more queues</div>" if len(infos) > 12 else ""
        body = (_svg.legend(_svg.STATE_COLORS, present) + _svg.stacked_bars(rows, width=440)
                if rows else "<p class='dmq-muted'>Every queue is empty.</p>")
        return _view.DASH_STYLE + "<div class='dmq-h'>Queue size by state</div>" + body + more

    @staticmethod
    def _recent_html(points: list[Any], now: datetime) -> str:
        buckets: dict[datetime, list[int]] = {}
        for p in points:
            b = buckets.setdefault(p.time, [0, 0])
            b[0] += max(int(p.processed) - int(p.failed), 0)
            b[1] += int(p.failed)
        times = sorted(buckets)
        head = "<div class='dmq-h'>Processed per minute, last 30 min</div>"
        if not times or not any(sum(v) for v in buckets.values()):
            return (_view.DASH_STYLE + head
                    + "<p class='dmq-muted dmq-empty'>Nothing processed in the last 30 minutes.</p>")
        labels = [t.strftime("%H:%M") for t in times]
        legend = _svg.legend({"succeeded": _svg.PROCESSED, "failed": _svg.FAILED}, ["succeeded", "failed"])
        svg = _svg.bar_series(labels, [buckets[t][0] for t in times], [buckets[t][1] for t in times],
                              width=440, height=140)
        return _view.DASH_STYLE + head + legend + svg
