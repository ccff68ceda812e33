"""Everything a Redis database holds, to compare before and after a call that must write nothing."""

from __future__ import annotations

from typing import Any


def snapshot(r: Any) -> dict[bytes, tuple[bytes | None, bool]]:
    """key -> (DUMP bytes, has a TTL), over SCAN of the whole database."""
    out: dict[bytes, tuple[bytes | None, bool]] = {}
    for key in r.scan_iter(count=1000):
        out[key] = (r.dump(key), r.pttl(key) > 0)
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
