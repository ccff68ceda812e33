"""`Client`: enqueue tasks with asynq's options, defaults, encodings and time units."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from .errors import ConfigurationError, DuplicateTaskError, InvalidTaskError, TaskIDConflictError
from .models import TaskInfo, TaskState
from .rdb import RDB, EnqueueRequest, TaskMessage, resolve
from .rdb.producer import CONFLICT, DUPLICATE
from .task import Task, TaskOptions

__all__ = ["Client", "DEFAULT_MAX_RETRY", "DEFAULT_TIMEOUT", "DEFAULT_QUEUE"]

DEFAULT_MAX_RETRY = 25
DEFAULT_TIMEOUT = timedelta(minutes=30)
DEFAULT_QUEUE = "default"
_DEFAULT_TIMEOUT_S = int(DEFAULT_TIMEOUT.total_seconds())
_DEFAULT_TIMEOUT = DEFAULT_TIMEOUT
_UTC = timezone.utc


def _seconds(value: timedelta | float | int, name: str) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ConfigurationError(f"{name} must be a timedelta or a number of seconds, got {value!r}")


def _new_task_id() -> str:
    """A random UUID v4 string, as Go's uuid.NewString(); ~4x cheaper than str(uuid.uuid4())."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _aware(when: datetime, name: str) -> datetime:
    if not isinstance(when, datetime):
        raise ConfigurationError(f"{name} must be a datetime, got {when!r}")
    if when.tzinfo is None:
        raise ConfigurationError(f"{name} must be timezone-aware (use datetime.now(timezone.utc))")
    return when


