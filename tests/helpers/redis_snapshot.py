"""Everything a Redis database holds, to compare before and after a call that must write nothing."""

from __future__ import annotations

from typing import Any


def snapshot(r: Any) -> dict[bytes, tuple[Any, bool]]:
    """key -> (DUMP bytes, has a TTL), over SCAN of the whole database. Streams compare by
    their entries: an entry added and deleted again (XADD, XDEL) leaves the stream's internal
    last-ID and tombstones moved, which DUMP shows but no reader sees."""
    out: dict[bytes, tuple[Any, bool]] = {}
    for key in r.scan_iter(count=1000):
        if r.type(key) == b"stream":
            value: Any = ("stream", tuple(r.xrange(key)))
        else:
            value = r.dump(key)
        out[key] = (value, r.pttl(key) > 0)
    return out


def diff(before: dict, after: dict) -> dict[str, list[bytes]]:
    """Keys added, removed and changed (empty lists when nothing moved)."""
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(k for k in set(before) & set(after) if before[k] != after[k]),
    }


def unchanged(before: dict, after: dict) -> bool:
    d = diff(before, after)
    return not (d["added"] or d["removed"] or d["changed"])
