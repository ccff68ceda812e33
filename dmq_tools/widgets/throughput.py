"""ThroughputChart: processed/failed per bucket and failure rate for a queue and window, live."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import ipywidgets as W
from matplotlib.figure import Figure

from .. import charts
from ._base import InspectorLike, Panel, set_if_changed

__all__ = ["ThroughputChart"]

ALL = "(all queues)"
WINDOWS: dict[str, timedelta] = {
    "15 min": timedelta(minutes=15), "1 hour": timedelta(hours=1), "6 hours": timedelta(hours=6),
    "24 hours": timedelta(hours=24), "7 days": timedelta(days=7),
}
FREQS = ("1min", "5min", "15min", "1h")


class ThroughputChart(Panel):
    """A matplotlib figure rendered to PNG in an `Image`, redrawn on each refresh."""

    css = "dmq-throughput"
    title = "Throughput"

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
        for w in (self.queue_select, self.window_select, self.freq_select):
            w.observe(lambda _c: self.refresh() if not self._syncing else None, names="value")
        self._syncing = False
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.image.add_class("dmq-chart")
        self.summary = W.HTML()
        self.summary.add_class("dmq-summary")
        controls = W.HBox([self.queue_select, self.window_select, self.freq_select],
                          layout=W.Layout(flex_flow="row wrap"))
        return W.VBox([controls, self.summary, self.image])

    @property
    def queue(self) -> str | None:
        return None if self.queue_select.value == ALL else self.queue_select.value

    def figure(self, frame: Any) -> Figure:
        """The two-panel figure (counts on top, failure rate below) for a throughput frame."""
        fig = Figure(figsize=(8, 4.2), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        name = self.queue or "all queues"
        charts.throughput(frame, ax=top, title=f"{name}: processed and failed per {self.freq_select.value}")
        charts.failure_rate(frame, ax=bottom, title=None)
        return fig

    def _refresh(self) -> str:
        from .. import export

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
        frame = export.throughput_frame(self.inspector, self.queue, freq=self.freq_select.value,
                                        window=WINDOWS[self.window_select.value])
        self.frame = frame
        set_if_changed(self.image, charts.to_png(self.figure(frame)))
        processed = int(frame["processed"].sum()) if len(frame) else 0
        failed = int(frame["failed"].sum()) if len(frame) else 0
        rate = failed / processed if processed else 0.0
        self.summary.value = (f"<span class='dmq-muted'>last {self.window_select.value}:</span> "
                              f"<b>{processed}</b> processed, <b class='{'dmq-bad' if failed else ''}'>{failed}"
                              f"</b> failed ({rate:.1%})")
        return f"{processed} processed, {failed} failed"
