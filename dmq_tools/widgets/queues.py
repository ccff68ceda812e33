"""QueueTable: every queue's counts by state, today's processed/failed, latency, paused flag."""

from __future__ import annotations

import ipywidgets as W

from ..errors import QueueNotFoundError
from ..models import QueueInfo
from . import _view
from ._base import Panel, html_box, set_if_changed

__all__ = ["QueueTable"]


class QueueTable(Panel):
    """The Dashboard's overview; pause or resume the queue picked in the selector."""

    css = "dmq-queues"
    title = "Queues"

    def _build(self) -> W.Widget:
        self.infos: list[QueueInfo] = []
        self.table = html_box("dmq-table-box")
        self.queue_select = W.Dropdown(options=[], description="queue",
                                       layout=W.Layout(width="220px"),
                                       style={"description_width": "initial"})
        self.queue_select.add_class("dmq-queue-select")
        self.pause_button = W.Button(description="Pause", icon="pause", button_style="warning",
                                     tooltip="Workers stop taking tasks from this queue",
                                     layout=W.Layout(width="auto"))
        self.pause_button.add_class("dmq-pause")
        self.resume_button = W.Button(description="Resume", icon="play", button_style="success",
                                      tooltip="Workers take tasks from this queue again",
                                      layout=W.Layout(width="auto"))
        self.resume_button.add_class("dmq-resume")
        self.pause_button.on_click(lambda _b: self.pause())
        self.resume_button.on_click(lambda _b: self.resume())
        actions = W.HBox([self.queue_select, self.pause_button, self.resume_button],
                         layout=W.Layout(align_items="center"))
        return W.VBox([self.table, actions])

    def _refresh(self) -> str:
        infos = []
        for name in self.inspector.queues():
            try:
                infos.append(self.inspector.get_queue_info(name))
            except QueueNotFoundError:  # removed between the two calls
                continue
        self.infos = infos
        set_if_changed(self.table, _view.queues_table_html(_view.queue_rows(infos)))
        names = tuple(i.queue for i in infos)
        if tuple(self.queue_select.options) != names:
            current = self.queue_select.value
            self.queue_select.options = names
            if current in names:
                self.queue_select.value = current
        paused = sum(i.paused for i in infos)
        return f"{len(infos)} queues" + (f", {paused} paused" if paused else "")

    def info(self, queue: str) -> QueueInfo | None:
        return next((i for i in self.infos if i.queue == queue), None)

    def pause(self, queue: str | None = None) -> None:
        queue = queue or self.queue_select.value
        if queue:
            self._act(f"pause {queue}", self.inspector.pause_queue, queue)

    def resume(self, queue: str | None = None) -> None:
        queue = queue or self.queue_select.value
        if queue:
            self._act(f"resume {queue}", self.inspector.unpause_queue, queue)
