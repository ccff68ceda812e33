"""`Scheduler`: cron entries -> `Client.enqueue`, visible to asynq's tools, firing once across replicas.

What asynq's CLI and asynqmon see (asynq-protocol.md §6.4, §9.1): the scheduler's entry list
(heartbeat every `heartbeat_interval`, TTL twice that) and each entry's enqueue history.

Beyond asynq:
* Entry IDs are deterministic (a UUID derived from spec, time zone, type, payload and options),
  so every replica shows the same ID, shares one history, and `register` is idempotent.
* Each tick is claimed with `SET NX` on (entry, fire time): N replicas enqueue it once.
* `@every` entries share an anchor in Redis, so replicas compute the same ticks.
* Missed ticks: ticks before `start()` never fire; if the loop stalls (paused kernel, Redis
  outage, suspended machine), only the most recent missed tick fires, and only if it is at most
  `misfire_grace` old. A scheduler never floods the queue with a backlog of ticks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from collections.abc import Callable

from .._lifecycle import Registry, run_until_signal
from ..client import Client, check_enqueue_options
from ..clock import Clock, SystemClock, to_unix
from ..errors import ConfigurationError
from ..models import SchedulerEntry, TaskInfo
from ..rdb import RDB, rdb_for, resolve
from ..rdb.scheduler_ops import SchedulerEntryRecord
from ..task import Task
from .cron import CronSchedule, EverySchedule, parse, resolve_tz, tz_name
from .gofmt import option_strings

__all__ = ["Scheduler", "entry_key", "running", "stop_all"]

log = logging.getLogger(__name__)

PreEnqueueHook = Callable[[Task, dict[str, Any]], None]
PostEnqueueHook = Callable[["TaskInfo | None", "Exception | None"], None]

_REGISTRY: Registry[Scheduler] = Registry("scheduler", alive=lambda s: s.running)
#: How long an `@every` anchor outlives the last scheduler that refreshed it.
_ANCHOR_TTL_S = 7 * 24 * 3600


def running() -> list[Scheduler]:
    """The schedulers started in this process and not stopped yet (notebooks: find ghosts)."""
    return _REGISTRY.running()


def stop_all() -> int:
    """Stop every running scheduler of this process; the number stopped."""
    return _REGISTRY.stop_all()


def entry_key(schedule: CronSchedule | EverySchedule, task: Task, opts: list[str]) -> str:
    """sha256 hex of spec, zone, type, payload and sorted option strings (asynq's PTM hash + zone)."""
    h = hashlib.sha256()
    h.update(schedule.spec.encode())
    if isinstance(schedule, CronSchedule):
        h.update(b"\x00" + tz_name(schedule.tz).encode())
    h.update(b"\x00" + task.type.encode())
    h.update(b"\x00" + (task.payload or b""))
    for o in sorted(opts):
        h.update(b"\x00" + o.encode())
    return h.hexdigest()


@dataclass
class _Entry:
    id: str
    key: str
    schedule: CronSchedule | EverySchedule
    task: Task
    options: dict[str, Any]
    opts: list[str]
    next_at: datetime
    prev_at: datetime | None = None


class Scheduler:
    """Enqueues tasks on cron schedules. `Scheduler(r)` takes a redis.Redis, a URL, a Client or nothing."""

    def __init__(
        self,
        redis: Any = None,
        *,
        tz: tzinfo | str | None = None,
        heartbeat_interval: timedelta = timedelta(seconds=10),
        misfire_grace: timedelta = timedelta(seconds=60),
        history_ttl: timedelta | None = timedelta(days=30),
        pre_enqueue: PreEnqueueHook | None = None,
        post_enqueue: PostEnqueueHook | None = None,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(redis, Client):
            self._client, self._owned = redis, False
        else:
            conn, self._owned = resolve(redis)
            self._client = Client(rdb=rdb_for(conn, clock=clock))
        self._rdb: RDB = self._client.rdb
        self.clock: Clock = clock or self._rdb.clock or SystemClock()
        self.tz = resolve_tz(tz)
        if heartbeat_interval.total_seconds() < 1:
            raise ConfigurationError("heartbeat_interval must be at least 1 second")
        self.heartbeat_interval = heartbeat_interval
        self.misfire_grace = misfire_grace
        self.history_ttl = history_ttl
        self.pre_enqueue = pre_enqueue
        self.post_enqueue = post_enqueue
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4()}"
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- entries ----
    def register(self, spec: str, task: Task, **enqueue_options: Any) -> str:
        """Add an entry; returns its ID. A bad spec raises CronSpecError naming the spec.

        Registering the same spec, task and options again returns the same ID (no duplicate).
        """
        entry_id, key, schedule, opts = self._build(spec, task, enqueue_options)
        with self._lock:
            if entry_id in self._entries:
                return entry_id
            if isinstance(schedule, EverySchedule):
                schedule = self._anchor(schedule, key)
            entry = _Entry(entry_id, key, schedule, task, dict(enqueue_options), opts,
                           next_at=schedule.next(self.clock.now()))
            self._entries[entry_id] = entry
        log.info("scheduler %s registered entry %s (%s, %s)", self.id, entry_id, spec, task.type)
        return entry_id

    def entry_id(self, spec: str, task: Task, **enqueue_options: Any) -> str:
        """The ID `register` would return, without registering (validates the same way)."""
        return self._build(spec, task, enqueue_options)[0]

    def _build(self, spec: str, task: Task, enqueue_options: dict[str, Any]
               ) -> tuple[str, str, CronSchedule | EverySchedule, list[str]]:
        if not isinstance(task, Task):
            raise ConfigurationError(f"expected a dmq_tools.Task, got {type(task).__name__}")
        schedule = parse(spec, self.tz)
        check_enqueue_options(task, enqueue_options)  # bad names and values fail here, not at fire time
        given = _task_options(task)
        given.update(enqueue_options)
        try:
            opts = option_strings(given)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigurationError(f"bad enqueue option for {spec!r}: {exc}") from exc
        key = entry_key(schedule, task, opts)
        return str(uuid.UUID(bytes=bytes.fromhex(key)[:16], version=5)), key, schedule, opts

    def unregister(self, entry_id: str) -> None:
        """Remove an entry; raises KeyError if the ID is unknown."""
        with self._lock:
            if entry_id not in self._entries:
                raise KeyError(f"no scheduler entry with id {entry_id!r}")
            del self._entries[entry_id]

    def entries(self) -> list[SchedulerEntry]:
        with self._lock:
            return [
                SchedulerEntry(id=e.id, spec=e.schedule.spec, task_type=e.task.type,
                               task_payload=e.task.payload, opts=tuple(e.opts),
                               next_enqueue_at=e.next_at, prev_enqueue_at=e.prev_at)
                for e in self._entries.values()
            ]

    def next_runs(self, n: int = 5) -> dict[str, list[datetime]]:
        """The next `n` fire times (UTC) of every entry, keyed by entry ID."""
        out: dict[str, list[datetime]] = {}
        with self._lock:
            for e in self._entries.values():
                times, t = [], e.next_at
                for _ in range(max(n, 0)):
                    times.append(t)
                    t = e.schedule.next(t)
                out[e.id] = times
        return out

    # ---- the loop ----
    def run_once(self) -> int:
        """Fire every due entry once; returns how many tasks this scheduler enqueued."""
        now = self.clock.now()
        fired = 0
        with self._lock:
            due = [e for e in self._entries.values() if e.next_at <= now]
        for e in due:
            tick = self._latest_tick(e, now)
            e.next_at = e.schedule.next(tick if tick is not None else now)
            if tick is None:
                log.warning("scheduler entry %s (%s) missed its ticks by more than %s; skipped",
                            e.id, e.schedule.spec, self.misfire_grace)
                continue
            if self._fire(e, tick, now):
                fired += 1
        return fired

    def heartbeat_once(self) -> None:
        """Write the entry list (asynq's writeSchedulerEntries) and refresh `@every` anchors."""
        ttl = int(self.heartbeat_interval.total_seconds() * 2)
        with self._lock:
            entries = list(self._entries.values())
        records = [SchedulerEntryRecord(e.id, e.schedule.spec, e.task.type, e.task.payload,
                                        list(e.opts), e.next_at, e.prev_at) for e in entries]
        self._rdb.write_scheduler_entries(self.id, records, ttl)
        for e in entries:
            if isinstance(e.schedule, EverySchedule):
                self._rdb.scheduler_anchor(e.key, to_unix(self.clock.now()), _ANCHOR_TTL_S)

    def start(self) -> Scheduler:
        """Run in a background thread; returns at once. Calling it again is a no-op."""
        if self._thread is not None and self._thread.is_alive():
            return self
        now = self.clock.now()
        with self._lock:
            for e in self._entries.values():  # ticks before start never fire (asynq)
                e.next_at = e.schedule.next(now)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"dmq-scheduler-{self.id[-8:]}",
                                        daemon=True)
        self._thread.start()
        _REGISTRY.add(self)
        return self

    def stop(self, *, clear_history: bool = False) -> None:
        """Stop the loop and remove this scheduler's entry list from Redis.

        The history is kept (it is shared by replicas and expires after `history_ttl`), unless
        `clear_history=True`, which deletes it as asynq does on shutdown.
        """
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        _REGISTRY.discard(self)
        try:
            self._rdb.clear_scheduler_entries(self.id)
            if clear_history:
                for e in list(self._entries.values()):
                    self._rdb.clear_scheduler_history(e.id)
        except Exception:  # noqa: BLE001 - Redis may be gone at shutdown
            log.warning("scheduler %s could not clear its records", self.id, exc_info=True)

    def run(self) -> None:
        """Block until SIGINT/SIGTERM (or `stop()` from another thread), then stop cleanly."""
        run_until_signal(self.start, self._stop.is_set, self.stop, on_signal=self._stop.set)

    def close(self) -> None:
        self.stop()
        if self._owned:
            self._rdb.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Scheduler {self.id} {state} entries={len(self._entries)}>"

    # ---- internals ----
    def _loop(self) -> None:
        next_heartbeat = self.clock.now()  # asynq waits one interval; we show entries at once
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the loop must survive a Redis outage
                log.exception("scheduler %s: firing entries failed", self.id)
            now = self.clock.now()
            if now >= next_heartbeat:
                try:
                    self.heartbeat_once()
                except Exception:  # noqa: BLE001
                    log.warning("scheduler %s: heartbeat failed", self.id, exc_info=True)
                next_heartbeat = now + self.heartbeat_interval
            with self._lock:
                wake = min([e.next_at for e in self._entries.values()] + [next_heartbeat])
            wait = min(max((wake - self.clock.now()).total_seconds(), 0.005), 1.0)
            self._stop.wait(wait)

    def _anchor(self, schedule: EverySchedule, key: str) -> EverySchedule:
        now = to_unix(self.clock.now())
        anchor = self._rdb.scheduler_anchor(key, now, _ANCHOR_TTL_S)
        return schedule.anchored(datetime.fromtimestamp(anchor, timezone.utc))

    def _latest_tick(self, e: _Entry, now: datetime) -> datetime | None:
        """The most recent tick <= now that is at most misfire_grace old, or None."""
        window_start = now - self.misfire_grace
        tick = e.next_at
        if tick < window_start:
            tick = e.schedule.next(window_start - timedelta(microseconds=1))
            if tick > now:
                return None
        for _ in range(100_000):
            following = e.schedule.next(tick)
            if following > now:
                return tick
            tick = following
        return None

    def _fire(self, e: _Entry, tick: datetime, now: datetime) -> bool:
        lock_ttl = int(self.misfire_grace.total_seconds()) + 60
        try:
            claimed = self._rdb.claim_fire(e.key, to_unix(tick), lock_ttl)
        except Exception as exc:  # noqa: BLE001 - Redis down: this tick is lost, the loop goes on
            log.warning("scheduler entry %s: cannot claim tick %s: %s", e.id, tick, exc)
            return False
        if not claimed:
            e.prev_at = tick  # another replica enqueued this tick
            return False
        e.prev_at = tick
        opts = dict(e.options)
        if self.pre_enqueue is not None:
            try:
                self.pre_enqueue(e.task, opts)
            except Exception:  # noqa: BLE001 - a hook error skips this tick only
                log.exception("pre_enqueue hook failed for entry %s; tick skipped", e.id)
                return False
        info: TaskInfo | None = None
        err: Exception | None = None
        try:
            info = self._client.enqueue(e.task, **opts)
        except Exception as exc:  # noqa: BLE001 - reported to the hook and the log
            err = exc
            log.error("scheduler entry %s: enqueue of %s failed: %s", e.id, e.task.type, exc)
        if self.post_enqueue is not None:
            try:
                self.post_enqueue(info, err)
            except Exception:  # noqa: BLE001
                log.exception("post_enqueue hook failed for entry %s", e.id)
        if info is None:
            return False
        try:
            ttl = int(self.history_ttl.total_seconds()) if self.history_ttl else 0
            self._rdb.record_scheduler_enqueue_event(e.id, info.id, now, ttl_s=ttl)
        except Exception:  # noqa: BLE001 - asynq only logs this too
            log.warning("scheduler entry %s: could not record history", e.id, exc_info=True)
        return True


def _task_options(task: Task) -> dict[str, Any]:
    """The default options carried by the Task itself, in field order, unset ones left out."""
    o = task.options
    if o is None:
        return {}
    names = ("queue", "max_retry", "task_id", "timeout", "deadline", "unique", "process_at",
             "process_in", "retention", "group", "headers")
    return {n: getattr(o, n) for n in names if getattr(o, n, None) is not None}
