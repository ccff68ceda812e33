"""Public, frozen value types returned by the Client, Inspector, Worker and Scheduler.

Field names are asynq's in snake_case. Times are timezone-aware UTC datetimes and durations
are timedeltas; raw seconds and nanoseconds live only in `rdb`.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from . import _html, _json
from ._payload_text import base64_text, decode_payload

__all__ = [
    "ActiveAlert",
    "TaskState",
    "TaskInfo",
    "QueueInfo",
    "DailyStats",
    "GroupInfo",
    "ServerInfo",
    "WorkerInfo",
    "SchedulerEntry",
    "SchedulerEnqueueEvent",
    "TaskEvent",
    "ThroughputPoint",
    "RecordList",
    "TaskList",
    "QueueList",
    "decode_payload",
    "to_jsonable",
]


class TaskState(str, enum.Enum):
    """asynq's task states, with asynq's lower-case strings as values."""

    ACTIVE = "active"
    PENDING = "pending"
    SCHEDULED = "scheduled"
    RETRY = "retry"
    ARCHIVED = "archived"
    COMPLETED = "completed"
    AGGREGATING = "aggregating"

    def __str__(self) -> str:
        return self.value


def to_jsonable(value: Any) -> Any:
    """Models and plain values as JSON-friendly data: times ISO 8601, durations in seconds,
    payloads decoded when JSON or text, else "base64:<...>" (the CLI's --json and the HTTP API)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        decoded = decode_payload(bytes(value))
        if isinstance(decoded, (bytes, bytearray)):
            return base64_text(bytes(value))
        return decoded
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


class _HtmlRepr:
    """Notebook rendering shared by every model (a readable table, light and dark themes)."""

    def _repr_html_(self) -> str:
        return _html.render_record(self)


@dataclass(frozen=True, slots=True)
class TaskInfo(_HtmlRepr):
    id: str
    queue: str
    type: str
    payload: bytes | None
    state: TaskState
    max_retry: int = 25
    retried: int = 0
    last_err: str = ""
    last_failed_at: datetime | None = None
    timeout: timedelta | None = None
    deadline: datetime | None = None
    group: str = ""
    next_process_at: datetime | None = None
    is_orphaned: bool = False
    retention: timedelta | None = None
    completed_at: datetime | None = None
    result: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def payload_value(self) -> Any:
        """The payload decoded: JSON value, text, or bytes."""
        return decode_payload(self.payload)

    @property
    def result_value(self) -> Any:
        return decode_payload(self.result)

    def json(self) -> Any:
        """The payload parsed as JSON (raises ValueError if it is not JSON)."""
        if self.payload is None:
            return None
        return _json.loads(self.payload)


# The slot setters of TaskInfo's fields: the enqueue path builds one TaskInfo per task, and the
# frozen dataclass __init__ (object.__setattr__ per field) costs ~2.5x as much as these calls.
if tuple(f.name for f in dataclasses.fields(TaskInfo)) != (
        "id", "queue", "type", "payload", "state", "max_retry", "retried", "last_err", "last_failed_at",
        "timeout", "deadline", "group", "next_process_at", "is_orphaned", "retention", "completed_at",
        "result", "headers"):  # pragma: no cover - guards enqueued_task_info below
    raise ImportError("TaskInfo's fields changed: update enqueued_task_info")
(_set_id, _set_queue, _set_type, _set_payload, _set_state, _set_max_retry, _set_retried, _set_last_err,
 _set_last_failed_at, _set_timeout, _set_deadline, _set_group, _set_next_process_at, _set_is_orphaned,
 _set_retention, _set_completed_at, _set_result, _set_headers) = (
    getattr(TaskInfo, f.name).__set__ for f in dataclasses.fields(TaskInfo))


def enqueued_task_info(
    id: str, queue: str, type: str, payload: bytes | None, state: TaskState, max_retry: int,
    timeout: timedelta | None, deadline: datetime | None, group: str, next_process_at: datetime | None,
    retention: timedelta | None, headers: dict[str, str],
) -> TaskInfo:
    """The TaskInfo of a task just enqueued (never retried, no result): equal to
    `TaskInfo(id=..., ...)` with the same arguments, built without the dataclass __init__."""
    info = object.__new__(TaskInfo)
    _set_id(info, id)
    _set_queue(info, queue)
    _set_type(info, type)
    _set_payload(info, payload)
    _set_state(info, state)
    _set_max_retry(info, max_retry)
    _set_retried(info, 0)
    _set_last_err(info, "")
    _set_last_failed_at(info, None)
    _set_timeout(info, timeout)
    _set_deadline(info, deadline)
    _set_group(info, group)
    _set_next_process_at(info, next_process_at)
    _set_is_orphaned(info, False)
    _set_retention(info, retention)
    _set_completed_at(info, None)
    _set_result(info, None)
    _set_headers(info, headers)
    return info


@dataclass(frozen=True, slots=True)
class QueueInfo(_HtmlRepr):
    queue: str
    memory_usage: int = 0
    latency: timedelta = timedelta(0)
    size: int = 0
    groups: int = 0
    pending: int = 0
    active: int = 0
    scheduled: int = 0
    retry: int = 0
    archived: int = 0
    completed: int = 0
    aggregating: int = 0
    processed: int = 0
    failed: int = 0
    processed_total: int = 0
    failed_total: int = 0
    paused: bool = False
    timestamp: datetime | None = None
    #: bytes dmq counts beyond asynq's `memory_usage` (group sorted sets, the groups set)
    memory_usage_extra: int = 0

    @property
    def failure_rate(self) -> float:
        return self.failed / self.processed if self.processed else 0.0


@dataclass(frozen=True, slots=True)
class DailyStats(_HtmlRepr):
    queue: str
    date: date
    processed: int
    failed: int


@dataclass(frozen=True, slots=True)
class GroupInfo(_HtmlRepr):
    group: str
    size: int


@dataclass(frozen=True, slots=True)
class WorkerInfo(_HtmlRepr):
    task_id: str
    task_type: str
    task_payload: bytes | None
    queue: str
    started: datetime | None
    deadline: datetime | None
    server_id: str = ""
    host: str = ""
    pid: int = 0


@dataclass(frozen=True, slots=True)
class ServerInfo(_HtmlRepr):
    id: str
    host: str
    pid: int
    concurrency: int
    queues: dict[str, int]
    strict_priority: bool
    started: datetime | None
    status: str
    active_workers: tuple[WorkerInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class SchedulerEntry(_HtmlRepr):
    id: str
    spec: str
    task_type: str
    task_payload: bytes | None
    opts: tuple[str, ...]
    next_enqueue_at: datetime | None
    prev_enqueue_at: datetime | None


@dataclass(frozen=True, slots=True)
class SchedulerEnqueueEvent(_HtmlRepr):
    task_id: str
    enqueued_at: datetime


@dataclass(frozen=True, slots=True)
class TaskEvent(_HtmlRepr):
    """One record of the per-queue history stream (dmq's addition beside asynq's keys)."""

    time: datetime
    queue: str
    event: str
    task_id: str
    type: str = ""
    duration: timedelta | None = None
    worker: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class ThroughputPoint(_HtmlRepr):
    """Tasks processed and failed in one minute of one queue (dmq's per-minute counters)."""

    time: datetime
    queue: str
    processed: int
    failed: int

    @property
    def failure_rate(self) -> float:
        return self.failed / self.processed if self.processed else 0.0


@dataclass(frozen=True)
class ActiveAlert(_HtmlRepr):
    """An alert firing now, as an alert evaluator left it in Redis (see dmq_tools.alerts)."""

    alert: str
    state: str
    fired_at: datetime | None
    value: str
    message: str


class RecordList(list):  # type: ignore[type-arg]
    """A plain list of model values that renders as one table in a notebook."""

    def _repr_html_(self) -> str:
        return _html.render_records(self, title=type(self).__name__)


class TaskList(RecordList):
    """list[TaskInfo] with a notebook table."""


class QueueList(RecordList):
    """list[QueueInfo] with a notebook table."""
