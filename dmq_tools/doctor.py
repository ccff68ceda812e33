"""`dmq doctor`: the origin guide's troubleshooting as checks, each with a verdict and the fix.

"Tasks are not processed: check the worker is enabled, check Redis, check the worker's logs";
"queue backlog: raise concurrency, add workers, look for failing tasks" — each step is a check
that reads the Inspector (and Redis INFO through `rdb.ops`) and explains what it found.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .config import Settings
from .inspector import Inspector
from .models import QueueInfo, ServerInfo
from .rdb import ops
from .clock import utc as _UTC

__all__ = ["FAIL", "OK", "SKIP", "WARN", "Check", "DoctorReport", "run_doctor"]

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
#: Tasks sampled per queue and state when looking for types and errors (never a full scan).
SAMPLE = 200
#: An expired lease younger than this may just be waiting for a live worker's recoverer.
LEASE_GRACE_S = 10.0
#: Oldest pending task older than this is a backlog.
BACKLOG_AGE = timedelta(minutes=5)
#: Newest events read per queue (failures, enqueue rate): bounded, whatever the stream's length.
EVENT_SAMPLE = 2000
#: Window of events and per-minute counters looked at for failures and backlog growth.
WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Check:
    """One troubleshooting step: what was found (`summary`, `details`) and what to do (`fix`)."""

    name: str
    verdict: str
    summary: str
    fix: str = ""
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def worst(self) -> str:
        verdicts = {c.verdict for c in self.checks}
        return next((v for v in (FAIL, WARN) if v in verdicts), OK)

    def needs_action(self, strict: bool = False) -> bool:
        """A failed check (or, with strict, a warning) needs someone to act."""
        return self.worst == FAIL or (strict and self.worst == WARN)

    def by_name(self, name: str) -> list[Check]:
        return [c for c in self.checks if c.name == name]


@dataclass
class _Ctx:
    insp: Inspector
    settings: Settings | None
    handlers: Callable[[str], bool] | None
    infos: list[QueueInfo] = field(default_factory=list)
    servers: list[ServerInfo] = field(default_factory=list)
    redis_now: float = 0.0


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


def _check_redis(ctx: _Ctx) -> list[Check]:
    h = ops.redis_health(ctx.insp.rdb)
    ctx.redis_now = h.redis_time
    out = [Check("redis", OK, f"Redis {h.version} ({h.mode}) at {h.address}, {_mib(h.used_memory)} used"
                 + (f" of {_mib(h.maxmemory)}" if h.maxmemory else ""))]
    policy = h.maxmemory_policy
    if policy.startswith("allkeys-"):
        out.append(Check("eviction", FAIL if h.maxmemory else WARN,
                         f"maxmemory-policy is {policy}: when memory is full Redis deletes any key, "
                         "including queued tasks",
                         "CONFIG SET maxmemory-policy noeviction (and in redis.conf); give Redis more memory"))
    elif policy.startswith("volatile-"):
        out.append(Check("eviction", WARN,
                         f"maxmemory-policy is {policy}: keys with a TTL (unique locks, heartbeats, "
                         "counters) can be evicted", "use maxmemory-policy noeviction for a task queue"))
    else:
        out.append(Check("eviction", OK, f"maxmemory-policy is {policy or 'unknown'}"))
    if h.maxmemory and h.used_memory > 0.9 * h.maxmemory:
        out.append(Check("memory", WARN, f"{_mib(h.used_memory)} of {_mib(h.maxmemory)} used",
                         "delete archived/completed tasks, shorten retention or raise maxmemory"))
    persistent = h.aof_enabled or bool(h.rdb_save.strip())
    out.append(Check("persistence", OK if persistent else WARN,
                     f"AOF {'on' if h.aof_enabled else 'off'}, RDB save '{h.rdb_save or '-'}'"
                     + ("" if h.rdb_last_save_ok else ", last RDB save FAILED"),
                     "" if persistent else "enable appendonly yes: a Redis restart loses every queued task"))
    return out


def _check_workers(ctx: _Ctx) -> list[Check]:
    served: dict[str, list[str]] = defaultdict(list)
    for s in ctx.servers:
        for q in s.queues:
            served[q].append(f"{s.host}:{s.pid}")
    details = tuple(f"{s.host}:{s.pid} ({s.status}) concurrency {s.concurrency}, "
                    f"{len(s.active_workers)} busy, queues {', '.join(f'{q}={w}' for q, w in s.queues.items())}"
                    for s in ctx.servers)
    disabled = ctx.settings is not None and not ctx.settings.worker_enabled
    hint = ("QUEUE_WORKER_ENABLED=false in this environment: start a worker elsewhere or set it to true"
            if disabled else "start a worker: `dmq worker --app module:mux --queues <queue>=1` "
                             "(or `dmq serve` with QUEUE_WORKER_ENABLED=true)")
    out: list[Check] = []
    if not ctx.servers:
        waiting = [i.queue for i in ctx.infos if i.pending]
        out.append(Check("workers", FAIL if waiting else WARN,
                         "no live worker" + (f"; tasks are waiting in {', '.join(waiting)}" if waiting else ""),
                         hint))
        return out
    out.append(Check("workers", OK, f"{len(ctx.servers)} live worker(s)", details=details))
    for i in ctx.infos:
        if i.pending and i.queue not in served:
            out.append(Check("unserved-queue", FAIL,
                             f"queue {i.queue!r} has {i.pending} pending task(s) and no worker serves it",
                             f"add {i.queue} to a worker's queues (QUEUE_QUEUES / --queues); " + hint))
    return out


def _sample_types(ctx: _Ctx) -> dict[str, Counter[str]]:
    """queue -> task types seen on the first pages of pending, scheduled and retry."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for i in ctx.infos:
        for state in ("pending", "scheduled", "retry"):
            if getattr(i, state):
                for t in ctx.insp.list_tasks(i.queue, state, page_size=SAMPLE):
                    out[i.queue][t.type] += 1
    return out


