"""`dmq dash`: a live terminal dashboard (Textual), the counterpart of `asynq dash`.

Every read and action runs in a worker thread and the UI only applies finished snapshots, so
keys stay responsive with many queues and millions of tasks (task lists are paged).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from ..inspector import Inspector
from ..models import TaskInfo, decode_payload
from .data import STATES, DashData, load

__all__ = ["DashApp"]

_QUEUE_COLUMNS = ("queue", "state", "pending", "active", "scheduled", "retry", "archived", "completed",
                  "processed", "failed", "fail %", "latency", "/min", "last 30 min")


def _latency(seconds: float) -> str:
    if seconds < 1:
        return "-" if seconds == 0 else f"{seconds * 1000:.0f}ms"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.0f}h"


def _cells(*values: Any) -> list[Any]:
    """Strings as plain Text: names, payloads and errors come from Redis and are not markup."""
    return [Text(v) if isinstance(v, str) else v for v in values]


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _detail(t: TaskInfo | None) -> str:
    if t is None:
        return "no task selected"
    payload = decode_payload(t.payload)
    shown = json.dumps(payload, indent=2, ensure_ascii=False) if isinstance(payload, (dict, list)) else repr(payload)
    lines = [f"id        {t.id}", f"type      {t.type}", f"queue     {t.queue}", f"state     {t.state.value}",
             f"retried   {t.retried}/{t.max_retry}", f"next run  {_when(t.next_process_at)}",
             f"deadline  {_when(t.deadline)}", f"timeout   {t.timeout or '-'}", f"group     {t.group or '-'}"]
    if t.last_err:
        lines += [f"failed at {_when(t.last_failed_at)}", f"error     {t.last_err}"]
    lines += ["payload", shown[:4000]]
    return "\n".join(lines)


class DashApp(App[None]):
    """Queues on top; tasks of the selected queue and state, servers, scheduler and alerts below."""

    TITLE = "dmq dash"
    CSS = """
    #queues { height: auto; max-height: 45%; }
    #tasks-row { height: 1fr; }
    #tasks { width: 3fr; }
    #detail-box { width: 2fr; border-left: solid $primary; padding: 0 1; }
    #tasks-title { height: 1; background: $boost; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("q", "quit", "Quit"),
        Binding("s", "next_state", "State"),
        Binding("n", "page(1)", "Next page"),
        Binding("b", "page(-1)", "Prev page"),
        Binding("r", "task('run')", "Run"),
        Binding("a", "task('archive')", "Archive"),
        Binding("d", "task('delete')", "Delete"),
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("ctrl+r", "reload", "Refresh"),
    ]

    def __init__(self, inspector: Inspector, interval: float = 2.0, page_size: int = 50) -> None:
        super().__init__()
        self.inspector = inspector
        self.interval = interval
        self.page_size = page_size
        self.queue: str | None = None
        self.state = "pending"
        self.page = 1
        self.data: DashData | None = None
        self.loads = 0   # snapshots applied (tests wait on it)
        self._in_flight = 0   # reads started and not yet landed (UI thread only)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True)
        yield DataTable(id="queues", cursor_type="row", zebra_stripes=True)
        with TabbedContent(id="tabs"):
            with TabPane("Tasks", id="tab-tasks"):
                yield Static("", id="tasks-title")
                with Horizontal(id="tasks-row"):
                    yield DataTable(id="tasks", cursor_type="row", zebra_stripes=True)
                    with VerticalScroll(id="detail-box"):
                        yield Static("", id="detail")
            with TabPane("Servers", id="tab-servers"):
                yield DataTable(id="servers", cursor_type="row")
            with TabPane("Scheduler", id="tab-scheduler"):
                yield DataTable(id="scheduler", cursor_type="row")
            with TabPane("Alerts", id="tab-alerts"):
                yield DataTable(id="alerts", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self._qcols = self.query_one("#queues", DataTable).add_columns(*_QUEUE_COLUMNS)
        self.query_one("#tasks", DataTable).add_columns("id", "type", "retried", "next run / error", "payload")
        self.query_one("#servers", DataTable).add_columns("host:pid", "status", "concurrency", "busy",
                                                          "queues", "started")
        self.query_one("#scheduler", DataTable).add_columns("entry", "spec", "type", "next", "previous")
        self.query_one("#alerts", DataTable).add_columns("alert", "since", "value", "message")

    def on_ready(self) -> None:
        """First read once the screen exists, then one every `interval`."""
        self.action_reload()
        self.set_interval(self.interval, self._tick)

    # ---- loading (thread) and applying (UI) ----
    def _tick(self) -> None:
        """The timer never replaces a read in flight (a slow Redis would starve every refresh)."""
        if not self._in_flight:
            self.action_reload()

    def action_reload(self) -> None:
        """Read now; a read for an older selection is replaced (its result is dropped)."""
        self._in_flight += 1
        self._load(self.queue, self.state, self.page)

    def _landed(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)

    def _post(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        """Run `fn` on the UI thread (from a worker thread); nothing once the app has exited."""
        try:
            self.call_from_thread(fn, *args, **kwargs)
        except RuntimeError:
            pass

    @work(thread=True, exclusive=True, group="load")
    def _load(self, queue: str | None, state: str, page: int) -> None:
        try:
            data = load(self.inspector, queue, state, page, self.page_size)
        except Exception as exc:  # noqa: BLE001 - Redis down: keep the last view, say why
            self._post(self.notify, f"refresh failed: {exc}", severity="error", timeout=3)
        else:
            if not get_current_worker().is_cancelled:   # a newer request replaced this one
                self._post(self._apply, data, (queue, state, page))
        self._post(self._landed)

    def _apply(self, data: DashData, asked: tuple[str | None, str, int]) -> None:
        if not self.is_running or not self.screen.is_mounted:
            return  # shutting down
        if asked != (self.queue, self.state, self.page) and self.queue is not None:
            return  # the selection changed while this snapshot loaded: a newer one is on its way
        self.data = data
        if data.page is not None:  # the first queue when none was chosen; the page clamped
            self.queue, self.page = data.page.queue, data.page.page
        qt = self.query_one("#queues", DataTable)
        rows = {i.queue: (i.queue, "paused" if i.paused else "run", i.pending, i.active, i.scheduled, i.retry,
                          i.archived, i.completed, i.processed, i.failed, f"{i.failure_rate:.1%}",
                          _latency(i.latency.total_seconds()), data.per_minute.get(i.queue, 0),
                          data.spark.get(i.queue, "")) for i in data.queues}
        names = list(rows)
        if names == [k.value for k in qt.rows]:
            for name, cells in rows.items():   # in place: the cursor (the selection) stays put
                for col, value in zip(self._qcols, cells):
                    qt.update_cell(name, col, _cells(value)[0], update_width=True)
        else:
            row = qt.cursor_row
            qt.clear()
            for name, cells in rows.items():
                qt.add_row(*_cells(*cells), key=name)
            if self.queue in names:
                qt.move_cursor(row=names.index(self.queue), animate=False)
            elif names:
                qt.move_cursor(row=min(row, len(names) - 1), animate=False)
        self._apply_tasks(data)
        st = self.query_one("#servers", DataTable)
        st.clear()
        for s in data.servers:
            st.add_row(*_cells(f"{s.host}:{s.pid}", s.status, s.concurrency, len(s.active_workers),
                               ", ".join(f"{q}={w}" for q, w in s.queues.items()), _when(s.started)), key=s.id)
        sc = self.query_one("#scheduler", DataTable)
        sc.clear()
        for e in data.entries:
            sc.add_row(*_cells(e.id[:12], e.spec, e.task_type, _when(e.next_enqueue_at), _when(e.prev_enqueue_at)),
                       key=e.id)
        at = self.query_one("#alerts", DataTable)
        at.clear()
        for a in data.alerts:
            at.add_row(*_cells(a.alert, _when(a.fired_at), a.value, a.message),  # type: ignore[attr-defined]
                       key=a.alert)  # type: ignore[attr-defined]
        self.sub_title = (f"{len(data.queues)} queues · {len(data.servers)} servers · "
                          f"{len(data.alerts)} alerts firing · {data.at:%H:%M:%S} UTC")
        self.loads += 1

    def _apply_tasks(self, data: DashData) -> None:
        tt = self.query_one("#tasks", DataTable)
        row = tt.cursor_row
        tt.clear()
        p = data.page
        if p is None:
            self.query_one("#tasks-title", Static).update("no queues")
            self.query_one("#detail", Static).update("")
            return
        self.query_one("#tasks-title", Static).update(Text(
            f"{p.queue} · {p.state} · {p.total} task(s) · page {p.page}/{p.pages}   "
            f"[s] state  [n/b] page  [r]un [a]rchive [d]elete  [p]ause queue"))
        for t in p.tasks:
            extra = t.last_err or _when(t.next_process_at)
            payload = decode_payload(t.payload)
            tt.add_row(*_cells(t.id, t.type, f"{t.retried}/{t.max_retry}", extra[:60],
                               (json.dumps(payload, ensure_ascii=False) if isinstance(payload, (dict, list))
                                else repr(payload))[:60]), key=t.id)
        if p.tasks:
            tt.move_cursor(row=min(row, len(p.tasks) - 1), animate=False)
        self._show_detail()

    def selected_task(self) -> TaskInfo | None:
        p = self.data.page if self.data else None
        if not p or not p.tasks:
            return None
        row = self.query_one("#tasks", DataTable).cursor_row
        return p.tasks[row] if 0 <= row < len(p.tasks) else None

    def _show_detail(self) -> None:
        self.query_one("#detail", Static).update(Text(_detail(self.selected_task())))

    # ---- events and actions ----
    @on(DataTable.RowHighlighted, "#queues")
    def _queue_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != event.data_table.cursor_row:
            return  # stale: posted while the table was rebuilt
        name = event.row_key.value if event.row_key is not None else None
        if name and name != self.queue:
            self.queue, self.page = name, 1
            self.action_reload()

    @on(DataTable.RowHighlighted, "#tasks")
    def _task_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def action_next_state(self) -> None:
        self.state = STATES[(STATES.index(self.state) + 1) % len(STATES)]
        self.page = 1
        self.action_reload()

    def action_page(self, step: int) -> None:
        self.page = max(1, self.page + step)
        self.action_reload()

    def action_task(self, op: str) -> None:
        t = self.selected_task()
        if t is None:
            self.notify("no task selected", severity="warning")
            return
        self._act(op, t.queue, t.id)

    def action_toggle_pause(self) -> None:
        if self.queue is None or self.data is None:
            return
        info = next((i for i in self.data.queues if i.queue == self.queue), None)
        if info is not None:
            self._act("unpause" if info.paused else "pause", self.queue, None)

    @work(thread=True, group="act")
    def _act(self, op: str, queue: str, task_id: str | None) -> None:
        insp = self.inspector
        try:
            if op == "pause":
                insp.pause_queue(queue)
            elif op == "unpause":
                insp.unpause_queue(queue)
            else:
                getattr(insp, f"{op}_task")(queue, task_id)
        except Exception as exc:  # noqa: BLE001
            self._post(self.notify, f"{op} failed: {exc}", severity="error")
            return
        what = f"task {task_id}" if task_id else f"queue {queue}"
        self._post(self.notify, f"{op}: {what}", timeout=2)
        self._post(self.action_reload)
