"""ipywidgets views over the Inspector: `display(Dashboard())` in a notebook.

Every widget is usable alone and is also a tab of `Dashboard`. They call only the inspector
(`InspectorLike`), never Redis; `refresh()` re-reads, actions are one inspector call each.
"""

from __future__ import annotations

from ..errors import MissingDependencyError

try:
    import ipywidgets as _ipywidgets  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("pip install dmq_tools[jupyter]") from exc

from ._base import AutoRefresh, InspectorLike, Panel
from .dashboard import Dashboard
from .overview import Overview
from .queues import QueueTable
from .scheduler import SchedulerPanel
from .tasks import TaskBrowser
from .throughput import ThroughputChart
from .workers import WorkerPanel

__all__ = [
    "Dashboard", "Overview", "QueueTable", "TaskBrowser", "WorkerPanel", "SchedulerPanel", "ThroughputChart",
    "InspectorLike", "Panel", "AutoRefresh",
]
