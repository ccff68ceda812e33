"""Scheduler records: entries, enqueue history, fire locks (asynq-protocol.md §6.4, §9).

asynq's part (what its CLI and asynqmon read): `asynq:schedulers` (zset of entry-list keys,
score = expiry), `asynq:schedulers:{<sid>}` (list of SchedulerEntry protobufs with a TTL) and
`asynq:scheduler_history:<entry_id>` (zset of SchedulerEnqueueEvent protobufs, capped at 1000).
dmq's part: one `SET NX` lock per (entry, fire time) so replicas fire each tick once, and a
shared anchor per `@every` entry so replicas compute the same ticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import keys
from .base import RDBBase
from .wire import from_timestamp, pb, to_timestamp

__all__ = [
    "SchedulerOpsMixin", "SchedulerEntryRecord", "SchedulerEventRecord", "MAX_HISTORY_EVENTS",
]

#: asynq's maxEvents: the history of an entry keeps at most this many events.
MAX_HISTORY_EVENTS = 1000


@dataclass(slots=True)
class SchedulerEntryRecord:
    """asynq's SchedulerEntry message; times are aware UTC datetimes, None = Go zero time."""

    id: str
    spec: str
    task_type: str
    task_payload: bytes | None = None
    enqueue_options: list[str] = field(default_factory=list)
    next_enqueue_at: datetime | None = None
    prev_enqueue_at: datetime | None = None


@dataclass(slots=True)
class SchedulerEventRecord:
    """asynq's SchedulerEnqueueEvent message."""

    task_id: str
    enqueued_at: datetime | None


def encode_scheduler_entry(e: SchedulerEntryRecord) -> bytes:
    msg = pb.SchedulerEntry(
        id=e.id,
        spec=e.spec,
        task_type=e.task_type,
        task_payload=e.task_payload or b"",
        enqueue_options=list(e.enqueue_options),
    )
    msg.next_enqueue_time.CopyFrom(to_timestamp(e.next_enqueue_at))
    msg.prev_enqueue_time.CopyFrom(to_timestamp(e.prev_enqueue_at))
    return msg.SerializeToString()


def decode_scheduler_entry(data: bytes) -> SchedulerEntryRecord:
    msg = pb.SchedulerEntry()
    msg.ParseFromString(data)
    return SchedulerEntryRecord(
        id=msg.id,
        spec=msg.spec,
        task_type=msg.task_type,
        task_payload=msg.task_payload,
        enqueue_options=list(msg.enqueue_options),
        next_enqueue_at=from_timestamp(msg.next_enqueue_time),
        prev_enqueue_at=from_timestamp(msg.prev_enqueue_time),
    )


def encode_scheduler_event(task_id: str, enqueued_at: datetime) -> bytes:
    msg = pb.SchedulerEnqueueEvent(task_id=task_id)
    msg.enqueue_time.CopyFrom(to_timestamp(enqueued_at))
    return msg.SerializeToString()


def decode_scheduler_event(data: bytes) -> SchedulerEventRecord:
    msg = pb.SchedulerEnqueueEvent()
    msg.ParseFromString(data)
    return SchedulerEventRecord(task_id=msg.task_id, enqueued_at=from_timestamp(msg.enqueue_time))


class SchedulerOpsMixin(RDBBase):
    # ---- asynq's records ----
    def write_scheduler_entries(self, scheduler_id: str, entries: list[SchedulerEntryRecord],
                                ttl_s: int) -> None:
        """Heartbeat: index the scheduler (score now + TTL) and replace its entry list."""
        key = keys.scheduler_entries(scheduler_id)
        args = [int(ttl_s), *(encode_scheduler_entry(e) for e in entries)]
        self.client.zadd(keys.ALL_SCHEDULERS, {key: self.now_s() + int(ttl_s)})
        self.scripts.run("write_scheduler_entries", [key], args)

    def clear_scheduler_entries(self, scheduler_id: str) -> None:
        key = keys.scheduler_entries(scheduler_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(keys.ALL_SCHEDULERS, key)
        pipe.delete(key)
        pipe.execute()

    def record_scheduler_enqueue_event(self, entry_id: str, task_id: str, enqueued_at: datetime,
                                       *, ttl_s: int = 0) -> None:
        """Append to the entry's history, keeping the newest 1000 (asynq's cap)."""
        self.scripts.run(
            "record_scheduler_enqueue_event",
            [keys.scheduler_history(entry_id)],
            [int(enqueued_at.timestamp() // 1), encode_scheduler_event(task_id, enqueued_at),
             MAX_HISTORY_EVENTS, int(ttl_s)],
        )

    def clear_scheduler_history(self, entry_id: str) -> None:
        self.client.delete(keys.scheduler_history(entry_id))

    # ---- reads (used by the Inspector and `dmq cron`) ----
    def list_scheduler_entries(self) -> list[SchedulerEntryRecord]:
        """Entries of every live scheduler (index score not yet expired), as asynq's CLI reads them."""
        now = self.now_s()
        sched_keys: list[Any] = self.client.zrangebyscore(keys.ALL_SCHEDULERS, now, "+inf")
        if not sched_keys:
            return []
        pipe = self.client.pipeline(transaction=False)
        for k in sched_keys:
            pipe.lrange(k, 0, -1)
        out: list[SchedulerEntryRecord] = []
        for raw_list in pipe.execute():
            for raw in raw_list or []:
                try:
                    out.append(decode_scheduler_entry(raw))
                except Exception:  # noqa: BLE001 - a corrupt record must not hide the others
                    continue
        return out

    def list_scheduler_history(self, entry_id: str, start: int = 0,
                               stop: int = -1) -> list[SchedulerEventRecord]:
        """Enqueue events of an entry, newest first (asynq: ZREVRANGE start stop)."""
        raw: list[Any] = self.client.zrevrange(keys.scheduler_history(entry_id), start, stop)
        return [decode_scheduler_event(r) for r in raw]

    # ---- dmq's coordination ----
    def claim_fire(self, entry_key: str, fire_unix: int, ttl_s: int) -> bool:
        """True for exactly one caller per (entry, fire time): that one enqueues the tick."""
        ok = self.client.set(keys.scheduler_fire_lock(entry_key, int(fire_unix)),
                             self.now_s(), nx=True, ex=max(int(ttl_s), 1))
        return bool(ok)

    def scheduler_anchor(self, entry_key: str, now_unix: int, ttl_s: int) -> int:
        """The shared start time (Unix s) of an `@every` entry; set by the first replica."""
        value = self.scripts.run("scheduler_anchor", [keys.scheduler_anchor(entry_key)],
                                 [int(now_unix), max(int(ttl_s), 1)])
        return int(value)
