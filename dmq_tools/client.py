"""`Client`: enqueue tasks with asynq's options, defaults, encodings and time units."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from collections.abc import Iterable, Iterator

from . import limits
from ._group_commit import ALONE, GroupCommit
from ._ids import new_task_id as _new_task_id
from ._ids import top_up_ids as _top_up_ids
from .errors import (
    ConfigurationError,
    DuplicateTaskError,
    InvalidTaskError,
    ReplicationTimeoutError,
    TaskIDConflictError,
)
from .models import TaskInfo, TaskState, enqueued_task_info
from .rdb import RDB, EnqueueRequest, TaskMessage, open_rdb
from .rdb.producer import CONFLICT, DUPLICATE, PlainTasks, raise_for_code
from .task import EMPTY_OPTIONS, Task, TaskOptions
from .clock import utc as _UTC

__all__ = ["Client", "DEFAULT_MAX_RETRY", "DEFAULT_TIMEOUT", "DEFAULT_QUEUE", "check_enqueue_options"]

DEFAULT_MAX_RETRY = 25
DEFAULT_TIMEOUT = timedelta(minutes=30)
DEFAULT_QUEUE = "default"
_DEFAULT_TIMEOUT_S = int(DEFAULT_TIMEOUT.total_seconds())
_DEFAULT_TIMEOUT = DEFAULT_TIMEOUT
#: enqueue_many sends tasks in chunks of this size down one connection (see write_task_chunks)
_CHUNK = 250
_LAST_CHUNK = 32


def _chunk_bounds(n: int) -> Iterator[tuple[int, int]]:
    """Chunks of _CHUNK, then halving ones: Redis runs chunk k while chunk k+1 is built, so
    only the last chunk's server time is left to wait for once every task is built; a small
    last chunk keeps that wait short (1000 -> 250, 250, 250, 125, 63, 31, 31)."""
    start = 0
    while n - start > 2 * _CHUNK:
        yield start, start + _CHUNK
        start += _CHUNK
    while n - start > _LAST_CHUNK:
        size = (n - start + 1) // 2
        yield start, start + size
        start += size
    if start < n:
        yield start, n


class Client:
    """Enqueues tasks. `Client(r)` accepts a redis.Redis, a URL, or nothing (then connect())."""

    def __init__(self, redis: Any = None, *, rdb: RDB | None = None, wait_replicas: int = 0,
                 wait_timeout: timedelta | float = timedelta(seconds=1)) -> None:
        """`wait_replicas=n`: after each enqueue, WAIT until n replicas hold it (Sentinel setups,
        docs/scaling.md); ReplicationTimeoutError when fewer did within `wait_timeout`."""
        if not isinstance(wait_replicas, int) or wait_replicas < 0:
            raise ConfigurationError("wait_replicas must be an int >= 0")
        seconds = wait_timeout.total_seconds() if isinstance(wait_timeout, timedelta) else float(wait_timeout)
        if seconds <= 0:
            raise ConfigurationError("wait_timeout must be positive")
        self._rdb, self._owned = open_rdb(redis, rdb=rdb)
        self._commit = GroupCommit(self._rdb)   # threads sharing this client share round trips
        self._wait = (wait_replicas, max(int(seconds * 1000), 1))

    def _replicated(self) -> None:
        """WAIT for `wait_replicas` replicas (see __init__); nothing when none are asked for."""
        want, timeout_ms = self._wait
        if want:
            got = self._rdb.wait_for_replicas(want, timeout_ms)
            if got < want:
                raise ReplicationTimeoutError(
                    f"the enqueue is on the master but only {got} of {want} replica(s) acknowledged it "
                    f"within {timeout_ms} ms")

    @property
    def rdb(self) -> RDB:
        return self._rdb

    # ---- public API (DESIGN.md §3) ----
    def enqueue(self, task: Task, **options: Any) -> TaskInfo:
        """Enqueue `task` now (or at process_at / process_in); returns its TaskInfo."""
        if not options and type(task) is Task and task.options is EMPTY_OPTIONS and not task.headers:
            return self._enqueue_plain(task, _DEFAULT_PLAN)   # the common case, without the checks below
        if not isinstance(task, Task):
            raise InvalidTaskError(f"expected a dmq_tools.Task, got {type(task).__name__}")
        plan = _plan_for(task, TaskOptions.from_kwargs(options) if options else EMPTY_OPTIONS)
        if plan.plain and not task.headers:
            return self._enqueue_plain(task, plan)
        now = self._rdb.clock.now()
        req = _request(task, plan, now)
        # the TaskInfo is built while the write is on its way: off the pickup-latency path, and
        # free in wall time (the reply is read after it)
        pending = self._rdb.start_task(req)
        try:
            info = _info(req, plan, now)
        finally:
            pending.finish()
        self._replicated()
        return info

    def _enqueue_plain(self, task: Task, plan: _Plan) -> TaskInfo:
        """A task with a generated ID, pending right away, no unique lock, group or headers: the
        common case, written without the general request machinery."""
        task_id = _new_task_id()
        commit = self._commit
        code = commit.enter(plan, task_id, task.type, task.payload)
        if code is ALONE:
            rdb = self._rdb
            try:
                pending = rdb.start_plain_task(plan.queue, plan.max_retry, plan.timeout_s, plan.deadline_s,
                                               plan.retention_s, task.type, task_id, task.payload)
                try:   # built while the write is on its way (see enqueue), as are the next IDs
                    info = _plain_info(task_id, task, plan, rdb.clock.now())
                    _top_up_ids()
                finally:
                    pending.finish()
            finally:
                commit.leave()
            if self._wait[0]:
                self._replicated()
            return info
        if code != 1:
            if isinstance(code, Exception):
                raise code
            raise_for_code(code)
        self._replicated()
        return _plain_info(task_id, task, plan, self._rdb.clock.now())

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
        call_opts = TaskOptions.from_kwargs(options) if options else EMPTY_OPTIONS
        tasks = list(tasks)
        cache: dict[int, _Plan] = {}
        plans = []
        for i, t in enumerate(tasks):   # validate everything before anything is written
            try:
                if not isinstance(t, Task):
                    raise InvalidTaskError(f"expected a dmq_tools.Task, got {type(t).__name__}")
                plan = _plan_for(t, call_opts, cache)
                if t.headers:
                    _check_headers(t.headers)   # a Task's headers dict may have changed since
            except ConfigurationError as exc:
                raise _at_index(exc, i, t) from None
            plans.append(plan)
        now = self._rdb.clock.now()
        built: list[TaskInfo] = []

        def chunks() -> Iterator[list[EnqueueRequest | PlainTasks]]:
            # built while Redis runs the previous chunk
            for start, end in _chunk_bounds(len(tasks)):
                items: list[EnqueueRequest | PlainTasks] = []
                run: PlainTasks | None = None     # consecutive plain tasks sharing one plan
                run_plan: _Plan | None = None
                for t, plan in zip(tasks[start:end], plans[start:end]):
                    if plan.plain and not t.headers:
                        if plan is not run_plan or run is None:
                            run, run_plan = PlainTasks(plan.queue, plan.max_retry, plan.timeout_s, plan.deadline_s,
                                                       plan.retention_s), plan
                            items.append(run)
                        task_id = _new_task_id()
                        run.add(task_id, t.type, t.payload)
                        built.append(_plain_info(task_id, t, plan, now))
                    else:
                        run = None
                        req = _request(t, plan, now)
                        items.append(req)
                        built.append(_info(req, plan, now))
                yield items

        codes = self._rdb.write_task_chunks(chunks())
        infos = [info for info, code in zip(built, codes) if code == 1]
        self._replicated()
        if on_conflict == "raise":
            raise_first_conflict(codes, infos)
        return infos

    def close(self) -> None:
        if self._owned:
            self._rdb.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_enqueue_options(task: Task, options: dict[str, Any]) -> None:
    """Raise ConfigurationError if `task` enqueued with `options` would be refused (names,
    types and ranges): what Scheduler.register checks so a bad entry fails at once, not per tick."""
    if not isinstance(task, Task):
        raise InvalidTaskError(f"expected a dmq_tools.Task, got {type(task).__name__}")
    _resolve(task.options.merged(TaskOptions.from_kwargs(options) if options else EMPTY_OPTIONS))


def raise_first_conflict(codes: list[Any], enqueued: list[TaskInfo]) -> None:
    """enqueue_many(on_conflict="raise"): the error of the batch's first ID conflict or held
    unique lock, after the whole batch was written (`.enqueued` lists what went in)."""
    for code in codes:
        if code in (CONFLICT, DUPLICATE):
            err = TaskIDConflictError() if code == CONFLICT else DuplicateTaskError()
            err.enqueued = enqueued
            raise err


def _at_index(exc: ConfigurationError, index: int, task: object) -> ConfigurationError:
    """`exc` again, its message prefixed with the task's place in the batch (and kept as .index)."""
    what = f"task {index}" + (f" ({task.type!r})" if isinstance(task, Task) else "")
    err = type(exc)(f"{what}: {exc}") if type(exc) in (ConfigurationError, InvalidTaskError) \
        else ConfigurationError(f"{what}: {exc}")
    err.index = index  # type: ignore[attr-defined]
    return err


