"""Built-in task: the guide's custom-task example, `data:export`, made useful.

`new_data_export_task(user_id, format)` asks a worker to write a user's data as CSV or Parquet
under the media root (`exports/user-<id>-<source>-<time>.<ext>`); the result names the file.
What "a user's data" is belongs to the application: pass `source=` to `register` (a function of
the user id and the payload returning a pandas DataFrame or a list of dicts). Without one, the
handler exports from dmq itself: a queue's `tasks` (default), `history` or `events`, chosen by
the payload's `source` and `queue` fields.

    from dmq_tools.tasks import new_data_export_task
    client.enqueue(new_data_export_task(42, "csv"))                       # default queue's tasks
    client.enqueue(new_data_export_task(42, "parquet", source="history", queue="critical"))
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from typing import Any
from collections.abc import Callable

from ..config import Settings, load_settings
from ..errors import SkipRetry
from ..task import Task
from ._media import MediaRoot
from ._payload import payload_object, require_int, require_str

__all__ = ["TYPE_DATA_EXPORT", "FORMATS", "SOURCES", "new_data_export_task", "handle_data_export",
           "make_handler", "register", "Source"]

TYPE_DATA_EXPORT = "data:export"
FORMATS = ("csv", "parquet")
SOURCES = ("tasks", "history", "events")
#: Largest user id (the guide's Go int); larger values are refused.
MAX_USER_ID = 2**63 - 1
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")

#: An application's exporter: (user_id, payload) -> a DataFrame or a list of dict rows.
Source = Callable[[int, dict[str, Any]], Any]


def new_data_export_task(user_id: int, format: str, *, source: str | None = None, queue: str | None = None,
                         **options: Any) -> Task:
    """The guide's NewDataExportTask; `source`/`queue` choose what the default exporter writes."""
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 <= user_id <= MAX_USER_ID:
        raise ValueError(f"user_id must be a non-negative integer, got {user_id!r}")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    payload: dict[str, Any] = {"user_id": user_id, "format": format}
    if source is not None:
        payload["source"] = source
    if queue is not None:
        payload["queue"] = queue
    return Task(TYPE_DATA_EXPORT, payload, **options)


def _default_source(user_id: int, data: dict[str, Any]) -> Any:
    """A queue's tasks, history or events from dmq itself (the Inspector, as DataFrames)."""
    from .. import export
    from ..inspector import Inspector

    what = require_str(data, "source", default="tasks")
    if what not in SOURCES:
        raise SkipRetry(f"invalid data:export payload: source must be one of {', '.join(SOURCES)}, got {what!r}")
    queue = require_str(data, "queue", default="default", max_len=200)
    if not _QUEUE_NAME.fullmatch(queue):
        raise SkipRetry(f"invalid data:export payload: bad queue name {queue[:80]!r}")
    with Inspector() as insp:
        if what == "tasks":
            return export.tasks_frame(insp, queue)
        if what == "history":
            return export.history_frame(insp, queue)
        return export.events_frame(insp, queue)


def _frame(rows: Any) -> Any:
    """A DataFrame as is; rows (dicts) made into one (pandas comes through dmq_tools.export)."""
    from ..errors import MissingDependencyError
    from ..export import _pd

    try:
        pd = _pd()
    except MissingDependencyError as exc:
        raise SkipRetry(str(exc)) from None
    return rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))


def handle_data_export(task: Task, settings: Settings | None = None, source: Source | None = None) -> dict[str, Any]:
    """Write the export under the media root; the result points to it."""
    from ..export import write_frame

    s = settings or load_settings()
    data = payload_object(task, "data:export")
    user_id = require_int(data, "user_id", 0, MAX_USER_ID)
    fmt = require_str(data, "format")
    if fmt not in FORMATS:
        raise SkipRetry(f"invalid data:export payload: unknown format {fmt[:40]!r}; expected one of "
                        f"{', '.join(FORMATS)}")
    what = data.get("source", "tasks") if source is None else "app"
    df = _frame((source or _default_source)(user_id, data))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"exports/user-{user_id}-{what}-{stamp}.{fmt}"
    buf = io.BytesIO() if fmt == "parquet" else io.StringIO()
    write_frame(df, buf, fmt)
    raw = buf.getvalue()
    media = MediaRoot(s.media_root)
    with media.open_write(name, "export file") as fh:
        fh.write(raw.encode("utf-8") if isinstance(raw, str) else raw)
    return {"user_id": user_id, "format": fmt, "source": what, "file": name,
            "path": str(media.path_of(name)), "rows": int(len(df))}


def make_handler(settings: Settings | None = None, source: Source | None = None) -> Callable[[Task], dict[str, Any]]:
    return lambda task: handle_data_export(task, settings, source)


def register(mux: Any, settings: Settings | None = None, source: Source | None = None) -> None:
    """Route `data:export` on a ServeMux; `source` is the application's exporter (default: dmq's data)."""
    mux.handle(TYPE_DATA_EXPORT, make_handler(settings, source))
