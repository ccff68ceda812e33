"""History reads: asynq's daily counters, and dmq's events stream and per-minute counters
(`dmq:{<q>}:events`, `dmq:{<q>}:minutes:<day>`, DESIGN.md §4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import keys
from .base import RDBBase
from ..clock import utc as _UTC

__all__ = ["InspectHistoryMixin", "EventRecord", "event_records"]



@dataclass(slots=True)
class EventRecord:
    """One stream entry: time in ms from the entry ID, and its fields as text."""

    queue: str
    ms: int
    fields: dict[str, str]
    entry_id: str = ""


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def event_records(q: str, entry_id: Any, fields: dict[Any, Any]) -> list[EventRecord]:
    """The events of one stream entry: one, or one per task of a batch entry (`enqueue_batch`'s
    "enqueued", the worker's "started" and "succeeded": ids=<JSON array>, with t=<shared type>
    or types=<JSON array>, and ds=<JSON array> of durations for "succeeded"), in the order
    written. An entry that does not read as either is returned whole, as one event: history
    never fails."""
    eid = _text(entry_id)
    ms = int(eid.split("-", 1)[0])
    text = {_text(k): _text(v) for k, v in fields.items()}
    if "ids" not in text:
        return [EventRecord(q, ms, text, eid)]
    try:
        ids = json.loads(text["ids"])
        kinds = [text["t"]] * len(ids) if "t" in text else json.loads(text["types"])
        durations = json.loads(text["ds"]) if "ds" in text else None
        if not (isinstance(ids, list) and isinstance(kinds, list) and len(ids) == len(kinds)):
            raise ValueError("ids and types differ in length")
        if durations is not None and not (isinstance(durations, list) and len(durations) == len(ids)):
            raise ValueError("ids and ds differ in length")
    except (ValueError, KeyError, TypeError):
        return [EventRecord(q, ms, text, eid)]
    rest = {k: v for k, v in text.items() if k not in ("e", "ids", "t", "types", "ds")}
    e = text.get("e", "")
    if durations is None:
        return [EventRecord(q, ms, {"e": e, "id": str(i), "t": str(t), **rest}, eid) for i, t in zip(ids, kinds)]
    return [EventRecord(q, ms, {"e": e, "id": str(i), "t": str(t), "d": str(d), **rest}, eid)
            for i, t, d in zip(ids, kinds, durations)]


class InspectHistoryMixin(RDBBase):
    def historical_stats(self, q: str, days: int) -> list[tuple[str, int, int]]:
        """(UTC date, processed, failed) for today and the n-1 days before, newest first.

        One MGET: every key carries the queue's hash tag, so this is one slot in a cluster.
        """
        if days < 1:
            raise ValueError("days must be >= 1")
        now = datetime.fromtimestamp(self.clock.time(), _UTC)
        dates = [(now - timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]
        ks = [k for d in dates for k in (keys.processed(q, d), keys.failed(q, d))]
        vals = self.client.mget(ks)
        return [(d, int(vals[2 * i] or 0), int(vals[2 * i + 1] or 0)) for i, d in enumerate(dates)]

    # ---- events stream ----
    def _entries(self, q: str, lo: str, hi: str, count: int, reverse: bool) -> list[tuple[Any, Any]]:
        key = keys.events(q)
        if reverse:
            return list(reversed(self.client.xrevrange(key, hi, lo, count=count) or []))
        return self.client.xrange(key, lo, hi, count=count) or []

    def iter_events(self, q: str, since_ms: int | None = None, until_ms: int | None = None,
                    batch: int = 5000) -> Iterator[list[EventRecord]]:
        """Events of a queue, oldest first, in batches of XRANGE ... COUNT (exclusive restart)."""
        lo = "-" if since_ms is None else str(since_ms)
        hi = "+" if until_ms is None else str(until_ms)
        while True:
            entries = self._entries(q, lo, hi, batch, reverse=False)
            rows = [r for entry_id, fields in entries for r in event_records(q, entry_id, fields)]
            if rows:
                yield rows
            if len(entries) < batch:
                return
            lo = "(" + _text(entries[-1][0])

    def latest_events(self, q: str, count: int, since_ms: int | None = None,
                      until_ms: int | None = None) -> list[EventRecord]:
        """The newest `count` events in the window, oldest first (XREVRANGE)."""
        if count <= 0:
            return []
        lo = "-" if since_ms is None else str(since_ms)
        hi = "+" if until_ms is None else str(until_ms)
        entries = self._entries(q, lo, hi, count, reverse=True)   # each entry holds >= 1 event
        rows = [r for entry_id, fields in entries for r in event_records(q, entry_id, fields)]
        return rows[-count:]

    # ---- per-minute counters ----
    def minute_counters(self, q: str, since_s: float, until_s: float) -> dict[int, tuple[int, int]]:
        """{minute start (Unix s): (processed, failed)} for minutes in [since, until], non-zero only."""
        start = datetime.fromtimestamp(since_s, _UTC)
        end = datetime.fromtimestamp(until_s, _UTC)
        days = []
        d = start.date()
        while d <= end.date():
            days.append(d)
            d += timedelta(days=1)
        pipe = self.client.pipeline(transaction=False)
        for d in days:
            pipe.hgetall(keys.minute_stats(q, d.isoformat()))
        out: dict[int, list[int]] = {}
        lo, hi = int(since_s // 60) * 60, until_s
        for d, fields in zip(days, pipe.execute()):
            base = datetime(d.year, d.month, d.day, tzinfo=_UTC).timestamp()
            for k, v in fields.items():
                name = _text(k)
                kind, _, hhmm = name.partition(":")
                if kind not in ("p", "f") or len(hhmm) != 4 or not hhmm.isdigit():
                    continue
                t = int(base) + int(hhmm[:2]) * 3600 + int(hhmm[2:]) * 60
                if t < lo or t > hi:
                    continue
                slot = out.setdefault(t, [0, 0])
                slot[0 if kind == "p" else 1] += int(v)
        return {t: (p, f) for t, (p, f) in sorted(out.items())}
