"""pandas DataFrames from the Inspector's models (pandas is imported lazily).

Every frame has a stable column order (the dataclass field order, with a decoded column right
after each bytes payload/result), UTC `datetime64` columns, `timedelta64` durations, and
categorical queue/state/event columns. Large reads stream in batches from the Inspector.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import typing
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from .errors import ConfigurationError, MissingDependencyError
from ._payload_text import base64_text
from .models import (
    DailyStats,
    QueueInfo,
    SchedulerEntry,
    ServerInfo,
    TaskEvent,
    TaskInfo,
    TaskState,
    ThroughputPoint,
    decode_payload,
)
from .clock import utc as _UTC

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .inspector import Inspector

__all__ = [
    "to_frame", "queues_frame", "tasks_frame", "history_frame", "events_frame", "throughput_frame",
    "servers_frame", "scheduler_frame", "write_frame", "FORMATS",
]

_CATEGORICAL = ("queue", "state", "event")
_STATE_ORDER = [s.value for s in TaskState]
_DECODED = {"payload": "payload_value", "result": "result_value", "task_payload": "task_payload_value"}
FORMATS = ("csv", "parquet", "json")
Progress = Callable[[int], None]


def _pd() -> Any:
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is installed in CI
        raise MissingDependencyError(
            "DataFrame exports need pandas: pip install dmq_tools[pandas]"
        ) from exc
    return pd


# ---- generic conversion ----
def _kind(tp: Any) -> str:
    """Column kind of a (possibly Optional) annotation."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    base = typing.get_origin(args[0]) or args[0]
    if base is datetime:
        return "datetime"
    if base is date:
        return "date"
    if base is timedelta:
        return "timedelta"
    if base is bytes:
        return "bytes"
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return "enum"
    if base is bool:
        return "bool"
    if base is int:
        return "int"
    if base is float:
        return "float"
    if base is str:
        return "str"
    return "object"


def _field_kinds(cls: type) -> list[tuple[str, str]]:
    hints = typing.get_type_hints(cls)
    return [(f.name, _kind(hints[f.name])) for f in dataclasses.fields(cls)]


def _epoch(v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, datetime):
        return v.timestamp()
    return datetime(v.year, v.month, v.day, tzinfo=_UTC).timestamp()


def _column(pd: Any, name: str, kind: str, values: list[Any]) -> Any:
    if kind == "datetime":
        nan = math.nan
        secs = pd.Series([nan if v is None else v.timestamp() for v in values], dtype="float64")
        return pd.to_datetime(secs, unit="s", utc=True).astype("datetime64[ns, UTC]")
    if kind == "date":
        secs = pd.Series([_epoch(v) for v in values], dtype="float64")
        return pd.to_datetime(secs, unit="s", utc=True).astype("datetime64[ns, UTC]")
    if kind == "timedelta":
        secs = pd.Series([math.nan if v is None else v.total_seconds() for v in values], dtype="float64")
        return pd.to_timedelta(secs, unit="s").astype("timedelta64[ns]")
    if kind == "enum":
        values = [getattr(v, "value", v) for v in values]
    if name == "state":
        return pd.Categorical(values, categories=_STATE_ORDER)
    if name in _CATEGORICAL:
        return pd.Categorical(values)
    if kind == "int":
        return pd.Series(values, dtype="Int64" if None in values else "int64")
    if kind == "bool":
        return pd.Series(values, dtype="bool")
    if kind == "float":
        return pd.Series(values, dtype="float64")
    return pd.Series(values, dtype="object")


class _Columns:
    """Accumulates dataclass values column by column (no per-row dicts), batch after batch."""

    def __init__(self, cls: type, decode: bool = True) -> None:
        self.kinds = _field_kinds(cls)
        self.decode = decode
        self.data: dict[str, list[Any]] = {n: [] for n, _ in self.kinds}

    def extend(self, items: Sequence[Any]) -> None:
        for name, _ in self.kinds:
            self.data[name].extend(getattr(it, name) for it in items)

    def frame(self) -> pd.DataFrame:
        pd = _pd()
        cols: dict[str, Any] = {}
        for name, kind in self.kinds:
            values = self.data[name]
            cols[name] = _column(pd, name, kind, values)
            if self.decode and kind == "bytes" and name in _DECODED:
                cols[_DECODED[name]] = pd.Series([decode_payload(v) for v in values], dtype="object")
        df = pd.DataFrame(cols)
        df.index = pd.RangeIndex(len(df))
        return df


def to_frame(items: Iterable[Any], cls: type | None = None, *, decode: bool = True) -> pd.DataFrame:
    """Any list of model dataclasses as a DataFrame (pass `cls` so an empty list keeps its columns)."""
    items = list(items)
    if cls is None:
        if not items:
            raise ConfigurationError("to_frame() of an empty list needs cls= to know the columns")
        cls = type(items[0])
    cols = _Columns(cls, decode)
    cols.extend(items)
    return cols.frame()


