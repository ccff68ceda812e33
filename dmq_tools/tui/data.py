"""What one dashboard refresh reads, loaded off the UI thread (the Inspector only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..inspector import Inspector
from ..models import QueueInfo, SchedulerEntry, ServerInfo, TaskInfo
from ..clock import utc as _UTC

__all__ = ["SPARK_MINUTES", "STATES", "DashData", "TaskPage", "load", "load_page", "sparkline"]

STATES = ["pending", "active", "scheduled", "retry", "archived", "completed"]  # the order `s` cycles
SPARK_MINUTES = 30
_BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """One character per value, scaled to the largest (blank when everything is zero)."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    return "".join(_BARS[min(len(_BARS) - 1, (v * (len(_BARS) - 1) + top - 1) // top)] for v in values)


@dataclass(frozen=True)
class TaskPage:
    queue: str
    state: str
    page: int
    page_size: int
    total: int
    tasks: tuple[TaskInfo, ...]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class DashData:
    queues: tuple[QueueInfo, ...]
    spark: dict[str, str]
    per_minute: dict[str, int]
    servers: tuple[ServerInfo, ...]
    entries: tuple[SchedulerEntry, ...]
    alerts: tuple[object, ...] = ()
    page: TaskPage | None = None
    at: datetime = field(default_factory=lambda: datetime.now(_UTC))


def load_page(insp: Inspector, queue: str, state: str, page: int, page_size: int) -> TaskPage:
    """One page of a state; the page number is clamped to the last page (tasks move away)."""
    total = insp.count_tasks(queue, state)
    last = max(1, -(-total // page_size))
    page = min(max(1, page), last)
    tasks = tuple(insp.list_tasks(queue, state, page=page, page_size=page_size)) if total else ()
    return TaskPage(queue, state, page, page_size, total, tasks)


def load(insp: Inspector, queue: str | None, state: str, page: int, page_size: int) -> DashData:
    """Counts of every queue, a throughput sparkline each, servers, scheduler, alerts, a task page."""
    infos = tuple(insp.queue_infos())
    now = datetime.now(_UTC)
    since = now - timedelta(minutes=SPARK_MINUTES - 1)
    series: dict[str, list[int]] = {i.queue: [] for i in infos}
    for p in insp.throughput(None, since=since, until=now):
        if p.queue in series:
            series[p.queue].append(p.processed)
    alerts: tuple[object, ...] = ()
    try:
        from ..alerts import active_alerts

        alerts = tuple(active_alerts(insp))
    except Exception:  # noqa: BLE001 - alerts are optional; a dashboard without them still works
        alerts = ()
    names = [i.queue for i in infos]
    q = queue if queue in names else (names[0] if names else None)
    return DashData(
        queues=infos, spark={k: sparkline(v) for k, v in series.items()},
        per_minute={k: (v[-2] if len(v) > 1 else 0) for k, v in series.items()},
        servers=tuple(insp.servers()), entries=tuple(insp.scheduler_entries()), alerts=alerts,
        page=load_page(insp, q, state, page, page_size) if q else None)
