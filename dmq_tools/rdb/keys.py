"""Redis key builders: asynq's key schema (asynq-protocol.md §3) and dmq's additions.

Every per-queue key carries the hash tag `{<queue>}` so a queue's keys share one cluster slot.
dmq's own keys live under `dmq:{<queue>}:...`, never changing what asynq reads.
"""

from __future__ import annotations

__all__ = [
    "ALL_QUEUES", "ALL_SERVERS", "ALL_WORKERS", "ALL_SCHEDULERS", "CANCEL_CHANNEL",
    "queue_prefix", "task_prefix", "task", "pending", "active", "scheduled", "retry", "archived",
    "completed", "lease", "paused", "processed_total", "failed_total", "processed", "failed",
    "unique", "groups", "group_prefix", "group", "aggregation_set", "aggregation_sets",
    "server_info", "workers", "scheduler_entries", "scheduler_history", "state_key",
    "wake", "events", "minute_stats", "scheduler_fire_lock", "worker_wake", "scheduler_anchor",
]

ALL_QUEUES = "asynq:queues"
ALL_SERVERS = "asynq:servers"
ALL_WORKERS = "asynq:workers"
ALL_SCHEDULERS = "asynq:schedulers"
CANCEL_CHANNEL = "asynq:cancel"


def queue_prefix(q: str) -> str:
    return f"asynq:{{{q}}}:"


def task_prefix(q: str) -> str:
    return f"asynq:{{{q}}}:t:"


def task(q: str, task_id: str) -> str:
    return f"asynq:{{{q}}}:t:{task_id}"


def pending(q: str) -> str:
    return f"asynq:{{{q}}}:pending"


def active(q: str) -> str:
    return f"asynq:{{{q}}}:active"


def scheduled(q: str) -> str:
    return f"asynq:{{{q}}}:scheduled"


def retry(q: str) -> str:
    return f"asynq:{{{q}}}:retry"


def archived(q: str) -> str:
    return f"asynq:{{{q}}}:archived"


def completed(q: str) -> str:
    return f"asynq:{{{q}}}:completed"


def lease(q: str) -> str:
    return f"asynq:{{{q}}}:lease"


def paused(q: str) -> str:
    return f"asynq:{{{q}}}:paused"


def processed_total(q: str) -> str:
    return f"asynq:{{{q}}}:processed"


def failed_total(q: str) -> str:
    return f"asynq:{{{q}}}:failed"


def processed(q: str, day: str) -> str:
    """Daily counter; `day` is the UTC date as YYYY-MM-DD."""
    return f"asynq:{{{q}}}:processed:{day}"


def failed(q: str, day: str) -> str:
    return f"asynq:{{{q}}}:failed:{day}"


def unique(q: str, task_type: str, checksum: str) -> str:
    """`checksum` is md5 hex of the payload, or "" for a nil payload."""
    return f"asynq:{{{q}}}:unique:{task_type}:{checksum}"


def groups(q: str) -> str:
    return f"asynq:{{{q}}}:groups"


def group_prefix(q: str) -> str:
    return f"asynq:{{{q}}}:g:"


def group(q: str, name: str) -> str:
    return f"asynq:{{{q}}}:g:{name}"


def aggregation_set(q: str, name: str, set_id: str) -> str:
    return f"asynq:{{{q}}}:g:{name}:{set_id}"


def aggregation_sets(q: str) -> str:
    return f"asynq:{{{q}}}:aggregation_sets"


def state_key(q: str, state: str) -> str:
    """The list/zset holding tasks of a state (not valid for aggregating)."""
    return f"asynq:{{{q}}}:{state}"


def server_info(host: str, pid: int, server_id: str) -> str:
    return f"asynq:servers:{{{host}:{pid}:{server_id}}}"


def workers(host: str, pid: int, server_id: str) -> str:
    return f"asynq:workers:{{{host}:{pid}:{server_id}}}"


def scheduler_entries(scheduler_id: str) -> str:
    return f"asynq:schedulers:{{{scheduler_id}}}"


def scheduler_history(entry_id: str) -> str:
    return f"asynq:scheduler_history:{entry_id}"


# ---- dmq's additions (DESIGN.md §4); same hash tag as the queue ----

def wake(q: str) -> str:
    """LIST of at most one token: producers push, idle workers BLPOP (wake-up, not protocol)."""
    return f"dmq:{{{q}}}:wake"


def events(q: str) -> str:
    """STREAM of task events (enqueued, started, succeeded, failed, ...), capped by MAXLEN."""
    return f"dmq:{{{q}}}:events"


def minute_stats(q: str, day: str) -> str:
    """HASH of per-minute counters for one UTC day: fields `p:HHMM` / `f:HHMM`, with a TTL."""
    return f"dmq:{{{q}}}:minutes:{day}"


def dequeue_receipt(q: str, server_id: str) -> str:
    """HASH token -> leased ids of a worker's recent dequeues in the queue ("-": voided), so a
    dequeue whose reply was lost (Redis stalled past the command timeout) can be given back."""
    return f"dmq:{{{q}}}:leased:{server_id}"


def worker_wake(server_id: str) -> str:
    """LIST a worker BLPOPs beside its queues' wake keys, so stop() can interrupt the wait."""
    return f"dmq:worker:{server_id}:wake"


def scheduler_fire_lock(entry_key: str, fire_unix: int) -> str:
    """One lock per (entry, fire time): replicas enqueue each tick once."""
    return f"dmq:scheduler:fire:{entry_key}:{fire_unix}"


def scheduler_anchor(entry_key: str) -> str:
    """Shared start time of an `@every` entry, so every replica computes the same ticks."""
    return f"dmq:scheduler:anchor:{entry_key}"