def _rate(df: Any) -> Any:
    p = df["processed"].astype("float64")
    return (df["failed"].astype("float64") / p.where(p > 0)).fillna(0.0)


# ---- frames over an Inspector ----
def queues_frame(insp: Inspector) -> pd.DataFrame:
    """One row per queue (QueueInfo fields) plus today's failure_rate."""
    df = to_frame(insp.queue_infos(), QueueInfo)
    df["failure_rate"] = _rate(df)
    return df


def tasks_frame(insp: Inspector, queue: str, state: TaskState | str | None = None, *,
                batch_size: int = 2000, progress: Progress | None = None) -> pd.DataFrame:
    """Every task of a queue (of one state, or of all states when None), streamed in batches.

    `progress(n)` is called after each batch with the number of tasks read in it.
    """
    states = [state] if state is not None else list(TaskState)
    cols = _Columns(TaskInfo)
    for st in states:
        for batch in insp.iter_tasks(queue, st, batch_size=batch_size):
            cols.extend(batch)
            if progress is not None:
                progress(len(batch))
    return cols.frame()


def history_frame(insp: Inspector, queue: str | None = None, days: int = 30) -> pd.DataFrame:
    """Daily processed/failed per queue (oldest day first) with failure_rate."""
    rows: list[DailyStats] = []
    for q in [queue] if queue else insp.queues():
        rows.extend(reversed(insp.history(q, days=days)))
    df = to_frame(rows, DailyStats)
    df["failure_rate"] = _rate(df)
    return df


def events_frame(insp: Inspector, queue: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, *, limit: int | None = None,
                 progress: Progress | None = None) -> pd.DataFrame:
    """The task events stream (one row per event, oldest first)."""
    if limit is not None:
        return to_frame(insp.events(queue, since=since, until=until, limit=limit), TaskEvent)
    cols = _Columns(TaskEvent)
    for batch in insp.iter_events(queue, since=since, until=until):
        cols.extend(batch)
        if progress is not None:
            progress(len(batch))
    df = cols.frame()
    if queue is None and len(df):
        df = df.sort_values("time", kind="stable").reset_index(drop=True)
    return df


def throughput_frame(insp: Inspector, queue: str | None = None, freq: str = "1min",
                     window: timedelta = timedelta(hours=1), *, until: datetime | None = None,
                     by_queue: bool = False) -> pd.DataFrame:
    """Processed, failed and failure_rate per `freq` bucket over the last `window`.

    Summed over every queue unless `queue` is given or `by_queue=True` (then a queue column).
    Columns: time (bucket start, UTC), [queue], processed, failed, failure_rate.
    """
    pd = _pd()
    until = until or datetime.now(_UTC)
    points = insp.throughput(queue, since=until - window, until=until)
    df = to_frame(points, ThroughputPoint)
    keys = ["queue"] if by_queue else []
    if df.empty:
        out = df[["time", *keys, "processed", "failed"]].copy()
    else:
        grouped = df.groupby([*keys, pd.Grouper(key="time", freq=freq)], observed=True)
        out = grouped[["processed", "failed"]].sum().reset_index()
        out = out[["time", *keys, "processed", "failed"]].sort_values(["time", *keys], kind="stable")
        out = out.reset_index(drop=True)
    out["processed"] = out["processed"].astype("int64")
    out["failed"] = out["failed"].astype("int64")
    out["failure_rate"] = _rate(out)
    return out


def servers_frame(insp: Inspector) -> pd.DataFrame:
    """One row per live server, with its number of active workers."""
    servers = insp.servers()
    df = to_frame(servers, ServerInfo)
    df["active_worker_count"] = _pd().Series([len(s.active_workers) for s in servers], dtype="int64")
    return df


def scheduler_frame(insp: Inspector) -> pd.DataFrame:
    """One row per registered scheduler entry."""
    return to_frame(insp.scheduler_entries(), SchedulerEntry)


# ---- files ----
def _plain(v: Any) -> Any:
    """A value a CSV/JSON/Parquet column can hold: nested values and bytes become JSON text."""
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, (bytes, bytearray)):
        if isinstance(decode_payload(bytes(v)), (bytes, bytearray)):
            return base64_text(bytes(v))
        return bytes(v).decode("utf-8")
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        v = dataclasses.asdict(v)
    if isinstance(v, tuple):
        v = list(v)
    return json.dumps(v, ensure_ascii=False, default=str)


def write_frame(df: pd.DataFrame, path: str | IO[Any], fmt: str) -> None:
    """Write a frame as csv, parquet or json (records, ISO dates); object columns become text."""
    if fmt not in FORMATS:
        raise ConfigurationError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    out = df.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(_plain).astype("string")
    if fmt == "csv":
        out.to_csv(path, index=False)
    elif fmt == "json":
        out.to_json(path, orient="records", date_format="iso", date_unit="ms", indent=None, lines=False)
    else:
        try:
            out.to_parquet(path, index=False)
        except ImportError as exc:
            raise MissingDependencyError("parquet export needs pyarrow: pip install dmq_tools[pandas]") from exc
