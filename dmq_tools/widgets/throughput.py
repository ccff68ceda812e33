"""ThroughputChart: throughput, failure rate, per-queue series and daily history, as SVG."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as W
from matplotlib.figure import Figure

from .. import charts
from ._base import InspectorLike, Panel, set_if_changed

if TYPE_CHECKING:
    from ..inspector import Inspector

__all__ = ["ThroughputChart"]

ALL = "(all queues)"
WINDOWS: dict[str, timedelta] = {
    "15 min": timedelta(minutes=15), "1 hour": timedelta(hours=1), "6 hours": timedelta(hours=6),
    "24 hours": timedelta(hours=24), "7 days": timedelta(days=7),
}
FREQS = ("1min", "5min", "15min", "1h")


class ThroughputChart(Panel):
    """matplotlib figures rendered to SVG (crisp at any zoom) in an HTML output, redrawn on refresh.

    The window is trimmed to the data (leading idle buckets dropped), idle buckets are gaps, the
    current bucket is a whole bar; "per queue" stacks the busiest queues; the daily history shows
    the last 14 days.
    """

    css = "dmq-throughput"
    title = "Charts"

    def __init__(self, inspector: InspectorLike | None = None, *, queue: str | None = None,
                 window: str = "1 hour", freq: str = "1min", **kwargs: Any) -> None:
        self._initial = (queue or ALL, window, freq)
        self.frame: Any = None
        super().__init__(inspector, **kwargs)

    def _build(self) -> W.Widget:
        queue, window, freq = self._initial
        self.queue_select = W.Dropdown(options=[ALL], value=ALL, description="queue",
                                       layout=W.Layout(width="220px"), style={"description_width": "initial"})
        self.queue_select.add_class("dmq-queue-select")
        self._wanted_queue = queue
        self.window_select = W.Dropdown(options=list(WINDOWS), value=window, description="window",
                                        layout=W.Layout(width="170px"), style={"description_width": "initial"})
        self.freq_select = W.Dropdown(options=list(FREQS), value=freq, description="bucket",
                                      layout=W.Layout(width="150px"), style={"description_width": "initial"})
        self.view_select = W.ToggleButtons(options=["total", "per queue", "daily"], value="total",
                                           style={"button_width": "auto"})
        self.view_select.add_class("dmq-chart-view")
        self._syncing = False
        for w in (self.queue_select, self.window_select, self.freq_select, self.view_select):
            w.observe(lambda _c: self.refresh() if not self._syncing else None, names="value")
        self.image = W.HTML(layout=W.Layout(max_width="100%", overflow="auto"))
        self.image.add_class("dmq-chart")
        self.summary = W.HTML()
        self.summary.add_class("dmq-summary")
        controls = W.HBox([self.view_select, self.queue_select, self.window_select, self.freq_select],
                          layout=W.Layout(flex_flow="row wrap"))
        return W.VBox([controls, self.summary, self.image])

    @property
    def queue(self) -> str | None:
        return None if self.queue_select.value == ALL else self.queue_select.value

    def figure(self, frame: Any) -> Figure:
        """The figure for the current view: counts over failure rate, per queue, or daily."""
        name = self.queue or "all queues"
        view = self.view_select.value
        if view == "daily":
            fig = Figure(figsize=(8, 3), layout="constrained")
            charts.daily_history(frame, ax=fig.add_subplot(), title=f"{name}: processed and failed per day")
            return fig
        if view == "per queue":
            fig = Figure(figsize=(8, 3.4), layout="constrained")
            charts.throughput_by_queue(frame, ax=fig.add_subplot(),
                                       title=f"processed per {self.freq_select.value}, by queue")
            return fig
        fig = Figure(figsize=(8, 4.2), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        charts.throughput(frame, ax=top, title=f"{name}: succeeded and failed per {self.freq_select.value}")
        charts.failure_rate(frame, ax=bottom, title=None)
        return fig

    def _refresh(self) -> str:
        from .. import export

        insp = cast("Inspector", self.inspector)   # export's frames read history/throughput too

        self._syncing = True
        try:
            names = [ALL, *self.inspector.queues()]
            if list(self.queue_select.options) != names:
                current = self._wanted_queue if self._wanted_queue in names else self.queue_select.value
                self.queue_select.options = names
                self.queue_select.value = current if current in names else ALL
            self._wanted_queue = self.queue_select.value
        finally:
            self._syncing = False
        view = self.view_select.value
        if view == "daily":
            frame = export.history_frame(insp, self.queue, days=14)
        else:
            frame = export.throughput_frame(insp, self.queue, freq=self.freq_select.value,
                                            window=WINDOWS[self.window_select.value],
                                            by_queue=view == "per queue")
            if view == "total":
                frame = charts.fit_window(frame.set_index("time")) if len(frame) else frame
        self.frame = frame
        set_if_changed(self.image, charts.to_svg(self.figure(frame)))
        processed = int(frame["processed"].sum()) if len(frame) else 0
        failed = int(frame["failed"].sum()) if len(frame) else 0
        rate = failed / processed if processed else 0.0
        span = "last 14 days" if self.view_select.value == "daily" else f"last {self.window_select.value}"
        self.summary.value = (f"<span class='dmq-muted'>{span}:</span> "
                              f"<b>{processed}</b> processed, <b class='{'dmq-bad' if failed else ''}'>{failed}"
                              f"</b> failed ({rate:.1%})")
        return f"{processed} processed, {failed} failed"
