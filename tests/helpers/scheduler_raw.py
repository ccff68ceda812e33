"""Raw reads/writes of asynq's scheduler records, built on keys.py and the protobuf module only.

Used to check what the scheduler writes, the way asynq's CLI reads it (not through the code
under test).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dmq_tools.rdb import keys
from dmq_tools.rdb.wire import GO_ZERO_SECONDS, pb


def scheduler_keys(r: Any, now: float | None = None) -> list[str]:
    """Live entry-list keys in asynq:schedulers (score = expiry >= now)."""
    now = datetime.now(timezone.utc).timestamp() if now is None else now
    return [k.decode() for k in r.zrangebyscore(keys.ALL_SCHEDULERS, int(now), "+inf")]


def raw_entries(r: Any, scheduler_key: str) -> list[Any]:
    """Decoded pb.SchedulerEntry messages of one scheduler's list."""
    out = []
    for raw in r.lrange(scheduler_key, 0, -1):
        msg = pb.SchedulerEntry()
        msg.ParseFromString(raw)
        out.append(msg)
    return out


def all_raw_entries(r: Any) -> list[Any]:
    return [e for k in scheduler_keys(r) for e in raw_entries(r, k)]


def raw_history(r: Any, entry_id: str) -> list[tuple[Any, float]]:
    """(pb.SchedulerEnqueueEvent, score) pairs, oldest first."""
    out = []
    for raw, score in r.zrange(keys.scheduler_history(entry_id), 0, -1, withscores=True):
        msg = pb.SchedulerEnqueueEvent()
        msg.ParseFromString(raw)
        out.append((msg, score))
    return out


def seed_history(r: Any, entry_id: str, n: int, start_unix: int = 1_700_000_000) -> None:
    """n events with increasing scores, as asynq would have recorded them."""
    mapping = {}
    for i in range(n):
        msg = pb.SchedulerEnqueueEvent(task_id=f"task-{i}")
        msg.enqueue_time.seconds = start_unix + i
        mapping[msg.SerializeToString()] = start_unix + i
    r.zadd(keys.scheduler_history(entry_id), mapping)


def is_go_zero(ts: Any) -> bool:
    return ts.seconds == GO_ZERO_SECONDS and ts.nanos == 0


def pending_ids(r: Any, queue: str = "default") -> list[str]:
    return [x.decode() for x in r.lrange(keys.pending(queue), 0, -1)]
