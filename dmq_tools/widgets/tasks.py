"""TaskBrowser: pick a queue and a state, page through tasks, inspect one, act on one or all."""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from ..errors import QueueNotFoundError, TaskNotFoundError
from ..models import TaskInfo, TaskState
from . import _view
from ._base import InspectorLike, Panel, html_box, set_if_changed

__all__ = ["TaskBrowser"]

# Which actions make sense in which state (asynq's inspector rules).
_RUN = {"scheduled", "retry", "archived", "aggregating"}
_ARCHIVE = {"pending", "scheduled", "retry", "aggregating"}
_DELETE = {"pending", "scheduled", "retry", "archived", "completed", "aggregating"}
_CANCEL = {"active"}


def _button(label: str, icon: str, css: str, style: str = "", tip: str = "") -> W.Button:
    b = W.Button(description=label, icon=icon, button_style=style, tooltip=tip or label,
                 layout=W.Layout(width="auto"))
    b.add_class(css)
    return b


class TaskBrowser(Panel):
    """Paginated tasks of one queue and state, task detail, run/archive/delete/cancel."""

    css = "dmq-tasks"
    title = "Tasks"

    def __init__(self, inspector: InspectorLike | None = None, *, queue: str = "",
                 state: str = "pending", page_size: int = 20, **kwargs: Any) -> None:
        self.state = _view.TaskBrowserState(queue=queue, state=str(state), page_size=page_size)
        self.tasks: list[TaskInfo] = []
        self.detail: TaskInfo | None = None
        super().__init__(inspector, **kwargs)

    def _build(self) -> W.Widget:
        self.queue_select = W.Dropdown(options=[], description="queue", layout=W.Layout(width="220px"),
                                       style={"description_width": "initial"})
        self.queue_select.add_class("dmq-queue-select")
        self.state_select = W.Dropdown(options=[(s, s) for s in _view.STATES], value=self.state.state,
                                       description="state", layout=W.Layout(width="230px"),
                                       style={"description_width": "initial"})
        self.state_select.add_class("dmq-state-select")
        self.prev_button = _button("", "chevron-left", "dmq-prev", tip="Previous page")
        self.next_button = _button("", "chevron-right", "dmq-next", tip="Next page")
        self.page_label = W.Label()
        self.page_label.add_class("dmq-page")
        self.table = html_box("dmq-table-box")
        self.task_select = W.Dropdown(options=[], description="task", layout=W.Layout(width="420px"),
                                      style={"description_width": "initial"})
        self.task_select.add_class("dmq-task-select")
        self.detail_box = html_box("dmq-detail")
        self.run_button = _button("Run", "play", "dmq-run", "success", "Move this task to pending now")
        self.archive_button = _button("Archive", "archive", "dmq-archive", "warning")
        self.delete_button = _button("Delete", "trash", "dmq-delete", "danger")
        self.cancel_button = _button("Cancel", "stop", "dmq-cancel", "danger", "Cancel this running task")
        self.run_all_button = _button("Run all", "play", "dmq-run-all", tip="Run every task in this state")
        self.archive_all_button = _button("Archive all", "archive", "dmq-archive-all")
        self.delete_all_button = _button("Delete all", "trash", "dmq-delete-all", "danger")
        self.confirm_text = W.HTML()
        self.confirm_button = _button("Confirm", "check", "dmq-confirm", "danger")
        self.abort_button = _button("Cancel", "times", "dmq-abort")
        self.confirm_bar = W.HBox([self.confirm_text, self.confirm_button, self.abort_button],
                                  layout=W.Layout(display="none", align_items="center"))
        self.confirm_bar.add_class("dmq-confirm-bar")

        self.queue_select.observe(self._on_queue, names="value")
        self.state_select.observe(self._on_state, names="value")
        self.task_select.observe(self._on_task, names="value")
        self.prev_button.on_click(lambda _b: self._page(-1))
        self.next_button.on_click(lambda _b: self._page(+1))
        self.run_button.on_click(lambda _b: self.act("run"))
        self.archive_button.on_click(lambda _b: self.act("archive"))
        self.delete_button.on_click(lambda _b: self.act("delete"))
        self.cancel_button.on_click(lambda _b: self.act("cancel"))
        self.run_all_button.on_click(lambda _b: self.ask_bulk("run"))
        self.archive_all_button.on_click(lambda _b: self.ask_bulk("archive"))
        self.delete_all_button.on_click(lambda _b: self.ask_bulk("delete"))
        self.confirm_button.on_click(lambda _b: self.confirm_bulk())
        self.abort_button.on_click(lambda _b: self._hide_confirm())
        self._syncing = False

        selectors = W.HBox([self.queue_select, self.state_select, self.prev_button, self.page_label,
                            self.next_button], layout=W.Layout(align_items="center", flex_flow="row wrap"))
        bulk = W.HBox([self.run_all_button, self.archive_all_button, self.delete_all_button])
        actions = W.HBox([self.task_select, self.run_button, self.archive_button, self.delete_button,
                          self.cancel_button], layout=W.Layout(align_items="center", flex_flow="row wrap"))
        return W.VBox([selectors, self.table, bulk, self.confirm_bar, actions, self.detail_box])

    # -- data -------------------------------------------------------------------------
    def _refresh(self) -> str:
        self._syncing = True
        try:
            names = self.inspector.queues()
            if tuple(self.queue_select.options) != tuple(names):
                self.queue_select.options = names
            if self.state.queue not in names:
                self.state.queue = names[0] if names else ""
            if self.state.queue:
                self.queue_select.value = self.state.queue
            return self._load_page()
        finally:
            self._syncing = False

    def _load_page(self) -> str:
        st = self.state
        if not st.queue:
            self.tasks, st.count = [], 0
            set_if_changed(self.table, _view.STYLE + "<p class='dmq-muted dmq-empty'>No queues yet.</p>")
            self._show_tasks()
            return "no queues"
        try:
            info = self.inspector.get_queue_info(st.queue)
        except QueueNotFoundError:
            st.count = 0
        else:
            st.count = _view.count_for_state(info, st.state)
            self.state_select.options = [(f"{s} ({_view.count_for_state(info, s)})", s) for s in _view.STATES]
            self.state_select.value = st.state
        st.clamp()
        self.tasks = self._list(st)
        set_if_changed(self.table, _view.tasks_table_html(self.tasks, st.state))
        self._show_tasks()
        return f"{st.queue}: {st.label()}"

    def _list(self, st: _view.TaskBrowserState) -> list[TaskInfo]:
        if st.state != "aggregating":
            return list(self.inspector.list_tasks(st.queue, TaskState(st.state), page=st.page,
                                                  page_size=st.page_size))
        # aggregating tasks are listed per group: page through the groups one after the other
        out: list[TaskInfo] = []
        for g in self.inspector.groups(st.queue):  # type: ignore[attr-defined]
            out.extend(self.inspector.list_tasks(st.queue, TaskState.AGGREGATING, page=1,
                                                 page_size=st.page * st.page_size, group=g.group))
            if len(out) >= st.page * st.page_size:
                break
        return out[(st.page - 1) * st.page_size: st.page * st.page_size]

    def _show_tasks(self) -> None:
        st = self.state
        self.page_label.value = st.label()
        self.prev_button.disabled = st.page <= 1
        self.next_button.disabled = st.page >= st.pages
        options = [(f"{_view.short_id(t.id, 12)}  {t.type}", t.id) for t in self.tasks]
        self.task_select.options = options
        ids = [t.id for t in self.tasks]
        st.selected = st.selected if st.selected in ids else (ids[0] if ids else "")
        self.task_select.value = st.selected or None
        self._load_detail()
        for b, ok in ((self.run_all_button, _RUN), (self.archive_all_button, _ARCHIVE),
                      (self.delete_all_button, _DELETE)):
            b.disabled = st.state not in ok or not st.count
        for b, ok in ((self.run_button, _RUN), (self.archive_button, _ARCHIVE),
                      (self.delete_button, _DELETE), (self.cancel_button, _CANCEL)):
            b.disabled = st.state not in ok or not st.selected

    def _load_detail(self) -> None:
        task = None
        if self.state.selected:
            try:
                task = self.inspector.get_task_info(self.state.queue, self.state.selected)
            except TaskNotFoundError:
                task = None
        self.detail = task
        set_if_changed(self.detail_box, _view.task_detail_html(task))

    # -- UI events --------------------------------------------------------------------
    def _on_queue(self, change: dict[str, Any]) -> None:
        if self._syncing or not change["new"]:
            return
        self.state.queue, self.state.page, self.state.selected = change["new"], 1, ""
        self._hide_confirm()
        self.refresh()

    def _on_state(self, change: dict[str, Any]) -> None:
        if self._syncing or not change["new"]:
            return
        self.state.state, self.state.page, self.state.selected = change["new"], 1, ""
        self._hide_confirm()
        self.refresh()

    def _on_task(self, change: dict[str, Any]) -> None:
        if self._syncing or change["new"] is None:
            return
        self.state.selected = change["new"]
        self._act("load task", self._load_detail)

    def _page(self, step: int) -> None:
        if step > 0:
            self.state.next_page()
        else:
            self.state.prev_page()
        self.state.selected = ""
        self.refresh()

    def select(self, queue: str, state: str = "pending", task_id: str = "") -> None:
        """Point the browser at a queue/state (and a task) from code."""
        self.state.queue, self.state.state, self.state.page = queue, str(state), 1
        self.state.selected = task_id
        self.refresh()

    # -- actions ----------------------------------------------------------------------
    def act(self, action: str, task_id: str | None = None) -> None:
        """run / archive / delete / cancel one task (the selected one by default)."""
        tid = task_id or self.state.selected
        if not tid:
            return
        q = self.state.queue
        calls = {"run": (self.inspector.run_task, (q, tid)),
                 "archive": (self.inspector.archive_task, (q, tid)),
                 "delete": (self.inspector.delete_task, (q, tid)),
                 "cancel": (self.inspector.cancel_processing, (tid,))}
        fn, args = calls[action]
        self._act(f"{action} {tid}", fn, *args)

    def ask_bulk(self, action: str) -> None:
        """Show the confirmation bar; nothing changes until `confirm_bulk()`."""
        st = self.state
        st.pending_action = action
        self.confirm_text.value = (f"<b class='dmq-bad'>{action.capitalize()} all {st.count} {st.state} "
                                   f"tasks in “{st.queue}”?</b>&nbsp;")
        self.confirm_bar.layout.display = "flex"

    def confirm_bulk(self) -> int | None:
        st = self.state
        action, st.pending_action = st.pending_action, ""
        self._hide_confirm()
        if not action:
            return None
        fn = {"run": self.inspector.run_all, "archive": self.inspector.archive_all,
              "delete": self.inspector.delete_all}[action]
        n = self._act(f"{action} all {st.state}", fn, st.queue, TaskState(st.state))
        if n is not None:
            self.status.value += f" <span class='dmq-ok'>· {action}: {n} tasks</span>"
        return n

    def _hide_confirm(self) -> None:
        self.state.pending_action = ""
        self.confirm_bar.layout.display = "none"
