"""Dashboard: the one-cell entry point, every panel in tabs under one refresh toolbar."""

from __future__ import annotations

import logging
import weakref
from datetime import datetime
from typing import Any

import ipywidgets as W

from . import _view
from ._base import InspectorLike, Panel
from .overview import Overview
from .scheduler import SchedulerPanel
from .tasks import TaskBrowser
from .throughput import ThroughputChart
from .workers import WorkerPanel

__all__ = ["Dashboard"]

logger = logging.getLogger(__name__)

THEME_CSS = (
    "<style>"
    ".dmq-dashboard .lm-TabBar-tab{background:transparent !important;border:none !important;"
    "border-bottom:2px solid transparent !important;color:var(--jp-ui-font-color2,#666) !important;"
    "flex:0 0 auto !important;min-width:0 !important;padding:0 14px !important;font-size:13px}"
    ".dmq-dashboard .lm-TabBar-tab.lm-mod-current{border-bottom:2px solid var(--jp-brand-color1,#1976d2) !important;"
    "color:var(--jp-ui-font-color0,#111) !important;font-weight:600}"
    ".dmq-dashboard .lm-TabBar{border-bottom:1px solid var(--jp-border-color2,#e0e0e0)}"
    ".dmq-dashboard .widget-tab-contents,.dmq-dashboard .jupyter-widget-tab>.widget-tab-contents"
    "{border:none !important;padding:8px 2px !important;background:transparent !important}"
    ".dmq-dashboard .dmq-title{font-weight:700;font-size:15px;margin-right:8px;color:var(--jp-ui-font-color0,#111)}"
    ".dmq-dashboard{color:var(--jp-ui-font-color1,#222)}"
    ".dmq-dashboard .dmq-read-only{border:1px solid var(--jp-warn-color1,#b26b00);color:var(--jp-warn-color1,#b26b00);"
    "border-radius:8px;padding:0 6px;font-size:11px;margin-left:6px}"
    "</style>"
)


class Dashboard(Panel):
    """`display(Dashboard())`: Overview, Tasks, Workers, Scheduler and Charts in tabs.

    Refresh (and auto-refresh) re-reads the visible tab only, so an idle dashboard on many queues
    stays cheap. Clicking a queue row opens its tasks. A new Dashboard stops the auto-refresh of
    the earlier ones in this kernel (re-running the cell leaves no timer behind), and so does
    `dmq.stop_all()`.
    """

    css = "dmq-dashboard"
    title = "dmq"
    _instances: weakref.WeakSet[Dashboard] = weakref.WeakSet()

    def __init__(self, inspector: InspectorLike | None = None, *, mux: Any = None, scheduler: Any = None,
                 redis: Any = None, interval: float = 5.0, auto_refresh: bool = False,
                 read_only: bool = False) -> None:
        for old in list(Dashboard._instances):
            old.stop_auto_refresh()
        Dashboard._instances.add(self)
        self._options = {"mux": mux, "scheduler": scheduler, "redis": redis}
        super().__init__(inspector, interval=interval, auto_refresh=auto_refresh, read_only=read_only)
        self.status.layout.display = "none"  # each tab has its own status line

    def _build(self) -> W.Widget:
        insp, o, ro = self.inspector, self._options, self.read_only
        self.overview = Overview(insp, toolbar=False, lazy=True, read_only=ro)
        self.queues = self.overview.queues
        self.tasks = TaskBrowser(insp, toolbar=False, lazy=True, read_only=ro)
        self.workers = WorkerPanel(insp, mux=o["mux"], redis=o["redis"], toolbar=False, lazy=True, read_only=ro)
        self.scheduler = SchedulerPanel(insp, scheduler=o["scheduler"], redis=o["redis"], toolbar=False,
                                        lazy=True, read_only=ro)
        self.throughput = ThroughputChart(insp, toolbar=False, lazy=True)
        self.panels: list[Panel] = [self.overview, self.tasks, self.workers, self.scheduler, self.throughput]
        self.tab = W.Tab(children=[p.widget for p in self.panels],
                         titles=["Overview", "Tasks", "Workers", "Scheduler", "Charts"])
        self.tab.add_class("dmq-tabs")
        self.tab.observe(lambda _c: self.refresh(), names="selected_index")
        self.queues.on_open(self.open_tasks)
        self.header = W.HTML(THEME_CSS + "<span class='dmq-title'>dmq</span>"
                             "<span class='dmq-muted'>task queues</span>"
                             + (" <span class='dmq-badge dmq-read-only'>read-only</span>" if ro else ""))
        return W.VBox([self.tab])

    def _tools(self) -> list[W.Widget]:
        return [self.header]

    @property
    def visible(self) -> Panel:
        return self.panels[self.tab.selected_index or 0]

    def open_tasks(self, queue: str, state: str = "pending", task_id: str = "") -> None:
        """Show the Tasks tab on `queue`'s tasks in `state` (what clicking a queue row does)."""
        self.tasks.state.queue, self.tasks.state.state = queue, state
        self.tasks.state.page, self.tasks.state.selected = 1, task_id
        if self.tab.selected_index == 1:
            self.refresh()
        else:
            self.tab.selected_index = 1  # the observer refreshes the Tasks tab

    def refresh(self) -> bool:
        """Refresh the visible tab; show its error, if any."""
        with self._lock:
            panel = self.visible
            if not panel.refresh():
                self.last_error = panel.last_error
                self.status.value = _view.error_html(self.last_error, f"refresh {panel.title}")
                return False
            self.refresh_count += 1
            self.last_error = ""
            self.last_updated = datetime.now().astimezone()
            self.status.value = panel.status.value
            return True

    def _refresh(self) -> str:  # pragma: no cover - refresh() is overridden
        return ""

    def close(self) -> None:
        for p in self.panels:
            p.close()
        super().close()
