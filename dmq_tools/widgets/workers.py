"""WorkerPanel: start/stop workers inside the notebook; running tasks and recent failures."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import ipywidgets as W

from ..models import TaskEvent, TaskState
from . import _view
from ._base import InspectorLike, Panel, html_box, set_if_changed
from ._table import ClickTable

__all__ = ["WorkerPanel"]

logger = logging.getLogger(__name__)
_FAILURE_EVENTS = ("failed", "retried", "archived")


class WorkerPanel(Panel):
    """Workers started from here run in daemon threads of this kernel; `close()` stops them.

    Running tasks and servers come from `inspector.servers()`, so workers in other processes (a
    Go asynq service, `dmq worker`) show up too. Pass `mux=` to be able to start workers here.
    """

    css = "dmq-workers"
    title = "Workers"

    def __init__(self, inspector: InspectorLike | None = None, *, mux: Any = None, redis: Any = None,
                 queues: str = "critical=6,default=3,low=1", concurrency: int = 4,
                 failures: int = 10, **kwargs: Any) -> None:
        self.mux, self._redis = mux, redis
        self.workers: list[Any] = []
        self._default_queues, self._default_concurrency = queues, concurrency
        self.failure_limit = failures
        super().__init__(inspector, **kwargs)

    def _build(self) -> W.Widget:
        self.concurrency = W.BoundedIntText(value=self._default_concurrency, min=1, max=256,
                                            description="concurrency", layout=W.Layout(width="170px"),
                                            style={"description_width": "initial"})
        self.queues_text = W.Text(value=self._default_queues, description="queues=weights",
                                  layout=W.Layout(width="340px"), style={"description_width": "initial"})
        self.queues_text.add_class("dmq-worker-queues")
        self.strict = W.Checkbox(value=False, description="strict priority", indent=False,
                                 layout=W.Layout(width="auto"))
        self.start_button = W.Button(description="Start worker", icon="play", button_style="success",
                                     layout=W.Layout(width="auto"), disabled=self.mux is None,
                                     tooltip="Start a worker in this kernel" if self.mux is not None
                                     else "Pass WorkerPanel(mux=...) to start workers here")
        self.start_button.add_class("dmq-start-worker")
        self.stop_button = W.Button(description="Stop workers", icon="stop", button_style="danger",
                                    layout=W.Layout(width="auto"), tooltip="Graceful stop of the workers started here")
        self.stop_button.add_class("dmq-stop-worker")
        self.start_button.on_click(lambda _b: self.start_worker())
        self.stop_button.on_click(lambda _b: self.stop_workers())
        self.local_table = ClickTable(actions=[] if self.read_only else [
            {"name": "stop", "label": "Stop", "style": "danger", "title": "Graceful stop"}], css="dmq-local-table",
                                      empty="Nothing runs in this kernel: no worker or scheduler started.")
        self.local_table.add_class("dmq-local-workers")
        self.local_table.on_action(lambda row, _a: self.stop_local(row))
        self.servers_box = html_box("dmq-servers")
        self.running_box = html_box("dmq-running")
        self.failures_box = html_box("dmq-failures")
        form = W.HBox([self.concurrency, self.queues_text, self.strict, self.start_button, self.stop_button],
                      layout=W.Layout(flex_flow="row wrap", align_items="center",
                                      display="none" if self.read_only or self.mux is None else None))
        hint = W.HTML("<span class='dmq-muted'>To start workers from here, pass the handlers: "
                      "<code>Dashboard(mux=mux)</code>.</span>",
                      layout=W.Layout(display="none" if self.read_only or self.mux is not None else None))
        head = lambda text: W.HTML(f"<b>{text}</b>")  # noqa: E731
        return W.VBox([head("In this kernel (dmq.running())"), self.local_table, form, hint,
                       head("Servers (every process with a heartbeat)"), self.servers_box,
                       head("Running tasks"), self.running_box, head("Recent failures"), self.failures_box])

    # -- in-notebook workers ----------------------------------------------------------
    def start_worker(self) -> Any:
        """Start one Worker with the form's settings; returns it (or None, error shown)."""
        if self.mux is None:
            self.status.value = _view.error_html(ValueError("no handlers: create WorkerPanel(mux=...)"), "start")
            return None
        try:
            weights = _view.parse_weights(self.queues_text.value)
        except ValueError as exc:
            self.status.value = _view.error_html(exc, "start")
            return None
        return self._act("start worker", self._start, weights)

    def _start(self, weights: dict[str, int]) -> Any:
        from .. import Worker, connect

        redis = self._redis if self._redis is not None else connect()
        worker = Worker(redis, self.mux, concurrency=int(self.concurrency.value), queues=weights,
                        strict_priority=bool(self.strict.value))
        worker.start()
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> int:
        """Graceful stop of every worker this panel started; returns how many."""
        workers, self.workers = self.workers, []
        for w in workers:
            try:
                w.stop()
            except Exception:
                logger.warning("stopping worker %r failed", w, exc_info=True)
        self.refresh()
        return len(workers)

    def stop_local(self, ident: str) -> bool:
        """Stop one worker or scheduler of this kernel by id (a row's Stop button)."""
        from .. import running

        for obj in running():
            if obj.id == ident:
                self._act(f"stop {ident[:8]}", obj.stop)
                return True
        self.refresh()
        return False

    def close(self) -> None:
        self.stop_workers()
        super().close()

    # -- views ------------------------------------------------------------------------
    def _refresh(self) -> str:
        from .. import running

        self.stop_button.disabled = not self.workers
        cols, rows = _view.local_rows(running())
        with self.local_table.hold_trait_notifications():
            self.local_table.columns, self.local_table.rows = cols, rows
        servers = self.inspector.servers()
        now = datetime.now(timezone.utc)
        set_if_changed(self.servers_box, _view.records_table_html(
            ("server", "status", "concurrency", "queues", "active", "started"),
            [(f"{s.host}:{s.pid}", _view.server_health(s), s.concurrency, _view.format_weights(dict(s.queues)),
              len(s.active_workers), _view.fmt_dt(s.started, now)) for s in servers],
            "dmq-server-table", "No worker servers are running."))
        busy = [w for s in servers for w in s.active_workers]
        set_if_changed(self.running_box, _view.records_table_html(
            ("queue", "type", "task", "payload", "started", "deadline", "server"),
            [(w.queue, w.task_type, _view.short_id(w.task_id, 12), _view.payload_text(w.task_payload, limit=40),
              _view.fmt_dt(w.started, now), _view.fmt_dt(w.deadline, now), f"{w.host}:{w.pid}")
             for w in busy], "dmq-running-table", "No task is running."))
        failures = self.recent_failures()
        set_if_changed(self.failures_box, _view.records_table_html(
            ("time", "queue", "event", "type", "task", "error"),
            [(_view.fmt_dt(e.time, now), e.queue, e.event, e.type, _view.short_id(e.task_id, 12), e.error[:160])
             for e in failures], "dmq-failure-table", "No failures recorded."))
        return f"{len(servers)} servers, {len(busy)} running tasks, {len(rows)} running in this kernel"

    def recent_failures(self) -> list[TaskEvent]:
        """The newest failures: from the events stream (the newest events of every queue), or,
        for an inspector without one, from retry/archived tasks (asynq-only data)."""
        since = datetime.now(timezone.utc) - timedelta(days=1)
        events_fn = getattr(self.inspector, "events", None)
        out: list[TaskEvent] = []
        if events_fn is not None:
            evs = events_fn(None, since=since, limit=max(200, self.failure_limit * 20))
            out = [e for e in evs if e.event in _FAILURE_EVENTS]
        else:
            for q in self.inspector.queues():
                for state in (TaskState.RETRY, TaskState.ARCHIVED):
                    for t in self.inspector.list_tasks(q, state, page=1, page_size=self.failure_limit):
                        if t.last_failed_at is not None:
                            out.append(TaskEvent(time=t.last_failed_at, queue=q, event=state.value,
                                                 task_id=t.id, type=t.type, error=t.last_err))
        out.sort(key=lambda e: e.time, reverse=True)
        return out[: self.failure_limit]