def _failures(ctx: _Ctx) -> dict[str, Counter[str]]:
    """task type -> error message counts: recent failure events, then retry/archived samples."""
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    since = datetime.fromtimestamp(ctx.redis_now, _UTC) - WINDOW
    for i in ctx.infos:
        recent = ctx.insp.events(i.queue, since=since, limit=EVENT_SAMPLE)
        for e in recent:
            if e.error:
                errors[e.type][e.error[:200]] += 1
        if not recent and not ctx.insp.events(i.queue, limit=1):
            # no event stream at all (a Go service's queue): read the tasks' last errors instead
            for state in ("retry", "archived"):
                if getattr(i, state):
                    for t in ctx.insp.list_tasks(i.queue, state, page_size=SAMPLE):
                        if t.last_err:
                            errors[t.type][t.last_err[:200]] += 1
    return errors


def _check_handlers(ctx: _Ctx, errors: dict[str, Counter[str]]) -> list[Check]:
    missing: dict[str, set[str]] = defaultdict(set)
    for typ, msgs in errors.items():
        if any(m.startswith("handler not found for task") for m in msgs):
            missing[typ].add("failed with 'handler not found'")
    if ctx.handlers is not None:
        for q, types in _sample_types(ctx).items():
            for typ in types:
                if not ctx.handlers(typ):
                    missing[typ].add(f"waiting in {q}")
    if missing:
        return [Check("handlers", FAIL,
                      f"no handler for task type(s) {', '.join(sorted(missing))}",
                      "register a handler (mux.handle(\"<type>\", fn)) in the worker's app and restart it",
                      tuple(f"{t}: {'; '.join(sorted(w))}" for t, w in sorted(missing.items())))]
    if ctx.handlers is None:
        return [Check("handlers", SKIP, "no failure says 'handler not found'; pass --app module:mux "
                      "to check every queued type against your handlers")]
    return [Check("handlers", OK, "every queued task type has a handler")]


def _check_failing(errors: dict[str, Counter[str]]) -> list[Check]:
    failing = {t: m for t, m in errors.items() if m and not all(
        k.startswith("handler not found for task") for k in m)}
    if not failing:
        return [Check("failing-types", OK, "no recent task failures")]
    ranked = sorted(failing.items(), key=lambda kv: -sum(kv[1].values()))
    details = tuple(f"{t}: {sum(m.values())} failure(s); top: "
                    + " | ".join(f"{msg} (x{n})" for msg, n in m.most_common(3)) for t, m in ranked)
    return [Check("failing-types", WARN, f"{len(failing)} task type(s) failing: "
                  + ", ".join(t for t, _ in ranked[:5]),
                  "fix the handler or the payload; `dmq task ls <queue> --state retry` shows each error; "
                  "raise SkipRetry for errors a retry cannot fix", details)]