class Client:
    """Enqueues tasks. `Client(r)` accepts a redis.Redis, a URL, or nothing (then connect())."""

    def __init__(self, redis: Any = None, *, rdb: RDB | None = None) -> None:
        if rdb is not None:
            self._rdb, self._owned = rdb, False
        else:
            client, self._owned = resolve(redis)
            self._rdb = RDB(client)

    @property
    def rdb(self) -> RDB:
        return self._rdb

    # ---- public API (DESIGN.md §3) ----
    def enqueue(self, task: Task, **options: Any) -> TaskInfo:
        """Enqueue `task` now (or at process_at / process_in); returns its TaskInfo."""
        req, info = self._prepare(task, TaskOptions.from_kwargs(options))
        self._rdb.write_task(req)
        return info

    def enqueue_in(self, task: Task, delay: timedelta | float, **options: Any) -> TaskInfo:
        return self.enqueue(task, **{**options, "process_in": delay, "process_at": None})

    def enqueue_at(self, task: Task, when: datetime, **options: Any) -> TaskInfo:
        return self.enqueue(task, **{**options, "process_at": when, "process_in": None})

    def enqueue_many(self, tasks: Iterable[Task], *, on_conflict: str = "skip", **options: Any) -> list[TaskInfo]:
        """Enqueue many tasks in one pipelined round trip.

        Tasks whose ID already exists (or whose unique lock is held) are skipped and left out of
        the returned list, as asynq's BatchEnqueue does; `on_conflict="raise"` raises the first
        such error after the whole batch was written (its `.enqueued` lists what went in).
        """
        if on_conflict not in ("skip", "raise"):
            raise ConfigurationError("on_conflict must be 'skip' or 'raise'")
        call_opts = TaskOptions.from_kwargs(options)
        prepared = [self._prepare(t, call_opts) for t in tasks]
        codes = self._rdb.write_tasks([req for req, _ in prepared])
        infos = [info for (_, info), code in zip(prepared, codes) if code == 1]
        if on_conflict == "raise":
            for code in codes:
                if code in (CONFLICT, DUPLICATE):
                    err = TaskIDConflictError() if code == CONFLICT else DuplicateTaskError()
                    err.enqueued = infos  # type: ignore[attr-defined]
                    raise err
        return infos

    def close(self) -> None:
        if self._owned:
            self._rdb.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- option handling: asynq's defaults and units ----
    def _prepare(self, task: Task, call_opts: TaskOptions) -> tuple[EnqueueRequest, TaskInfo]:
        if not isinstance(task, Task):
            raise InvalidTaskError(f"expected a dmq_tools.Task, got {type(task).__name__}")
        o = task.options.merged(call_opts)
        queue = DEFAULT_QUEUE if o.queue is None else o.queue
        if not isinstance(queue, str) or not queue.strip():
            raise ConfigurationError("queue name cannot be blank")
        max_retry = DEFAULT_MAX_RETRY if o.max_retry is None else max(int(o.max_retry), 0)
        task_id = _new_task_id() if o.task_id is None else o.task_id
        if not isinstance(task_id, str) or not task_id.strip():
            raise ConfigurationError(f"task ID must be a non-blank string, got {task_id!r}")
        timeout = 0.0 if o.timeout is None else _seconds(o.timeout, "timeout")
        if timeout < 0:
            raise ConfigurationError("timeout cannot be negative")
        deadline = None if o.deadline is None else _aware(o.deadline, "deadline")
        deadline_s = 0 if deadline is None else int(deadline.timestamp() // 1)
        # asynq: the 30 min default applies only when neither option is set; a sub-second
        # timeout counts as set and is then truncated to 0 (T8).
        timeout_s = int(timeout)
        if timeout == 0 and deadline_s == 0:
            timeout_s = _DEFAULT_TIMEOUT_S
        retention_s = 0 if o.retention is None else int(_seconds(o.retention, "retention"))
        if retention_s < 0:
            raise ConfigurationError("retention cannot be negative")
        group = o.group
        if group is not None and (not isinstance(group, str) or not group.strip()):
            raise ConfigurationError("group name cannot be blank")
        now = self._rdb.clock.now()
        process_at = now
        if o.process_at is not None:
            process_at = _aware(o.process_at, "process_at")
        elif o.process_in is not None:
            process_at = now + timedelta(seconds=_seconds(o.process_in, "process_in"))
        headers = {**task.headers, **o.headers} if o.headers else dict(task.headers)
        if headers:
            for k, v in headers.items():
                if not isinstance(k, str) or not isinstance(v, str):
                    raise ConfigurationError(f"header names and values must be str, got {k!r}: {v!r}")
        unique_key, unique_ttl = "", 0
        scheduled = process_at > now
        if o.unique is not None:
            ttl = _seconds(o.unique, "unique")
            if ttl < 1:
                raise ConfigurationError("Unique TTL cannot be less than 1s")
            unique_key = self._rdb.unique_key(queue, task.type, task.payload)
            if scheduled:
                unique_ttl = int((process_at + timedelta(seconds=ttl) - now).total_seconds())
            else:
                unique_ttl = int(ttl)
        msg = TaskMessage(
            type=task.type,
            payload=task.payload,
            id=task_id,
            queue=queue,
            retry=max_retry,
            timeout=timeout_s,
            deadline=deadline_s,
            unique_key=unique_key,
            group_key=group or "",
            retention=retention_s,
            headers=headers,
        )
        if scheduled:
            req = EnqueueRequest(msg, process_at=int(process_at.timestamp() // 1), unique_key=unique_key,
                                 unique_ttl=unique_ttl)
            state, next_at = TaskState.SCHEDULED, process_at
        elif group:
            req = EnqueueRequest(msg, unique_key=unique_key, unique_ttl=unique_ttl, group=group)
            state, next_at = TaskState.AGGREGATING, None
        else:
            req = EnqueueRequest(msg, unique_key=unique_key, unique_ttl=unique_ttl)
            state, next_at = TaskState.PENDING, now
        info = TaskInfo(
            id=task_id,
            queue=queue,
            type=task.type,
            payload=task.payload,
            state=state,
            max_retry=max_retry,
            timeout=(_DEFAULT_TIMEOUT if timeout_s == _DEFAULT_TIMEOUT_S else timedelta(seconds=timeout_s))
            if timeout_s else None,
            deadline=datetime.fromtimestamp(deadline_s, _UTC) if deadline_s else None,
            group=group or "",
            next_process_at=next_at,
            retention=timedelta(seconds=retention_s) if retention_s else None,
            headers=headers,
        )
        return req, info
