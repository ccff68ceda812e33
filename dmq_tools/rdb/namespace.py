"""Drop every key of some queues, asynq's and dmq's (counters and history included).

`remove_queue` keeps completed tasks, counters and the paused flag (asynq's rules); a notebook
that made its own queues and wants to run again from a clean slate needs all of it gone, and
nothing else touched. The queues' keys share the hash tag `{<queue>}`, so a SCAN per prefix finds
them on a single server (on a cluster, the scan runs on every primary through redis-py).
"""

from __future__ import annotations

from typing import Any

from . import keys

__all__ = ["drop_queues", "queues_with_prefix"]


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def drop_queues(client: Any, queues: list[str]) -> int:
    """Delete all keys of `queues` and unregister them; returns how many keys were deleted."""
    deleted = 0
    for q in queues:
        tag = _glob_escape("{" + q + "}")
        for pattern in (f"asynq:{tag}:*", f"dmq:{tag}:*"):
            batch: list[Any] = []
            for key in client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    deleted += int(client.delete(*batch))
                    batch = []
            if batch:
                deleted += int(client.delete(*batch))
        client.srem(keys.ALL_QUEUES, q)
    return deleted


def queues_with_prefix(client: Any, prefix: str) -> list[str]:
    """Registered queue names starting with `prefix`, sorted."""
    names = (q.decode() if isinstance(q, bytes) else q for q in client.smembers(keys.ALL_QUEUES))
    return sorted(q for q in names if q.startswith(prefix))
