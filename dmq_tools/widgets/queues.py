"""QueueTable: one clickable row per queue; a cell opens that queue's tasks, a button pauses it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W

from ..errors import QueueNotFoundError
from ..models import QueueInfo
from . import _svg, _view
from ._base import Panel
from ._table import ClickTable

__all__ = ["QueueTable"]

_ACTIONS = [
    {"name": "pause", "label": "Pause", "style": "warning", "title": "Workers stop taking tasks from this queue"},
    {"name": "resume", "label": "Resume", "style": "success", "title": "Workers take tasks from this queue again"},
]


class QueueTable(Panel):
    """Counts by state (all-zero columns hidden), today's failures, latency, memory, a sparkline.

    `on_open(fn)`: fn(queue, state) when a row is clicked (the Dashboard opens the Tasks tab).
    """

    css = "dmq-queues"
    title = "Queues"

    def _build(self) -> W.Widget:
        self.infos: list[QueueInfo] = []
        self.sparks: dict[str, str] = {}
        self._open: list[Callable[[str, str], Any]] = []
        self.table = ClickTable(actions=[] if self.read_only else _ACTIONS, css="dmq-queue-table",
                                empty="No queues yet: enqueue a task to create one.")
        self.table.add_class("dmq-table-box")
        self.table.on_click(self._on_click)
        self.table.on_action(self._on_action)
        return W.VBox([self.table], layout=W.Layout(width="100%"))

    def on_open(self, fn: Callable[[str, str], Any]) -> None:
        self._open.append(fn)

    def load(self) -> list[QueueInfo]:
        infos = []
        for name in self.inspector.queues():
            try:
                infos.append(self.inspector.get_queue_info(name))
            except QueueNotFoundError:  # removed between the two calls
                continue
        return infos

    def show(self, infos: list[QueueInfo], sparks: dict[str, str] | None = None) -> None:
        self.infos = infos
        if sparks is not None:
            self.sparks = sparks
        cols, rows = _view.queue_table(infos, self.sparks)
        if self.table.columns != cols:
            self.table.columns = cols
        if self.table.rows != rows:
            self.table.rows = rows

    def _refresh(self) -> str:
        self.show(self.load())
        paused = sum(i.paused for i in self.infos)
        return f"{len(self.infos)} queues" + (f", {paused} paused" if paused else "")

    def info(self, queue: str) -> QueueInfo | None:
        return next((i for i in self.infos if i.queue == queue), None)

    def _on_click(self, queue: str, column: str) -> None:
        state = _view.state_for_column(self.info(queue), column)
        self.table.selected = queue
        for fn in self._open:
            fn(queue, state)

    def _on_action(self, queue: str, action: str) -> None:
        if action == "pause":
            self.pause(queue)
        elif action == "resume":
            self.resume(queue)

    def pause(self, queue: str) -> None:
        self._act(f"pause {queue}", self.inspector.pause_queue, queue)

    def resume(self, queue: str) -> None:
        self._act(f"resume {queue}", self.inspector.unpause_queue, queue)


def sparks_for(points: list[Any]) -> dict[str, str]:
    """Per-queue sparkline SVG from Inspector.throughput() points (minute buckets)."""
    by_q: dict[str, tuple[list[int], list[int]]] = {}
    for p in points:
        ok, bad = by_q.setdefault(p.queue, ([], []))
        ok.append(max(int(p.processed) - int(p.failed), 0))
        bad.append(int(p.failed))
    return {q: _svg.sparkline(ok, bad, title=f"{q}: {sum(ok) + sum(bad)} processed, {sum(bad)} failed "
                                                  "in the last 30 min")
            for q, (ok, bad) in by_q.items()}