def _plain_info(task_id: str, task: Task, plan: _Plan, now: datetime) -> TaskInfo:
    """The TaskInfo of a plain task (see _Plan.plain) just written."""
    return enqueued_task_info(task_id, plan.queue, task.type, task.payload, TaskState.PENDING, plan.max_retry,
                              plan.timeout, plan.deadline, "", now, plan.retention, {})


# ---- option handling: asynq's defaults and units (shared by AsyncClient) ----
def _plan_for(task: Task, call_opts: TaskOptions, cache: dict[int, _Plan] | None = None) -> _Plan:
    """The resolved options of `task` under `call_opts`; tasks without options of their own
    share one plan (validated once), which is what keeps enqueue_many cheap per task."""
    if task.options is EMPTY_OPTIONS:
        if call_opts is EMPTY_OPTIONS:
            return _DEFAULT_PLAN
        if cache is None:
            return _resolve(call_opts)
        plan = cache.get(id(call_opts))
        if plan is None:
            plan = cache[id(call_opts)] = _resolve(call_opts)
        return plan
    return _resolve(task.options.merged(call_opts))


def _request(task: Task, plan: _Plan, now: datetime) -> EnqueueRequest:
    """The message and the write request of one task."""
    process_at = now if plan.process_at is None else plan.process_at
    if plan.process_in is not None:
        process_at = now + plan.process_in
    headers = {**task.headers, **plan.headers} if plan.headers else task.headers
    if headers:
        _check_headers(headers)
    task_id = _new_task_id() if plan.task_id is None else plan.task_id
    unique_key, unique_ttl = "", 0
    scheduled = process_at > now
    if plan.unique_s is not None:
        unique_key = RDB.unique_key(plan.queue, task.type, task.payload)
        if scheduled:
            unique_ttl = int((process_at + timedelta(seconds=plan.unique_s) - now).total_seconds())
        else:
            unique_ttl = int(plan.unique_s)
    msg = TaskMessage(
        type=task.type, payload=task.payload, id=task_id, queue=plan.queue, retry=plan.max_retry,
        timeout=plan.timeout_s, deadline=plan.deadline_s, unique_key=unique_key, group_key=plan.group,
        retention=plan.retention_s, headers=dict(headers),
    )
    if scheduled:
        return EnqueueRequest(msg, process_at=int(process_at.timestamp() // 1), unique_key=unique_key,
                              unique_ttl=unique_ttl)
    return EnqueueRequest(msg, unique_key=unique_key, unique_ttl=unique_ttl, group=plan.group)


def _info(req: EnqueueRequest, plan: _Plan, now: datetime) -> TaskInfo:
    """The TaskInfo asynq's Enqueue returns for a written request."""
    m = req.message
    if req.process_at:
        state = TaskState.SCHEDULED
        next_at = now + plan.process_in if plan.process_in is not None else plan.process_at
    elif req.group:
        state, next_at = TaskState.AGGREGATING, None
    else:
        state, next_at = TaskState.PENDING, now
    return enqueued_task_info(m.id, m.queue, m.type, m.payload, state, m.retry, plan.timeout, plan.deadline,
                              m.group_key, next_at, plan.retention, m.headers)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Enqueue options resolved to asynq's units and validated, shared by tasks with equal options."""

    queue: str
    max_retry: int
    task_id: str | None
    timeout_s: int
    deadline_s: int
    retention_s: int
    group: str
    process_at: datetime | None
    process_in: timedelta | None
    unique_s: float | None
    headers: dict[str, str]
    timeout: timedelta | None
    deadline: datetime | None
    retention: timedelta | None
    #: pending right away, generated ID, no unique lock, group or headers: enqueue_many's fast path
    plain: bool = False


def _check_headers(headers: dict[str, str]) -> None:
    limits.headers(headers)


def _resolve(o: TaskOptions) -> _Plan:
    """Validate options and convert them to asynq's units (defaults: queue "default",
    max_retry 25, timeout 30 min when neither timeout nor deadline is set). Every range is
    checked here, before anything is written (limits.py); only options given cost a check."""
    queue = DEFAULT_QUEUE if o.queue is None else limits.name(o.queue, "queue")
    max_retry = DEFAULT_MAX_RETRY if o.max_retry is None else limits.max_retry(o.max_retry)
    if o.task_id is not None:
        limits.name(o.task_id, "task_id")
    timeout = 0.0 if o.timeout is None else limits.seconds_in(o.timeout, "timeout")
    deadline = None if o.deadline is None else limits.when_within(o.deadline, "deadline", earliest_epoch=True)
    deadline_s = 0 if deadline is None else int(deadline.timestamp() // 1)
    # asynq: the 30 min default applies only when neither option is set; a sub-second
    # timeout counts as set and is then truncated to 0 (T8).
    timeout_s = int(timeout)
    if timeout == 0 and deadline_s == 0:
        timeout_s = _DEFAULT_TIMEOUT_S
    retention_s = 0 if o.retention is None else int(limits.seconds_in(o.retention, "retention"))
    group = o.group
    if group is not None:
        limits.name(group, "group")
    process_at = None if o.process_at is None else limits.when_within(o.process_at, "process_at")
    process_in = None
    if process_at is None and o.process_in is not None:
        process_in = timedelta(seconds=limits.seconds_in(o.process_in, "process_in", -limits.MAX_HORIZON_S,
                                                         "-100 years"))
    unique_s = None
    if o.unique is not None:
        unique_s = limits.seconds_in(o.unique, "unique", -math.inf, "1 s")
        if unique_s < 1:   # asynq's own message
            raise ConfigurationError("Unique TTL cannot be less than 1s")
    headers = {} if o.headers is None else limits.headers(o.headers)
    return _Plan(
        queue=queue, max_retry=max_retry, task_id=o.task_id, timeout_s=timeout_s, deadline_s=deadline_s,
        retention_s=retention_s, group=group or "", process_at=process_at, process_in=process_in,
        unique_s=unique_s, headers=headers,
        timeout=(_DEFAULT_TIMEOUT if timeout_s == _DEFAULT_TIMEOUT_S else timedelta(seconds=timeout_s))
        if timeout_s else None,
        deadline=datetime.fromtimestamp(deadline_s, _UTC) if deadline_s else None,
        retention=timedelta(seconds=retention_s) if retention_s else None,
        plain=(process_at is None and process_in is None and unique_s is None and not group
               and o.task_id is None and not headers),
    )


_DEFAULT_PLAN = _resolve(EMPTY_OPTIONS)
