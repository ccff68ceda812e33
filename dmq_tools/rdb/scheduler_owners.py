"""Which live scheduler published which entry (asynq keeps one list per scheduler id).

`list_scheduler_entries` flattens the lists, so an entry registered by two kernels shows twice
with nothing to tell them apart; the Dashboard needs the owner beside each entry.
"""

from __future__ import annotations

import time
from typing import Any

from . import keys
from .scheduler_ops import SchedulerEntryRecord, decode_scheduler_entry

__all__ = ["scheduler_entries_by_owner"]

_PREFIX = keys.scheduler_entries("")[:-1]  # "asynq:schedulers:{"


def scheduler_entries_by_owner(client: Any) -> list[tuple[str, SchedulerEntryRecord]]:
    """(scheduler id, entry) for every entry of every scheduler whose heartbeat has not expired."""
    sched_keys = client.zrangebyscore(keys.ALL_SCHEDULERS, int(time.time()), "+inf")
    if not sched_keys:
        return []
    pipe = client.pipeline(transaction=False)
    for k in sched_keys:
        pipe.lrange(k, 0, -1)
    out: list[tuple[str, SchedulerEntryRecord]] = []
    for k, raw_list in zip(sched_keys, pipe.execute()):
        name = k.decode() if isinstance(k, bytes) else str(k)
        owner = name[len(_PREFIX):-1] if name.startswith(_PREFIX) and name.endswith("}") else name
        for raw in raw_list or []:
            try:
                out.append((owner, decode_scheduler_entry(raw)))
            except Exception:  # noqa: BLE001 - a corrupt record must not hide the others
                continue
    return out
