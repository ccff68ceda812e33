"""Dashboard: the one-cell entry point, every panel in tabs under one refresh toolbar."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import ipywidgets as W

from . import _view
from ._base import InspectorLike, Panel
from .queues import QueueTable
from .scheduler import SchedulerPanel
from .tasks import TaskBrowser
from .throughput import ThroughputChart
from .workers import WorkerPanel

__all__ = ["Dashboard"]

logger = logging.getLogger(__name__)


class Dashboard(Panel):
    """`display(Dashboard())`: queues, tasks, workers, scheduler and throughput in tabs.

    Refresh (and auto-refresh) re-reads the queue table and the visible tab only, so an idle
    dashboard on many queues stays cheap. `Dashboard()` connects like `dmq.connect()`.
    """

    css = "dmq-dashboard"
    title = "dmq"

    def __init__(self, inspector: InspectorLike | None = None, *, mux: Any = None, scheduler: Any = None,
                 redis: Any = None, interval: float = 5.0, auto_refresh: bool = False) -> None:
        self._options = {"mux": mux, "scheduler": scheduler, "redis": redis}
        super().__init__(inspector, interval=interval, auto_refresh=auto_refresh)

    def _build(self) -> W.Widget:
        insp, o = self.inspector, self._options
        self.queues = QueueTable(insp, toolbar=False)
        self.tasks = TaskBrowser(insp, toolbar=False, lazy=True)
        self.workers = WorkerPanel(insp, mux=o["mux"], redis=o["redis"], toolbar=False, lazy=True)
        self.scheduler = SchedulerPanel(insp, scheduler=o["scheduler"], redis=o["redis"], toolbar=False,
                                        lazy=True)
        self.throughput = ThroughputChart(insp, toolbar=False, lazy=True)
        self.panels: list[Panel] = [self.queues, self.tasks, self.workers, self.scheduler, self.throughput]
        self.tab = W.Tab(children=[p.widget for p in self.panels], titles=[p.title for p in self.panels])
        self.tab.add_class("dmq-tabs")
        self.tab.observe(lambda _c: self.refresh(), names="selected_index")
        self.header = W.HTML("<b>dmq</b> <span class='dmq-muted'>task queues</span>")
        return W.VBox([self.tab])

    def _tools(self) -> list[W.Widget]:
        return [self.header]

    @property
    def visible(self) -> Panel:
        return self.panels[self.tab.selected_index or 0]

    def refresh(self) -> bool:
        """Refresh the queue table and the visible tab; show the first error, if any."""
        with self._lock:
            wanted = [self.queues] if self.visible is self.queues else [self.queues, self.visible]
            failed = [p for p in wanted if not p.refresh()]
            if failed:
                self.last_error = failed[0].last_error
                self.status.value = _view.error_html(self.last_error, f"refresh {failed[0].title}")
                return False
            self.refresh_count += 1
            self.last_error = ""
            self.last_updated = datetime.now().astimezone()
            n = len(self.queues.infos)
            self.status.value = _view.status_html(f"{n} queues · tab {self.visible.title}")
            return True

    def _refresh(self) -> str:  # pragma: no cover - refresh() is overridden
        return ""

    def close(self) -> None:
        for p in self.panels:
            p.close()
        super().close()
