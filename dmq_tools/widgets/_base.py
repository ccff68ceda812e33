"""What every panel shares: the inspector Protocol, a toolbar, the auto-refresh timer, error display.

Widgets are thin: `refresh()` asks the inspector, turns models into HTML with `_view`, and assigns
widget values; an action is one inspector call followed by `refresh()`. Nothing here talks to
Redis, and an exception from Redis is shown in the panel's status line, never as a traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

import ipywidgets as W

from .. import _timers
from ..models import QueueInfo, SchedulerEnqueueEvent, SchedulerEntry, ServerInfo, TaskInfo
from . import _view

__all__ = ["InspectorLike", "AutoRefresh", "Panel", "default_inspector", "close_tree", "TIMER_THREAD_NAME"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
TIMER_THREAD_NAME = "dmq-autorefresh"


class InspectorLike(Protocol):
    """The part of `dmq_tools.Inspector` the widgets call (tests may pass any object with these)."""

    def queues(self) -> list[str]: ...
    def get_queue_info(self, queue: str) -> QueueInfo: ...
    def list_tasks(self, queue: str, state: Any, *, page: int = 1, page_size: int = 30,
                   group: str | None = None) -> list[TaskInfo]: ...
    def get_task_info(self, queue: str, task_id: str) -> TaskInfo: ...
    def run_task(self, queue: str, task_id: str) -> None: ...
    def archive_task(self, queue: str, task_id: str) -> None: ...
    def delete_task(self, queue: str, task_id: str) -> None: ...
    def cancel_processing(self, task_id: str) -> None: ...
    def run_all(self, queue: str, state: Any) -> int: ...
    def archive_all(self, queue: str, state: Any) -> int: ...
    def delete_all(self, queue: str, state: Any) -> int: ...
    def pause_queue(self, queue: str) -> None: ...
    def unpause_queue(self, queue: str) -> None: ...
    def servers(self) -> list[ServerInfo]: ...
    def scheduler_entries(self) -> list[SchedulerEntry]: ...
    def scheduler_history(self, entry_id: str) -> list[SchedulerEnqueueEvent]: ...
    def groups(self, queue: str) -> list[Any]: ...


def default_inspector() -> InspectorLike:
    """`Inspector(connect())`: REDIS_URL, else the embedded server."""
    from .. import connect
    from ..inspector import Inspector

    return Inspector(connect())


def close_tree(widget: W.Widget) -> None:
    """Close a widget and all its descendants (ipywidgets' close() does not recurse)."""
    for child in list(getattr(widget, "children", ()) or ()):
        close_tree(child)
    widget.close()


class AutoRefresh:
    """A daemon thread calling `tick()` every `interval()` seconds until `stop()`.

    `threading.Event.wait` is the sleep, so `stop()` interrupts it at once; starting twice does
    nothing. It keeps running while a notebook cell is busy (an asyncio task would not).
    """

    def __init__(self, tick: Callable[[], Any], interval: Callable[[], float],
                 alive: Callable[[], bool] = lambda: True) -> None:
        self._tick, self._interval, self._alive = tick, interval, alive
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=TIMER_THREAD_NAME, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(max(0.1, float(self._interval()))):
            if not self._alive():
                break
            try:
                self._tick()
            except Exception:  # refresh() already reports; never let the thread die noisily
                logger.debug("auto-refresh tick failed", exc_info=True)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


class Panel:
    """Base of every widget: toolbar (refresh, auto-refresh toggle, interval), body, status line."""

    css = "dmq-panel"
    title = "panel"

    def __init__(self, inspector: InspectorLike | None = None, *, interval: float = 5.0,
                 auto_refresh: bool = False, toolbar: bool = True, lazy: bool = False,
                 read_only: bool = False) -> None:
        #: no action reaches the inspector (the web dashboard without an API token)
        self.read_only = read_only
        self.inspector: InspectorLike = inspector if inspector is not None else default_inspector()
        self.refresh_count = 0
        self.last_updated: datetime | None = None
        self.last_error: str = ""
        self._lock = threading.RLock()
        self.status = W.HTML(layout=W.Layout(width="100%"))
        self.status.add_class("dmq-status")
        self.refresh_button = W.Button(description="Refresh", icon="refresh", tooltip="Refresh now",
                                       layout=W.Layout(width="auto"))
        self.refresh_button.add_class("dmq-refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.auto_button = W.ToggleButton(value=False, description="Auto-refresh", icon="play",
                                          tooltip="Refresh every N seconds (click again to pause)",
                                          layout=W.Layout(width="auto"))
        self.auto_button.add_class("dmq-auto")
        self.interval = W.BoundedFloatText(value=interval, min=0.5, max=3600, step=0.5,
                                           description="every (s)", layout=W.Layout(width="150px"),
                                           style={"description_width": "initial"})
        self.interval.add_class("dmq-interval")
        self.timer = AutoRefresh(self.refresh, lambda: self.interval.value, self._alive)
        _timers.register(self)  # dmq.stop_all() stops the timer too
        self.auto_button.observe(self._on_auto, names="value")
        body = self._build()
        self.toolbar = W.HBox([self.refresh_button, self.auto_button, self.interval, *self._tools()],
                              layout=W.Layout(flex_flow="row wrap", align_items="center"))
        self.toolbar.add_class("dmq-toolbar")
        children = [self.toolbar, body, self.status] if toolbar else [body, self.status]
        self.widget = W.VBox(children, layout=W.Layout(width="100%"))
        self.widget.add_class(self.css)
        self.widget.add_class("dmq-widget")
        self.widget.observe(self._on_comm, names="comm")
        if not lazy:  # lazy: the owner (a Dashboard tab) refreshes when the panel is shown
            self.refresh()
        if auto_refresh:
            self.auto_button.value = True

    # -- for subclasses ------------------------------------------------------------------
    def _build(self) -> W.Widget:
        raise NotImplementedError

    def _tools(self) -> list[W.Widget]:
        return []

    def _refresh(self) -> str:
        """Read from the inspector and update widgets; return a short status message."""
        raise NotImplementedError

    # -- shared behaviour ----------------------------------------------------------------
    def refresh(self) -> bool:
        """Re-read everything; on error keep the old view and show the error. Returns success."""
        with self._lock:
            try:
                message = self._refresh()
            except Exception as exc:
                logger.debug("%s refresh failed", type(self).__name__, exc_info=True)
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.status.value = _view.error_html(exc, "refresh")
                return False
            self.refresh_count += 1
            self.last_error = ""
            self.last_updated = datetime.now().astimezone()
            self.status.value = _view.status_html(message or "")
            return True

    def _act(self, doing: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run one inspector action, then refresh; a failure is shown, not raised."""
        if self.read_only:
            self.status.value = _view.error_html("this dashboard is read-only", doing)
            return None
        with self._lock:
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                logger.debug("%s failed", doing, exc_info=True)
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.status.value = _view.error_html(exc, doing)
                return None
            self.refresh()
            return result

    def _on_auto(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.auto_button.icon, self.auto_button.description = "pause", "Pause"
            self.timer.start()
        else:
            self.auto_button.icon, self.auto_button.description = "play", "Auto-refresh"
            self.timer.stop()

    def start_auto_refresh(self, interval: float | None = None) -> None:
        if interval is not None:
            self.interval.value = interval
        self.auto_button.value = True

    def stop_auto_refresh(self) -> None:
        self.auto_button.value = False
        self.timer.stop()

    def _alive(self) -> bool:
        return self.widget.comm is not None

    def _on_comm(self, change: dict[str, Any]) -> None:
        if change["new"] is None:  # the widget was closed: the timer must not outlive it
            self.timer.stop()

    def close(self) -> None:
        """Stop the timer and close every child widget."""
        self.timer.stop()
        close_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):  # a short text instead of the whole widget tree's repr
            bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        ro = " · read-only" if self.read_only else ""
        err = f" · {self.last_error}" if self.last_error else ""
        return f"<{type(self).__name__} refreshed {self.refresh_count}x{ro}{err}>"


def html_box(css: str) -> W.HTML:
    """An HTML output styled like Lab's rendered tables, with a test hook class."""
    box = W.HTML(layout=W.Layout(width="100%", overflow="auto"))
    box.add_class("jp-RenderedHTMLCommon")
    box.add_class(css)
    return box


def set_if_changed(widget: W.Widget, value: Any, name: str = "value") -> None:
    """Assign only on change, so an idle auto-refresh sends nothing to the browser."""
    if getattr(widget, name) != value:
        setattr(widget, name, value)
