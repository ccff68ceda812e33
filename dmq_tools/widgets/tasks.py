"""TaskBrowser: pick a queue and a state, page through tasks, inspect one, act on one or all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W

from ..errors import QueueNotFoundError, TaskNotFoundError
from ..models import TaskInfo, TaskState
from . import _view
from ._base import InspectorLike, Panel, html_box, set_if_changed
from ._table import ClickTable

__all__ = ["TaskBrowser"]

# Which actions make sense in which state (asynq's inspector rules).
_RUN = {"scheduled", "retry", "archived", "aggregating"}
_ARCHIVE = {"pending", "scheduled", "retry", "aggregating"}
_DELETE = {"pending", "scheduled", "retry", "archived", "completed", "aggregating"}
_CANCEL = {"active"}
SEARCH_LIMIT = 2000
_ROW_ACTIONS = [{"name": "run", "label": "Run", "style": "success", "title": "Move to pending now"},
                {"name": "archive", "label": "Archive", "style": "warning"},
                {"name": "delete", "label": "Delete", "style": "danger"},
                {"name": "cancel", "label": "Cancel", "style": "danger", "title": "Cancel this running task"}]


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
        self.state_select = W.ToggleButtons(options=[(s, s) for s in _view.STATES], value=self.state.state,
                                            style={"button_width": "auto"}, layout=W.Layout(width="auto"))
        self.state_select.add_class("dmq-state-select")
        self.search = W.Text(placeholder="search id, type or payload", layout=W.Layout(width="220px"),
                             continuous_update=False)
        self.search.add_class("dmq-search")
        self.prev_button = _button("", "chevron-left", "dmq-prev", tip="Previous page")
        self.next_button = _button("", "chevron-right", "dmq-next", tip="Next page")
        self.page_label = W.Label()
        self.page_label.add_class("dmq-page")
        self.table = ClickTable(actions=[] if self.read_only else _ROW_ACTIONS, checkable=not self.read_only,
                                css="dmq-task-table",
                                empty="No tasks in this state.")
        self.table.add_class("dmq-table-box")
        self.table.on_click(lambda row, _col: self.open(row))
        self.table.on_action(lambda row, action: self.act(action, row))
        self.table.observe(lambda _c: self._show_selection(), names="checked")
        self.detail_box = html_box("dmq-detail")
        self.selection_label = W.HTML()
        self.run_checked_button = _button("Run", "play", "dmq-run-checked", "success", "Run the checked tasks now")
        self.archive_checked_button = _button("Archive", "archive", "dmq-archive-checked", "warning",
                                              "Archive the checked tasks")
        self.delete_checked_button = _button("Delete", "trash", "dmq-delete-checked", "danger",
                                             "Delete the checked tasks")
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
        self.search.observe(lambda _c: self._on_search(), names="value")
        self.prev_button.on_click(lambda _b: self._page(-1))
        self.next_button.on_click(lambda _b: self._page(+1))
        self.run_checked_button.on_click(lambda _b: self.act_checked("run"))
        self.archive_checked_button.on_click(lambda _b: self.act_checked("archive"))
        self.delete_checked_button.on_click(lambda _b: self.act_checked("delete"))
        self.run_all_button.on_click(lambda _b: self.ask_bulk("run"))
        self.archive_all_button.on_click(lambda _b: self.ask_bulk("archive"))
        self.delete_all_button.on_click(lambda _b: self.ask_bulk("delete"))
        self.confirm_button.on_click(lambda _b: self.confirm_bulk())
        self.abort_button.on_click(lambda _b: self._hide_confirm())
        self._syncing = False

        selectors = W.HBox([self.queue_select, self.search, self.prev_button, self.page_label,
                            self.next_button], layout=W.Layout(align_items="center", flex_flow="row wrap"))
        batch = W.HBox([self.selection_label, self.run_checked_button, self.archive_checked_button,
                        self.delete_checked_button, W.HTML("&nbsp;&nbsp;<span class='dmq-muted'>│</span>&nbsp;&nbsp;"),
                        self.run_all_button, self.archive_all_button, self.delete_all_button],
                       layout=W.Layout(align_items="center", flex_flow="row wrap"))
        batch.add_class("dmq-batch-bar")
        if self.read_only:
            batch.layout.display = "none"
        self.table.layout = W.Layout(flex="1 1 63%", min_width="420px", overflow="auto")
        self.detail_box.layout = W.Layout(flex="1 1 37%", min_width="280px", overflow="auto",
                                          padding="0 0 0 12px")
        body = W.HBox([self.table, self.detail_box], layout=W.Layout(width="100%", align_items="flex-start"))
        return W.VBox([selectors, self.state_select, batch, self.confirm_bar, body])

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
            self._show_tasks()
            return "no queues"
        try:
            info = self.inspector.get_queue_info(st.queue)
        except QueueNotFoundError:
            st.count = 0
        else:
            st.count = _view.count_for_state(info, st.state)
            options = [(f"{s} {_view.count_for_state(info, s)}", s) for s in _view.STATES]
            if list(self.state_select.options) != options:
                self.state_select.options = options
            self.state_select.value = st.state
        st.clamp()
        self.tasks = self._list(st)
        self._show_tasks()
        found = f" matching “{self.search.value.strip()}”" if self.search.value.strip() else ""
        return f"{st.queue}: {st.label()}{found}"

    def _list(self, st: _view.TaskBrowserState) -> list[TaskInfo]:
        text = self.search.value.strip()
        if text:  # scan the state's first SEARCH_LIMIT tasks, keep the matches
            found = [t for t in self.inspector.list_tasks(st.queue, TaskState(st.state), page=1,
                                                          page_size=SEARCH_LIMIT) if _view.matches(t, text)]
            st.count = len(found)
            st.clamp()
            return found[(st.page - 1) * st.page_size: st.page * st.page_size]
        if st.state != "aggregating":
            return list(self.inspector.list_tasks(st.queue, TaskState(st.state), page=st.page,
                                                  page_size=st.page_size))
        # aggregating tasks are listed per group: page through the groups one after the other
        out: list[TaskInfo] = []
        for g in self.inspector.groups(st.queue):
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
        cols, rows = _view.task_rows(self.tasks, st.state)
        ids = [t.id for t in self.tasks]
        st.selected = st.selected if st.selected in ids else (ids[0] if ids else "")
        with self.table.hold_trait_notifications():
            self.table.columns, self.table.rows = cols, rows
            self.table.checked = [i for i in self.table.checked if i in ids]
            self.table.selected = st.selected
        self._load_detail()
        for b, ok in ((self.run_all_button, _RUN), (self.archive_all_button, _ARCHIVE),
                      (self.delete_all_button, _DELETE)):
            b.disabled = st.state not in ok or not st.count
        self._show_selection()

    def _show_selection(self) -> None:
        n, st = len(self.table.checked), self.state.state
        self.selection_label.value = (f"<b>{n} checked</b>&nbsp;" if n
                                      else "<span class='dmq-muted'>check rows for batch actions</span>&nbsp;")
        for b, ok in ((self.run_checked_button, _RUN), (self.archive_checked_button, _ARCHIVE),
                      (self.delete_checked_button, _DELETE)):
            b.disabled = not n or st not in ok

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

    def open(self, task_id: str) -> None:
        """Show one task's detail beside the list (what clicking its row does)."""
        self.state.selected = task_id
        self.table.selected = task_id
        self._act("load task", self._load_detail)

    def _on_search(self) -> None:
        if self._syncing:
            return
        self.state.page, self.state.selected = 1, ""
        self.refresh()

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
        calls: dict[str, tuple[Callable[..., object], tuple[str, ...]]] = {
            "run": (self.inspector.run_task, (q, tid)),
            "archive": (self.inspector.archive_task, (q, tid)),
            "delete": (self.inspector.delete_task, (q, tid)),
            "cancel": (self.inspector.cancel_processing, (tid,))}
        fn, args = calls[action]
        self._act(f"{action} {tid}", fn, *args)

    def act_checked(self, action: str) -> int:
        """run / archive / delete every checked task; returns how many succeeded."""
        if self.read_only:
            self.status.value = _view.error_html("this dashboard is read-only", action)
            return 0
        ids, done, errors = list(self.table.checked), 0, []
        fn = {"run": self.inspector.run_task, "archive": self.inspector.archive_task,
              "delete": self.inspector.delete_task}[action]
        with self._lock:
            for tid in ids:
                try:
                    fn(self.state.queue, tid)
                    done += 1
                except Exception as exc:  # one gone task must not stop the batch
                    errors.append(f"{tid[:8]}: {exc}")
            self.table.checked = []
            self.refresh()
        note = f" · {action}: {done} of {len(ids)} tasks"
        if errors:
            self.status.value += f" <span class='dmq-bad'>{note} ({len(errors)} failed: {errors[0]})</span>"
        else:
            self.status.value += f" <span class='dmq-ok'>{note}</span>"
        return done

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
