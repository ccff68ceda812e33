"""Signals: each rule kind read from one snapshot of the Inspector, as observations to compare."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..inspector import Inspector
from ..models import QueueInfo, SchedulerEntry, ServerInfo
from .rules import Rule
from ..clock import utc as _UTC

__all__ = ["ArchivedHistory", "Observation", "Snapshot", "observe"]



@dataclass(frozen=True)
class Snapshot:
    """What one evaluation reads once, shared by every rule."""

    now: datetime
    infos: dict[str, QueueInfo]
    servers: tuple[ServerInfo, ...]
    entries: tuple[SchedulerEntry, ...]

    @classmethod
    def take(cls, insp: Inspector) -> Snapshot:
        return cls(datetime.now(_UTC), {i.queue: i for i in insp.queue_infos()}, tuple(insp.servers()),
                   tuple(insp.scheduler_entries()))


@dataclass(frozen=True)
class Observation:
    """One rule instance (a rule on `queue: "*"` gives one per queue) at one moment."""

    key: str
    rule: Rule
    queue: str
    breached: bool
    value: str
    message: str


class ArchivedHistory:
    """Archived counts seen by this evaluator, to tell how many were added within a window."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[tuple[float, int]]] = {}

    def rise(self, queue: str, count: int, window: timedelta) -> int:
        now = time.monotonic()
        d = self._seen.setdefault(queue, deque())
        d.append((now, count))
        while d and d[0][0] < now - window.total_seconds():
            d.popleft()
        return max(0, count - min(c for _, c in d))


def _queues(rule: Rule, snap: Snapshot) -> list[str]:
    return sorted(snap.infos) if rule.queue == "*" else [rule.queue]


def _key(rule: Rule, queue: str) -> str:
    return f"{rule.name}[{queue}]" if rule.queue == "*" else rule.name


def observe(rule: Rule, snap: Snapshot, insp: Inspector, archived: ArchivedHistory) -> list[Observation]:
    """The rule's observations now (a queue that does not exist reads as empty)."""
    if rule.kind == "scheduler_not_ticking":
        late = [e for e in snap.entries
                if e.next_enqueue_at and e.next_enqueue_at + rule.grace < snap.now]
        names = ", ".join(f"{e.id} ({e.spec} {e.task_type})" for e in late[:5])
        return [Observation(rule.name, rule, "", bool(late), str(len(late)),
                            f"{len(late)} scheduler entr{'y is' if len(late) == 1 else 'ies are'} overdue "
                            f"by more than {rule.grace}: {names}" if late else "every scheduler entry ticks")]
    out = []
    for q in _queues(rule, snap):
        info = snap.infos.get(q) or QueueInfo(queue=q)
        if rule.kind == "queue_depth":
            v = float(info.pending)
            msg = f"queue {q}: {info.pending} pending (threshold {rule.threshold:g})"
        elif rule.kind == "oldest_pending_age":
            v = info.latency.total_seconds()
            msg = f"queue {q}: oldest pending task waits {v:.0f}s (threshold {rule.threshold:g}s)"
        elif rule.kind == "failure_rate":
            pts = insp.throughput(q, since=snap.now - rule.window, until=snap.now) if q in snap.infos else []
            done, failed = sum(p.processed for p in pts), sum(p.failed for p in pts)
            v = failed / done if done >= rule.min_processed else 0.0
            msg = (f"queue {q}: {failed} of {done} tasks failed in the last {rule.window} "
                   f"({v:.0%}, threshold {rule.threshold:.0%})")
        elif rule.kind == "no_worker":
            n = sum(1 for s in snap.servers if q in s.queues)
            # on every queue ("*"), only queues with pending tasks count: an idle queue may be retired
            waiting = rule.queue != "*" or info.pending > 0
            out.append(Observation(_key(rule, q), rule, q, n == 0 and waiting, str(n),
                                   f"queue {q}: {n} live worker(s) serve it, {info.pending} pending"))
            continue
        else:  # archived_rising
            v = float(archived.rise(q, info.archived, rule.window))
            msg = f"queue {q}: {v:.0f} task(s) archived within {rule.window} (threshold {rule.threshold:g})"
        out.append(Observation(_key(rule, q), rule, q, v > rule.threshold, f"{v:g}", msg))
    return out
