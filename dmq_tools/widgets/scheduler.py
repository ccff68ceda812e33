"""SchedulerPanel: cron entries with next fire times, enqueue history, register from a form."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

import ipywidgets as W

from . import _view
from ._base import InspectorLike, Panel, html_box, set_if_changed

__all__ = ["SchedulerPanel"]

logger = logging.getLogger(__name__)


def next_fire_times(spec: str, n: int = 3, after: datetime | None = None) -> list[datetime]:
    """The next `n` fire times of a spec (raises CronSpecError for a bad spec)."""
    from ..scheduler.cron import parse

    schedule = parse(spec)
    t = after or datetime.now(timezone.utc)
    out = []
    for _ in range(n):
        t = schedule.next(t)
        out.append(t)
    return out


class SchedulerPanel(Panel):
    """Entries come from the inspector (so asynq's schedulers show too); the form registers on
    `scheduler` (a `dmq.Scheduler`), or on one this panel creates and starts in a daemon thread.
    """

    css = "dmq-scheduler"
    title = "Scheduler"

    def __init__(self, inspector: InspectorLike | None = None, *, scheduler: Any = None,
                 redis: Any = None, history: int = 20, **kwargs: Any) -> None:
        self.scheduler, self._redis = scheduler, redis
        self._own_scheduler = False
        self.history_limit = history
        self.entries: list[Any] = []
        super().__init__(inspector, **kwargs)

    def _build(self) -> W.Widget:
        self.entries_box = html_box("dmq-entries")
        self.entry_select = W.Dropdown(options=[], description="history of", layout=W.Layout(width="420px"),
                                       style={"description_width": "initial"})
        self.entry_select.add_class("dmq-entry-select")
        self.entry_select.observe(lambda _c: self._act("history", self._show_history), names="value")
        self.history_box = html_box("dmq-history")
        self.spec = W.Text(value="@every 30s", description="spec", placeholder="*/5 * * * * or @every 30s",
                           layout=W.Layout(width="260px"), style={"description_width": "initial"})
        self.spec.add_class("dmq-spec")
        self.task_type = W.Text(value="", description="task type", placeholder="report:daily",
                                layout=W.Layout(width="260px"), style={"description_width": "initial"})
        self.task_type.add_class("dmq-task-type")
        self.queue = W.Text(value="default", description="queue", layout=W.Layout(width="200px"),
                            style={"description_width": "initial"})
        self.payload = W.Textarea(value="{}", description="payload (JSON)",
                                  layout=W.Layout(width="420px", height="60px"),
                                  style={"description_width": "initial"})
        self.payload.add_class("dmq-payload-input")
        self.preview = W.HTML()
        self.preview.add_class("dmq-preview")
        self.register_button = W.Button(description="Register", icon="plus", button_style="primary",
                                        layout=W.Layout(width="auto"), tooltip="Add this cron entry")
        self.register_button.add_class("dmq-register")
        self.register_button.on_click(lambda _b: self.register())
        self.spec.observe(lambda _c: self._preview(), names="value")
        self._preview()
        form = W.VBox([W.HBox([self.spec, self.task_type, self.queue], layout=W.Layout(flex_flow="row wrap")),
                       W.HBox([self.payload, self.register_button], layout=W.Layout(align_items="flex-end")),
                       self.preview])
        if self.read_only:
            return W.VBox([self.entries_box, self.entry_select, self.history_box])
        return W.VBox([self.entries_box, self.entry_select, self.history_box,
                       W.HTML("<b>Register a periodic task</b>"), form])

    def _preview(self) -> None:
        try:
            times = next_fire_times(self.spec.value.strip(), 3)
        except Exception as exc:
            self.preview.value = _view.error_html(exc)
            return
        self.preview.value = ("<span class='dmq-muted'>next: "
                              + ", ".join(t.strftime("%Y-%m-%d %H:%M:%S UTC") for t in times) + "</span>")

    def _refresh(self) -> str:
        owned_fn = getattr(self.inspector, "scheduler_entry_owners", None)
        pairs = list(owned_fn()) if owned_fn is not None else [("", e) for e in self.inspector.scheduler_entries()]
        self.entries = list({e.id: e for _, e in pairs}.values())
        now = datetime.now(timezone.utc)
        rows = [(e.id[:12], e.spec, e.task_type, _view.payload_text(e.task_payload, limit=50),
                 ", ".join(e.opts), _view.fmt_dt(e.next_enqueue_at, now), _view.fmt_dt(e.prev_enqueue_at, now),
                 _view.owner_text(owner))
                for owner, e in sorted(pairs, key=lambda p: (p[1].next_enqueue_at or now, p[1].id, p[0]))]
        set_if_changed(self.entries_box, _view.records_table_html(
            ("entry", "spec", "type", "payload", "options", "next enqueue", "previous enqueue", "owner"), rows,
            "dmq-entry-table", "No scheduler entries: register one below or start a dmq.Scheduler."))
        options = [(f"{e.spec}  {e.task_type}  ({e.id[:8]})", e.id) for e in self.entries]
        if list(self.entry_select.options) != options:
            current = self.entry_select.value
            self.entry_select.options = options
            ids = [o[1] for o in options]
            self.entry_select.value = current if current in ids else (ids[0] if ids else None)
        self._show_history()
        return f"{len(self.entries)} entries"

    def _show_history(self) -> None:
        entry_id = self.entry_select.value
        events = self.inspector.scheduler_history(entry_id)[: self.history_limit] if entry_id else []
        now = datetime.now(timezone.utc)
        set_if_changed(self.history_box, _view.records_table_html(
            ("enqueued at", "task"), [(_view.fmt_dt(e.enqueued_at, now), e.task_id) for e in events],
            "dmq-history-table", "No enqueue yet for this entry."))

    def register(self, spec: str | None = None, task_type: str | None = None, payload: Any = None,
                 queue: str | None = None) -> str | None:
        """Register an entry (the form's values by default); returns its id, or None on error."""
        from ..task import Task

        spec = (spec or self.spec.value).strip()
        ttype = (task_type or self.task_type.value).strip()
        queue = (queue or self.queue.value).strip() or "default"
        try:
            if not ttype:
                raise ValueError("task type is empty")
            if payload is None:
                text = self.payload.value.strip()
                payload = json.loads(text) if text else None
            next_fire_times(spec, 1)  # a clear error before anything is written
        except Exception as exc:
            self.status.value = _view.error_html(exc, "register")
            return None
        return self._act(f"register {spec}", self._register, spec, Task(ttype, payload), queue)

    def _register(self, spec: str, task: Any, queue: str) -> str:
        if self.scheduler is None:
            from .. import Scheduler, connect

            self.scheduler = Scheduler(self._redis if self._redis is not None else connect())
            self._own_scheduler = True
        entry_id = self.scheduler.register(spec, task, queue=queue)
        if self._own_scheduler and not self.scheduler.running:
            self.scheduler.start()
        if hasattr(self.scheduler, "heartbeat_once"):
            self.scheduler.heartbeat_once()  # publish the entry now, not at the next heartbeat
        return entry_id

    def close(self) -> None:
        if self._own_scheduler and self.scheduler is not None:
            try:
                self.scheduler.stop()
            except Exception:
                logger.warning("stopping the scheduler failed", exc_info=True)
        super().close()
