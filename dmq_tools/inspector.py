"""`Inspector`: asynq's Inspector surface over the storage layer, returning frozen models only.

Queues, tasks by state with asynq's pagination (page 1 = next to run), admin operations with
asynq's errors, servers, scheduler entries, plus dmq's history: the per-queue events stream and
per-minute throughput counters.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from . import limits
from .errors import ConfigurationError
from .models import (
    ActiveAlert,
    DailyStats,
    GroupInfo,
    QueueInfo,
    QueueList,
    RecordList,
    SchedulerEnqueueEvent,
    SchedulerEntry,
    ServerInfo,
    TaskEvent,
    TaskInfo,
    TaskList,
    TaskState,
    ThroughputPoint,
    WorkerInfo,
)
from .rdb import RDB, open_rdb
from .task import encode_payload
from .rdb.inspect import QueueStats, ServerRecord
from .rdb.inspect_history import EventRecord
from .rdb.inspect_tasks import TaskRow
from .clock import utc as _UTC

__all__ = ["Inspector"]



@functools.lru_cache(maxsize=4096)
def _dt(seconds: float) -> datetime | None:
    # cached: a listing repeats the same times (every pending task's "now", shared deadlines)
    return datetime.fromtimestamp(seconds, _UTC) if seconds else None


@functools.lru_cache(maxsize=1024)
def _td(seconds: int) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds else None


_STATES = {s.value: s for s in TaskState}


def _state(state: TaskState | str) -> str:
    value = state.value if isinstance(state, TaskState) else str(state).lower()
    try:
        return TaskState(value).value
    except ValueError:
        raise ConfigurationError(
            f"unknown task state {state!r}; expected one of {', '.join(s.value for s in TaskState)}"
        ) from None


def _task_info(q: str, row: TaskRow) -> TaskInfo:
    m = row.message
    # positional, in TaskInfo's field order: this runs once per task in exports of 100k+ tasks
    return TaskInfo(
        m.id, m.queue or q, m.type, m.payload, _STATES[row.state], m.retry, m.retried, m.error_msg,
        _dt(m.last_failed_at) if m.last_failed_at else None, _td(m.timeout) if m.timeout else None,
        _dt(m.deadline) if m.deadline else None, m.group_key,
        _dt(row.next_process_at) if row.next_process_at else None, row.orphaned,
        _td(m.retention) if m.retention else None, _dt(m.completed_at) if m.completed_at else None,
        row.result, m.headers,
    )


def _queue_info(s: QueueStats) -> QueueInfo:
    return QueueInfo(
        queue=s.queue, memory_usage=s.memory_usage, latency=timedelta(seconds=s.latency_s),
        size=s.size, groups=s.groups, pending=s.pending, active=s.active, scheduled=s.scheduled,
        retry=s.retry, archived=s.archived, completed=s.completed, aggregating=s.aggregating,
        processed=s.processed, failed=s.failed, processed_total=s.processed_total,
        failed_total=s.failed_total, paused=s.paused, timestamp=_dt(s.timestamp),
        memory_usage_extra=s.memory_usage_extra,
    )


def _server_info(s: ServerRecord) -> ServerInfo:
    workers = tuple(
        WorkerInfo(task_id=w.task_id, task_type=w.task_type, task_payload=w.task_payload, queue=w.queue,
                   started=w.started, deadline=w.deadline, server_id=w.server_id, host=w.host, pid=w.pid)
        for w in sorted(s.workers, key=lambda w: (w.started or datetime.min.replace(tzinfo=_UTC), w.task_id))
    )
    return ServerInfo(id=s.server_id, host=s.host, pid=s.pid, concurrency=s.concurrency,
                      queues=dict(s.queues), strict_priority=s.strict_priority, started=s.started,
                      status=s.status, active_workers=workers)


def _event(r: EventRecord) -> TaskEvent:
    f = r.fields
    duration = None
    if f.get("d"):
        try:
            duration = timedelta(milliseconds=float(f["d"]))
        except ValueError:
            duration = None
    return TaskEvent(time=datetime.fromtimestamp(r.ms / 1000, _UTC), queue=r.queue, event=f.get("e", ""),
                     task_id=f.get("id", ""), type=f.get("t", ""), duration=duration,
                     worker=f.get("w", ""), error=f.get("err", ""))


def _ms(when: datetime | None, option: str = "since/until") -> int | None:
    if when is None:
        return None
    if not isinstance(when, datetime):
        raise ConfigurationError(f"{option} must be a datetime, got {when!r:.80}")
    if when.tzinfo is None:
        raise ConfigurationError("pass timezone-aware datetimes (UTC)")
    return int(when.timestamp() * 1000)


def _q(queue: Any) -> str:
    """A queue argument: a non-blank str (limits.name), else ConfigurationError."""
    return limits.name(queue, "queue")


def _id(task_id: Any) -> str:
    return limits.name(task_id, "task_id")


def _group(group: Any) -> str | None:
    return None if group is None else limits.name(group, "group")


class Inspector:
    """Read and administer queues. `Inspector(r)` accepts a redis.Redis, a URL, or nothing."""

    def __init__(self, redis: Any = None, *, rdb: RDB | None = None) -> None:
        self._rdb, self._owned = open_rdb(redis, rdb=rdb)

    @property
    def rdb(self) -> RDB:
        return self._rdb

    def close(self) -> None:
        if self._owned:
            self._rdb.close()

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- queues ----
    def queues(self) -> list[str]:
        """Registered queue names, sorted."""
        return self._rdb.all_queues()

    def get_queue_info(self, queue: str) -> QueueInfo:
        """Counts by state, today's and total processed/failed, latency, memory, paused."""
        return _queue_info(self._rdb.current_stats(_q(queue)))

    def queue_infos(self) -> QueueList:
        """QueueInfo of every queue (a list that renders as a table in notebooks)."""
        return QueueList(self.get_queue_info(q) for q in self.queues())

    def history(self, queue: str, days: int = 7) -> list[DailyStats]:
        """Processed/failed per UTC day, today first (asynq History); 1 <= days <= 365."""
        days = limits.positive_int(days, "days", limits.MAX_HISTORY_DAYS)
        self._rdb.check_queue(_q(queue))
        return RecordList(DailyStats(queue=queue, date=date.fromisoformat(d), processed=p, failed=f)
                          for d, p, f in self._rdb.historical_stats(queue, days))

    def groups(self, queue: str) -> list[GroupInfo]:
        return RecordList(GroupInfo(group=g, size=n) for g, n in self._rdb.group_stats(_q(queue)))

    def pause_queue(self, queue: str) -> None:
        """Stop workers dequeuing from `queue` (QueuePausedStateError if already paused)."""
        self._rdb.pause(_q(queue))

    def unpause_queue(self, queue: str) -> None:
        self._rdb.unpause(_q(queue))

    def remove_queue(self, queue: str, force: bool = False) -> None:
        """QueueNotEmptyError unless empty (or force=True and nothing is active)."""
        self._rdb.remove_queue(_q(queue), force=bool(force))

    # ---- tasks ----
    def list_tasks(self, queue: str, state: TaskState | str, page: int = 1, page_size: int = 30,
                   group: str | None = None) -> list[TaskInfo]:
        """One page of a state; page 1 holds the next tasks to run (asynq's order).
        1 <= page_size <= 100000; page >= 1."""
        page, page_size = limits.page(page, page_size)
        queue, group, st = _q(queue), _group(group), _state(state)
        if st == TaskState.AGGREGATING.value and not group:
            raise ConfigurationError("listing aggregating tasks needs group=")
        rows, _ = self._rdb.list_tasks(queue, st, page - 1, page_size, group)
        return TaskList(_task_info(queue, r) for r in rows)

    def iter_tasks(self, queue: str, state: TaskState | str, batch_size: int = 2000,
                   group: str | None = None) -> Iterator[list[TaskInfo]]:
        """Every task of a state in batches (one round trip each), for exports."""
        batch_size = limits.positive_int(batch_size, "batch_size", limits.MAX_PAGE_SIZE)
        queue, group, st = _q(queue), _group(group), _state(state)
        if st == TaskState.AGGREGATING.value and group is None:
            for g in self.groups(queue):
                yield from self.iter_tasks(queue, st, batch_size, g.group)
            return
        for rows in self._rdb.iter_tasks(queue, st, batch_size, group):
            yield [_task_info(queue, r) for r in rows]

    def count_tasks(self, queue: str, state: TaskState | str, group: str | None = None) -> int:
        queue, group, st = _q(queue), _group(group), _state(state)
        if st == TaskState.AGGREGATING.value and group is None:
            return sum(g.size for g in self.groups(queue))
        return self._rdb.count_tasks(queue, st, group)

    def get_task_info(self, queue: str, task_id: str) -> TaskInfo:
        return _task_info(queue, self._rdb.get_task(_q(queue), _id(task_id)))

    def run_task(self, queue: str, task_id: str) -> None:
        """Move a scheduled/retry/archived/completed/aggregating task to pending."""
        self._rdb.run_task(_q(queue), _id(task_id))

    def archive_task(self, queue: str, task_id: str) -> None:
        self._rdb.archive_task(_q(queue), _id(task_id))

    def delete_task(self, queue: str, task_id: str) -> None:
        self._rdb.delete_task(_q(queue), _id(task_id))

    def run_all(self, queue: str, state: TaskState | str, group: str | None = None) -> int:
        return self._bulk(self._rdb.run_all, queue, state, group)

    def archive_all(self, queue: str, state: TaskState | str, group: str | None = None) -> int:
        return self._bulk(self._rdb.archive_all, queue, state, group)

    def delete_all(self, queue: str, state: TaskState | str, group: str | None = None) -> int:
        return self._bulk(self._rdb.delete_all, queue, state, group)

    def _bulk(self, op: Any, queue: str, state: TaskState | str, group: str | None) -> int:
        queue, group, st = _q(queue), _group(group), _state(state)
        try:
            if st == TaskState.AGGREGATING.value and group is None:
                self._rdb.check_queue(queue)
                return sum(op(queue, st, g) for g, _ in self._rdb.group_stats(queue))
            return int(op(queue, st, group))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    def cancel_processing(self, task_id: str) -> None:
        """Ask every worker to cancel the active task `task_id` (asynq:cancel pub/sub)."""
        self._rdb.publish_cancellation(_id(task_id))

    def update_task_payload(self, queue: str, task_id: str, payload: Any) -> TaskInfo:
        """Replace a scheduled task's payload (dict/list -> JSON, str -> UTF-8, bytes as is)."""
        row = self._rdb.update_task_payload(_q(queue), _id(task_id), encode_payload(payload))
        return _task_info(queue, row)

    # ---- servers, scheduler, redis ----
    def servers(self) -> list[ServerInfo]:
        """Live servers, each with its active workers."""
        return RecordList(_server_info(s) for s in self._rdb.list_servers())

    def scheduler_entries(self) -> list[SchedulerEntry]:
        out = [SchedulerEntry(id=e.id, spec=e.spec, task_type=e.task_type, task_payload=e.task_payload,
                              opts=tuple(e.enqueue_options), next_enqueue_at=e.next_enqueue_at,
                              prev_enqueue_at=e.prev_enqueue_at)
               for e in self._rdb.list_scheduler_entries()]
        out.sort(key=lambda e: (e.next_enqueue_at or datetime.max.replace(tzinfo=_UTC), e.id))
        return RecordList(out)

    def active_alerts(self) -> list[ActiveAlert]:
        """Alerts firing now (written by any `dmq alerts` evaluator on this Redis), oldest first."""
        from .rdb.ops import alert_states

        def when(text: str | None) -> datetime | None:
            try:
                return datetime.fromtimestamp(float(text) / 1000, _UTC) if text else None
            except ValueError:
                return None

        out = [ActiveAlert(name, f.get("state", ""), when(f.get("fired_at")), f.get("value", ""),
                           f.get("message", ""))
               for name, f in alert_states(self._rdb).items() if f.get("state") == "firing"]
        out.sort(key=lambda a: (a.fired_at or datetime.max.replace(tzinfo=_UTC), a.alert))
        return out

    def scheduler_entry_owners(self) -> list[tuple[str, SchedulerEntry]]:
        """(owning scheduler id "host:pid:uuid", entry) pairs: the same entry registered by two
        kernels appears once per owner."""
        from .rdb.scheduler_owners import scheduler_entries_by_owner

        out = [(owner, SchedulerEntry(id=e.id, spec=e.spec, task_type=e.task_type, task_payload=e.task_payload,
                                      opts=tuple(e.enqueue_options), next_enqueue_at=e.next_enqueue_at,
                                      prev_enqueue_at=e.prev_enqueue_at))
               for owner, e in scheduler_entries_by_owner(self._rdb.client)]
        out.sort(key=lambda p: (p[1].next_enqueue_at or datetime.max.replace(tzinfo=_UTC), p[1].id, p[0]))
        return out

    def scheduler_history(self, entry_id: str, page: int = 1, page_size: int = 30) -> list[SchedulerEnqueueEvent]:
        """Enqueue events of a scheduler entry, newest first."""
        limits.name(entry_id, "entry_id")
        page, page_size = limits.page(page, page_size)
        start = (page - 1) * page_size
        rows = self._rdb.list_scheduler_history(entry_id, start, start + page_size - 1)
        return RecordList(SchedulerEnqueueEvent(task_id=r.task_id, enqueued_at=r.enqueued_at)
                          for r in rows if r.enqueued_at is not None)

    def redis_info(self) -> dict[str, str]:
        """Redis INFO as string pairs (asynq returns the same map)."""
        return self._rdb.redis_info()

    # ---- dmq history: events and throughput ----
    def iter_events(self, queue: str | None = None, since: datetime | None = None,
                    until: datetime | None = None, batch_size: int = 5000) -> Iterator[list[TaskEvent]]:
        """Events oldest first, in batches; every queue (one after the other) when queue is None."""
        batch_size = limits.positive_int(batch_size, "batch_size", limits.MAX_PAGE_SIZE)
        lo, hi = _ms(since, "since"), _ms(until, "until")
        for q in ([_q(queue)] if queue is not None else self.queues()):
            for rows in self._rdb.iter_events(q, lo, hi, batch_size):
                yield [_event(r) for r in rows]

    def events(self, queue: str | None = None, since: datetime | None = None,
               until: datetime | None = None, limit: int | None = None) -> list[TaskEvent]:
        """Task events in [since, until], oldest first; with `limit`, only the newest `limit`."""
        if limit is not None and limit != 0:
            limit = limits.positive_int(limit, "limit", limits.MAX_PAGE_SIZE * 10)
        _ms(since, "since"), _ms(until, "until")
        if queue is not None:
            self._rdb.check_queue(_q(queue))
        queues = [queue] if queue else self.queues()
        out: list[TaskEvent] = []
        for q in queues:
            if limit is not None:
                out.extend(_event(r) for r in self._rdb.latest_events(q, limit, _ms(since), _ms(until)))
            else:
                for rows in self._rdb.iter_events(q, _ms(since), _ms(until)):
                    out.extend(_event(r) for r in rows)
        out.sort(key=lambda e: e.time)
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return RecordList(out)

    def throughput(self, queue: str | None = None, since: datetime | None = None,
                   until: datetime | None = None) -> list[ThroughputPoint]:
        """Processed/failed per minute and queue over [since, until] (default: the last hour),
        one point for every minute, zeros included."""
        until = self._rdb.clock.now() if until is None else until
        _ms(until, "until")
        since = until - timedelta(hours=1) if since is None else since
        _ms(since, "since")
        if until - since > timedelta(days=limits.MAX_HISTORY_DAYS):
            raise ConfigurationError(f"throughput spans at most {limits.MAX_HISTORY_DAYS} days "
                                     "(per-minute counters live 8 days)")
        if queue is not None:
            self._rdb.check_queue(_q(queue))
        first = int(since.timestamp() // 60) * 60
        last = int(until.timestamp() // 60) * 60
        out: list[ThroughputPoint] = []
        for q in ([queue] if queue else self.queues()):
            counts = self._rdb.minute_counters(q, since.timestamp(), until.timestamp())
            for t in range(first, last + 1, 60):
                p, f = counts.get(t, (0, 0))
                out.append(ThroughputPoint(time=datetime.fromtimestamp(t, _UTC), queue=q, processed=p, failed=f))
        return RecordList(out)