def _check_backlog(ctx: _Ctx) -> list[Check]:
    out: list[Check] = []
    until = datetime.fromtimestamp(ctx.redis_now, _UTC)
    for i in ctx.infos:
        if i.paused:
            out.append(Check("paused", WARN, f"queue {i.queue!r} is paused with {i.pending} pending task(s)",
                             f"`dmq queue resume {i.queue}` when it should run again"))
        if not i.pending or i.paused:
            continue
        # rates per minute: enqueues from the newest events (a bounded sample), work from the counters
        evs = ctx.insp.events(i.queue, since=until - WINDOW, limit=EVENT_SAMPLE)
        span = WINDOW if len(evs) < EVENT_SAMPLE else max(until - evs[0].time, timedelta(minutes=1))
        enq = sum(1 for e in evs if e.event == "enqueued") / (span.total_seconds() / 60)
        done = sum(p.processed for p in ctx.insp.throughput(i.queue, since=until - WINDOW, until=until)) \
            / (WINDOW.total_seconds() / 60)
        growing = enq > 0 and enq > done * 1.2 and i.pending >= 10
        if i.latency >= BACKLOG_AGE or growing:
            why = [f"oldest pending task waits {int(i.latency.total_seconds())}s"]
            if growing:
                why.append(f"{enq:.1f} enqueued vs {done:.1f} processed per minute")
            out.append(Check("backlog", WARN, f"queue {i.queue!r}: {i.pending} pending, " + ", ".join(why),
                             "raise QUEUE_CONCURRENCY, add workers for this queue, speed up handlers, "
                             "and look for failing tasks"))
    return out


def _check_leases(ctx: _Ctx) -> list[Check]:
    stuck = {i.queue: n for i in ctx.infos if i.active and
             (n := ops.lease_expired_count(ctx.insp.rdb, i.queue, ctx.redis_now - LEASE_GRACE_S))}
    if not stuck:
        return [Check("stuck-active", OK, "no active task with an expired lease")]
    return [Check("stuck-active", FAIL,
                  "active tasks whose worker stopped renewing the lease: "
                  + ", ".join(f"{q} ({n})" for q, n in stuck.items()),
                  "their worker died; a live worker's recoverer moves them to retry within a minute. "
                  "Start a worker for these queues if none runs")]


def _check_clock(ctx: _Ctx) -> list[Check]:
    local_skew = time.time() - ctx.redis_now
    details: list[str] = [f"this machine: {local_skew:+.2f}s vs Redis TIME"]
    worst = abs(local_skew)
    beats = ops.server_heartbeats(ctx.insp.rdb)
    for s in ctx.servers:
        expiry = beats.get(s.id)
        if expiry is not None:
            ahead = expiry - ctx.redis_now  # heartbeat TTL is 10-30 s: more means the worker runs ahead
            if ahead > 60:
                details.append(f"{s.host}:{s.pid}: heartbeat expires {ahead:.0f}s ahead of Redis TIME")
                worst = max(worst, ahead - 30)
        for w in s.active_workers:
            if w.started and (d := w.started.timestamp() - ctx.redis_now) > 5:
                details.append(f"{s.host}:{s.pid}: task {w.task_id} started {d:.0f}s in Redis' future")
                worst = max(worst, d)
    verdict = OK if worst < 2 else WARN if worst < 30 else FAIL
    return [Check("clock", verdict, f"largest clock skew {worst:.1f}s",
                  "" if verdict == OK else "run NTP (chrony/systemd-timesyncd) on every worker host: "
                  "leases, schedules and retries compare clocks", tuple(details))]


def run_doctor(inspector: Inspector, settings: Settings | None = None,
               handlers: Callable[[str], bool] | Any = None) -> DoctorReport:
    """Every check against `inspector`'s Redis. `handlers`: a ServeMux (or a predicate on a task
    type) to check queued types against; `settings`: to explain QUEUE_WORKER_ENABLED."""
    has = handlers
    if handlers is not None and hasattr(handlers, "match"):
        def has(typ: str) -> bool:
            return bool(handlers.match(typ)[1])
    ctx = _Ctx(inspector, settings, has)
    try:
        checks = _check_redis(ctx)
    except Exception as exc:  # noqa: BLE001 - unreachable: nothing else can be checked
        return DoctorReport((Check("redis", FAIL, f"Redis unreachable: {type(exc).__name__}: {exc}",
                                   "check REDIS_URL / REDIS_PASSWORD and that redis-server runs"),))
    ctx.infos = list(inspector.queue_infos())
    ctx.servers = list(inspector.servers())
    checks += _check_workers(ctx)
    errors = _failures(ctx)
    checks += _check_handlers(ctx, errors)
    checks += _check_failing(errors)
    checks += _check_backlog(ctx)
    checks += _check_leases(ctx)
    checks += _check_clock(ctx)
    if not any(c.name == "paused" for c in checks):
        checks.append(Check("paused", OK, "no queue is paused"))
    return DoctorReport(tuple(checks))
