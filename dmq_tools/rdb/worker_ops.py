"""Worker transitions: dequeue, done, mark_as_complete, requeue, retry, archive, forward, leases,
janitor, presence, cancellation and group aggregation (asynq rdb.go, server side).

Every transition is one Lua script (lua/<name>.lua). Acknowledgements of many finished tasks go
out in one pipelined round trip (`write_outcomes`). History (the events stream and the per-minute
counters, DESIGN.md §4) is written inside the same scripts.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any
from collections.abc import Callable, Iterator

import redis

from . import keys
from .base import MAX_INT64, RDBBase
from .corrupt import corrupt_error, is_wrongtype, wrong_types
from .records import TaskMessage
from .scripts import ScriptCall
from .wire import encode_task_message, pb, to_timestamp
from ..clock import utc as _UTC

__all__ = [
    "WorkerOpsMixin", "Outcome", "Finish", "OutcomeKind", "Leased", "ServerState", "WorkerState", "CancelSubscription",
    "MINUTES_TTL_SECONDS", "ARCHIVE_MAX_SIZE", "ARCHIVE_MAX_AGE_SECONDS", "REDIS_ERRORS",
]

#: Per-minute history hashes live 8 days (dmq addition).
MINUTES_TTL_SECONDS = 8 * 24 * 3600
#: asynq's archive trims: maxArchiveSize and archivedExpirationInDays.
ARCHIVE_MAX_SIZE = 10_000
ARCHIVE_MAX_AGE_SECONDS = 90 * 24 * 3600
#: (minute number, (UTC day, HHMM)) of the last `_minute_parts` call.
_MINUTE_PARTS: tuple[int, tuple[str, str]] = (-1, ("", ""))
#: What a loop catches to ride out an outage (the callers never import redis).
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)



class OutcomeKind(str, Enum):
    """How a leased task ends; each kind is one script (done.lua is batched per queue)."""

    DONE = "done"            # deleted (success without retention, or RevokeTask)
    COMPLETE = "complete"    # kept as completed with its result (retention)
    RETRY = "retry"          # back in the retry set (failure, or not a failure: is_failure False)
    ARCHIVE = "archive"      # archived (retries exhausted, SkipRetry, undecodable record)
    REQUEUE = "requeue"      # back to the front of pending (shutdown, give-back)

    __hash__ = str.__hash__   # equal to its text as a dict key too, on every Python version

    def __str__(self) -> str:
        return self.value


#: plain names for the hot path (an enum attribute lookup costs ~45 ns)
_ARCHIVE = OutcomeKind.ARCHIVE
_COMPLETE = OutcomeKind.COMPLETE
_DONE = OutcomeKind.DONE
_REQUEUE = OutcomeKind.REQUEUE
_RETRY = OutcomeKind.RETRY


@dataclass(slots=True)
class Outcome:
    """How one leased task ends. `kind`: an OutcomeKind (done | complete | retry | archive | requeue).

    `event` names the history event (succeeded, revoked, failed, retried, canceled, recovered,
    archived, requeued). `raw` is set for a record that does not decode: it is archived as stored.
    """

    kind: OutcomeKind | str
    msg: TaskMessage | None
    task_id: str
    queue: str
    event: str = ""
    error: str = ""
    duration_ms: float | None = None
    retry_delay: float = 0.0          # seconds from now (retry)
    is_failure: bool = True           # retry: count it and increment retried
    result: bytes | None = None       # complete: result to store (None = leave as is)
    raw: bytes | None = None


#: The former name of Outcome.
Finish = Outcome


class Leased(list):  # type: ignore[type-arg]
    """Leased tasks [(queue, id, msg bytes)]; `corrupt` lists the keys of the wrong type the
    dequeue stepped around: (queue, key, what was done). A queue whose pending, active or lease
    key is corrupt was skipped; a task key that is not a hash had its id dropped from active."""

    corrupt: list[tuple[str, str, str]]
    #: queues whose wake key is not a list: leave them out of the next waits (BLPOP would fail)
    no_wake: list[str]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.corrupt = []
        self.no_wake = []


def _corrupt_text(q: str, key: str, found: str) -> str:
    """What the dequeue did about a key of the wrong type, for the worker's log."""
    if key in (keys.pending(q), keys.active(q)):
        return f"{key} holds a {found}, not a list: queue {q!r} is skipped until it is repaired"
    if key == keys.lease(q):
        return f"{key} holds a {found}, not a sorted set: queue {q!r} is skipped until it is repaired"
    if key == keys.wake(q):
        return f"{key} holds a {found}, not a list: queue {q!r} is polled, not woken"
    if key == keys.events(q):
        return f"{key} holds a {found}, not a stream: no history events for queue {q!r}"
    return (f"{key} holds a {found}, not a hash: the task id was dropped from active in queue {q!r} "
            f"(the key is left as it is)")


@dataclass(slots=True)
class WorkerState:
    """One running task, as shown in asynq's WorkerInfo."""

    task_id: str
    task_type: str
    payload: bytes | None
    queue: str
    started: datetime
    deadline: datetime | None


@dataclass(slots=True)
class ServerState:
    """asynq's ServerInfo for this worker process."""

    host: str
    pid: int
    server_id: str
    concurrency: int
    queues: dict[str, int]
    strict_priority: bool
    status: str
    started: datetime
    active_workers: int = 0
    workers: list[WorkerState] = field(default_factory=list)

    @classmethod
    def new(cls, concurrency: int, queues: dict[str, int], strict: bool) -> ServerState:
        return cls(socket.gethostname(), os.getpid(), str(uuid.uuid4()), concurrency, dict(queues),
                   strict, "active", datetime.now(_UTC))


class CancelSubscription:
    """`asynq:cancel` messages as task ids; keeps the pub/sub connection inside rdb."""

    def __init__(self, client: redis.Redis) -> None:
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(keys.CANCEL_CHANNEL)

    def get(self, timeout: float) -> str | None:
        """The next cancelled task id, or None after `timeout` seconds."""
        message = self._pubsub.get_message(timeout=timeout)
        if not message or message.get("type") != "message":
            return None
        data = message["data"]
        return data.decode() if isinstance(data, bytes) else str(data)

    def __iter__(self) -> Iterator[str]:
        while True:
            tid = self.get(1.0)
            if tid is not None:
                yield tid

    def close(self) -> None:
        try:
            self._pubsub.close()
        except Exception:  # pragma: no cover - best effort on a broken connection
            pass


def _duration(f: Outcome) -> str:
    """The run time in ms as the scripts store it, "" when unknown."""
    return "" if f.duration_ms is None else f"{f.duration_ms:.3f}"


class WorkerOpsMixin(RDBBase):
    # ---- small helpers ----
    def _minute_parts(self) -> tuple[str, str]:
        """(UTC day, HHMM) of now, for the per-minute history counters (formatted once a minute:
        two strftime calls cost ~3 µs per acknowledging round trip)."""
        global _MINUTE_PARTS
        minute = int(self.clock.time() // 60)
        cached = _MINUTE_PARTS            # one tuple, read once: safe across threads
        if cached[0] != minute:
            now = datetime.fromtimestamp(minute * 60, _UTC)
            cached = _MINUTE_PARTS = (minute, (now.strftime("%Y-%m-%d"), now.strftime("%H%M")))
        return cached[1]

    # ---- dequeue and wake-up ----
    def _dequeue_args(self, queues: list[str], max_count: int, lease_seconds: float,
                      worker_id: str, token: str = "", acked: str = "") -> tuple[list[Any], list[Any]]:
        k: list[str] = []
        for q in queues:
            k += [keys.pending(q), keys.paused(q), keys.active(q), keys.lease(q), keys.wake(q), keys.events(q),
                  keys.dequeue_receipt(q, worker_id)]
        expiry = int(self.clock.time() + lease_seconds)
        return k, [expiry, max_count, self.events_maxlen, worker_id, token, acked,
                   *(keys.task_prefix(q) for q in queues)]

    @staticmethod
    def _leased(queues: list[str], flat: list[Any]) -> Leased:
        out = Leased()
        for i in range(0, len(flat), 3):
            n, tid = int(flat[i]), flat[i + 1]
            tid = tid.decode() if isinstance(tid, bytes) else tid
            if n < 0:      # a corrupt key the script stepped around
                found = flat[i + 2]
                q = queues[-n - 1]
                text = found.decode() if isinstance(found, bytes) else found
                out.corrupt.append((q, tid, _corrupt_text(q, tid, text)))
                continue
            out.append((queues[n - 1], tid, flat[i + 2]))
        for q, key, _ in out.corrupt:
            if key == keys.wake(q):
                out.no_wake.append(q)
        return out

    def dequeue(self, queues: list[str], max_count: int, lease_seconds: float,
                worker_id: str = "", token: str = "", acked: str = "") -> Leased:
        """Lease up to `max_count` tasks, trying `queues` in order; [(queue, id, msg bytes)].
        With a `token`, the leased ids are kept in the worker's receipts until its next call
        (`acked` = the token of its last call whose reply arrived), for `reclaim_dequeue`."""
        if not queues or max_count <= 0:
            return Leased()
        k, a = self._dequeue_args(queues, max_count, lease_seconds, worker_id, token, acked)
        return self._leased(queues, self.scripts.run("dequeue", k, a))

    def wait_and_dequeue(self, items: list[Outcome], queues: list[str], max_count: int, lease_seconds: float,
                         worker_id: str, timeout: float,
                         skip_wake: set[str] | frozenset[str] = frozenset(), token: str = "",
                         acked: str = "") -> tuple[list[bool], bool, Leased]:
        """One round trip for an idle worker: write `items`, BLPOP the wake keys (and this worker's
        own key) up to `timeout`, then dequeue. Redis runs the pipelined dequeue right after BLPOP
        returns, so a task from our Client starts one round trip after it is enqueued, and a
        timeout doubles as the ~1 s poll for tasks from other producers. Queues in `skip_wake`
        (their wake key has the wrong type) are not waited on; a wake key of the wrong type is
        reported in the result's `corrupt` (BLPOP refuses it at once, which would spin).
        Returns (codes of items, woken by a token, leased tasks)."""
        calls: list[Any] = self._outcome_calls(items, worker_id) if items else []
        k, a = self._dequeue_args(queues, max_count, lease_seconds, worker_id, token, acked)
        commands: list[Any] = [ScriptCall(name, ck, ca) for name, ck, ca, _ in calls]
        commands.append(("BLPOP", *(keys.wake(q) for q in queues if q not in skip_wake),
                         keys.worker_wake(worker_id), max(min(timeout, self.max_block_seconds()), 0.01)))
        commands.append(ScriptCall("dequeue", k, a))
        results = self.scripts.execute(commands)
        codes = self._codes(len(items), calls, results[:len(calls)]) if items else []
        woke, leased = results[-2], results[-1]
        if isinstance(leased, Exception):
            raise leased
        out = self._leased(queues, leased)
        if is_wrongtype(woke):
            wake = {keys.wake(q): q for q in queues if q not in skip_wake}
            for key, found, _ in wrong_types(self.client, dict.fromkeys(wake, "list")):
                out.corrupt.append((wake[key], key, _corrupt_text(wake[key], key, found)))
                out.no_wake.append(wake[key])
        return codes, bool(woke) and not isinstance(woke, Exception), out

    def max_block_seconds(self) -> float:
        """The longest a blocking wait may take: under half the client's command timeout, so an
        idle wait is never mistaken for a stalled Redis."""
        pool = getattr(self.client, "connection_pool", None)      # absent on a cluster client
        timeout = getattr(pool, "connection_kwargs", {}).get("socket_timeout")
        return float("inf") if not timeout else max(float(timeout) / 2, 0.01)

    def reclaim_dequeue(self, queues: list[str], token: str, worker_id: str) -> int:
        """Give back what the dequeue call `token` leased if its reply was lost (and void the token
        so a late arrival leases nothing); the number of tasks given back."""
        k: list[str] = []
        for q in queues:
            k += [keys.dequeue_receipt(q, worker_id), keys.active(q), keys.lease(q), keys.pending(q), keys.wake(q),
                  keys.events(q)]
        return int(self.scripts.run("reclaim_dequeue", k, [token, self.now_ns(), self.events_maxlen, worker_id,
                                                            *(keys.task_prefix(q) for q in queues)]))

    def interrupt_wait(self, worker_id: str) -> None:
        """Wake this worker's pending wait_and_dequeue at once (used by stop)."""
        self.scripts.lean.execute_many([("LPUSH", keys.worker_wake(worker_id), "stop"),
                                        ("EXPIRE", keys.worker_wake(worker_id), 10)])

    # ---- outcomes of finished tasks ----
    # One method per outcome script, each returning (script, KEYS, ARGV); `_OUTCOME_CALLS` maps
    # every OutcomeKind but DONE to its method (DONE: done.lua, batched per queue in _outcome_calls).
    def _complete_call(self, f: Outcome, worker_id: str, day: str, hhmm: str,
                       now: int) -> tuple[str, list[Any], list[Any]]:
        """mark_as_complete.lua: kept as completed for its retention, with its result."""
        q, tid, m = f.queue, f.task_id, f.msg
        assert m is not None
        done = replace(m, completed_at=now)
        k = [keys.active(q), keys.lease(q), keys.completed(q), keys.task(q, tid), keys.processed(q, day),
             keys.processed_total(q), keys.events(q), keys.minute_stats(q, day)]
        a = [tid, self.stats_expiry(), now + m.retention, encode_task_message(done), MAX_INT64,
             m.unique_key, m.type, _duration(f) or "0", self.events_maxlen, "p:" + hhmm, MINUTES_TTL_SECONDS,
             worker_id, f.result or b"", "0" if f.result is None else "1"]
        return "mark_as_complete", k, a

    def _retry_call(self, f: Outcome, worker_id: str, day: str, hhmm: str,
                    now: int) -> tuple[str, list[Any], list[Any]]:
        """retry.lua: into the retry set, due in `retry_delay` seconds."""
        q, tid, m = f.queue, f.task_id, f.msg
        assert m is not None
        new = replace(m, error_msg=f.error, last_failed_at=now,
                      retried=m.retried + 1 if f.is_failure else m.retried)
        k = [keys.task(q, tid), keys.active(q), keys.lease(q), keys.retry(q), keys.processed(q, day),
             keys.failed(q, day), keys.processed_total(q), keys.failed_total(q), keys.events(q),
             keys.minute_stats(q, day)]
        a = [tid, encode_task_message(new), int(now + f.retry_delay), self.stats_expiry(),
             "1" if f.is_failure else "0", MAX_INT64, m.type, f.error, f.event or "failed", self.events_maxlen, hhmm,
             MINUTES_TTL_SECONDS, worker_id, _duration(f)]
        return "retry", k, a

    def _archive_call(self, f: Outcome, worker_id: str, day: str, hhmm: str,
                      now: int) -> tuple[str, list[Any], list[Any]]:
        """archive.lua: archived (as stored when the record did not decode: `raw`)."""
        q, tid, m = f.queue, f.task_id, f.msg
        data = f.raw if m is None else encode_task_message(replace(m, error_msg=f.error, last_failed_at=now))
        k = [keys.task(q, tid), keys.active(q), keys.lease(q), keys.archived(q), keys.processed(q, day),
             keys.failed(q, day), keys.processed_total(q), keys.failed_total(q), keys.task_prefix(q),
             keys.events(q), keys.minute_stats(q, day)]
        a = [tid, data or b"", now, now - ARCHIVE_MAX_AGE_SECONDS, ARCHIVE_MAX_SIZE, self.stats_expiry(),
             MAX_INT64, m.type if m is not None else "", f.error, self.events_maxlen, hhmm, MINUTES_TTL_SECONDS,
             worker_id, _duration(f)]
        return "archive", k, a

    def _requeue_call(self, f: Outcome, worker_id: str, day: str, hhmm: str,
                      now: int) -> tuple[str, list[Any], list[Any]]:
        """requeue.lua: back to the consumption end of pending."""
        q, tid, m = f.queue, f.task_id, f.msg
        k = [keys.active(q), keys.lease(q), keys.pending(q), keys.task(q, tid), keys.wake(q), keys.events(q)]
        return "requeue", k, [tid, self.now_ns(), m.type if m is not None else "", self.events_maxlen, worker_id]

    _OUTCOME_CALLS: dict[str, Callable[..., tuple[str, list[Any], list[Any]]]] = {
        OutcomeKind.COMPLETE: _complete_call,
        OutcomeKind.RETRY: _retry_call,
        OutcomeKind.ARCHIVE: _archive_call,
        OutcomeKind.REQUEUE: _requeue_call,
    }

    def _outcome_call(self, f: Outcome, worker_id: str, day: str, hhmm: str,
                      now: int) -> tuple[str, list[Any], list[Any]]:
        """The script call that writes one outcome (any kind but DONE)."""
        call = self._OUTCOME_CALLS.get(f.kind)
        if call is None:
            raise ValueError(f"unknown outcome kind {f.kind!r}")
        return call(self, f, worker_id, day, hhmm, now)

    def _outcome_calls(self, items: list[Outcome], worker_id: str) -> list[tuple[str, list[Any], list[Any], list[int]]]:
        """(script, KEYS, ARGV, item indexes): successes of one queue share one `done` call."""
        day, hhmm = self._minute_parts()
        now = self.now_s()
        calls: list[tuple[str, list[Any], list[Any], list[int]]] = []
        done_by_queue: dict[str, list[int]] = {}
        for i, f in enumerate(items):
            if f.kind == _DONE:
                done_by_queue.setdefault(f.queue, []).append(i)
            else:
                name, k, a = self._outcome_call(f, worker_id, day, hhmm, now)
                calls.append((name, k, a, [i]))
        for q, idx in done_by_queue.items():
            k = [keys.active(q), keys.lease(q), keys.processed(q, day), keys.processed_total(q), keys.events(q),
                 keys.minute_stats(q, day)]
            a = [self.stats_expiry(), MAX_INT64, self.events_maxlen, "p:" + hhmm, MINUTES_TTL_SECONDS,
                            worker_id, keys.task_prefix(q)]
            for i in idx:
                f = items[i]
                m = f.msg
                a += [f.task_id, m.type if m else "", "0" if f.duration_ms is None else f"{f.duration_ms:.3f}",
                      m.unique_key if m else "", f.event or "succeeded"]
            calls.append(("done", k, a, idx))
        return calls

    def _run_calls(self, calls: list[tuple[str, list[Any], list[Any], Any]]) -> list[Any]:
        """One round trip of script calls; results (errors as values), NOSCRIPT handled."""
        return self.scripts.execute([ScriptCall(name, k, a) for name, k, a, _ in calls])

    def _codes(self, n: int, calls: list[Any], results: list[Any]) -> list[bool]:
        out = [False] * n
        for (name, _, _, idx), res in zip(calls, results):
            if isinstance(res, Exception):
                if "NOT FOUND" in str(res):
                    res = 0
                else:
                    raise res
            self._store_codes(out, name, res, idx)
        return out

    def write_outcomes(self, items: list[Outcome], worker_id: str = "") -> list[bool]:
        """Write many outcomes in one pipelined round trip; per item True, or False (NOT FOUND).

        Connection errors propagate (the caller keeps the items for its syncer).
        """
        if not items:
            return []
        calls = self._outcome_calls(items, worker_id)
        return self._codes(len(items), calls, self._run_calls(calls))

    def write_outcomes_and_dequeue(self, items: list[Outcome], queues: list[str], max_count: int, lease_seconds: float,
                           worker_id: str = "", token: str = "", acked: str = "") -> tuple[list[bool], Leased]:
        """Acknowledge `items` and lease more tasks in the same round trip: (codes, leased)."""
        if not items:
            return [], self.dequeue(queues, max_count, lease_seconds, worker_id, token, acked)
        calls: list[Any] = self._outcome_calls(items, worker_id)
        k, a = self._dequeue_args(queues, max_count, lease_seconds, worker_id, token, acked)
        results = self._run_calls([*calls, ("dequeue", k, a, None)])
        leased = results[-1]
        codes = self._codes(len(items), calls, results[:-1])
        if isinstance(leased, Exception):
            raise leased
        return codes, self._leased(queues, leased)

    @staticmethod
    def _store_codes(out: list[bool], name: str, res: Any, idx: list[int]) -> None:
        if name == "done":
            for i, code in zip(idx, res):
                out[i] = int(code) == 1
        else:
            out[idx[0]] = int(res) == 1

    # ---- scheduled/retry forwarding, leases, janitor, results ----
    def forward(self, queue: str) -> int:
        """Move every due scheduled and retry task to pending (or back into its group)."""
        return self.forward_report(queue)[0]

    def forward_report(self, queue: str) -> tuple[int, list[tuple[str, str]]]:
        """`forward`, plus the keys of the wrong type it stepped around: [(key, what was done)].
        A pending list of the wrong type raises CorruptStateError (nothing moved)."""
        total = 0
        bad: dict[str, str] = {}
        for src in (keys.scheduled(queue), keys.retry(queue)):
            k = [src, keys.pending(queue), keys.groups(queue), keys.wake(queue)]
            while True:
                try:
                    out = self.scripts.run("forward", k, [self.now_s(), keys.task_prefix(queue), self.now_ns(),
                                                          keys.group_prefix(queue)])
                except redis.ResponseError as exc:
                    raise corrupt_error(self.client, exc, {src: "zset", keys.pending(queue): "list",
                                                           keys.groups(queue): "set"}) from None
                n = int(out[0])
                for key in out[1:]:
                    key = key.decode() if isinstance(key, bytes) else key
                    bad[key] = (f"{key} is not a hash: its id was dropped from {src}"
                                if key.startswith(keys.task_prefix(queue)) else
                                f"{key} is not a sorted set: its tasks stay in {src}")
                total += n
                if n == 0:
                    break
        return total, list(bad.items())

    def list_lease_expired(self, queue: str, cutoff: datetime) -> list[tuple[str, bytes]]:
        """(id, msg bytes) of active tasks whose lease expired before `cutoff`; ids whose task key
        is not a hash are dropped from lease/active (see `list_lease_expired_report`)."""
        return self.list_lease_expired_report(queue, cutoff)[0]

    def list_lease_expired_report(self, queue: str,
                                  cutoff: datetime) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
        """`list_lease_expired`, plus [(task key, what was done)] for task keys of the wrong type."""
        try:
            flat = self.scripts.run("list_lease_expired", [keys.lease(queue), keys.active(queue)],
                                    [int(cutoff.timestamp()), keys.task_prefix(queue)])
        except redis.ResponseError as exc:
            raise corrupt_error(self.client, exc, {keys.lease(queue): "zset", keys.active(queue): "list"}) from None
        out, bad = [], []
        for i in range(0, len(flat), 2):
            tid = flat[i].decode()
            if isinstance(flat[i + 1], int):
                key = keys.task(queue, tid)
                bad.append((key, f"{key} is not a hash: its id was dropped from lease and active"))
            else:
                out.append((tid, flat[i + 1]))
        return out, bad

    def extend_lease(self, queue: str, task_ids: list[str], lease_seconds: float) -> datetime:
        """`ZADD lease XX` for running tasks; returns the new expiry."""
        expiry = int(self.clock.time() + lease_seconds)
        if task_ids:
            self.client.zadd(keys.lease(queue), {tid: expiry for tid in task_ids}, xx=True)
        return datetime.fromtimestamp(expiry, _UTC)

    def delete_expired_completed(self, queue: str, batch_size: int = 100) -> int:
        total = 0
        while True:
            n = int(self.scripts.run("delete_expired_completed", [keys.completed(queue)],
                                     [self.now_s(), keys.task_prefix(queue), batch_size]))
            total += n
            if n < batch_size:
                return total

    def write_result(self, queue: str, task_id: str, data: bytes | None) -> int:
        """HSET result (asynq's ResultWriter); returns the number of bytes written."""
        self.client.hset(keys.task(queue, task_id), "result", data or b"")
        return len(data or b"")

    # ---- presence ----
    def write_server_state(self, state: ServerState, ttl_seconds: int = 10) -> None:
        info = pb.ServerInfo(host=state.host, pid=state.pid, server_id=state.server_id,
                             concurrency=state.concurrency, strict_priority=state.strict_priority,
                             status=state.status, active_worker_count=state.active_workers)
        info.queues.update(state.queues)
        info.start_time.CopyFrom(to_timestamp(state.started))
        args: list[Any] = [int(ttl_seconds), info.SerializeToString()]
        for w in state.workers:
            wi = pb.WorkerInfo(host=state.host, pid=state.pid, server_id=state.server_id, task_id=w.task_id,
                               task_type=w.task_type, task_payload=w.payload or b"", queue=w.queue)
            wi.start_time.CopyFrom(to_timestamp(w.started))
            wi.deadline.CopyFrom(to_timestamp(w.deadline))
            args += [w.task_id, wi.SerializeToString()]
        skey = keys.server_info(state.host, state.pid, state.server_id)
        wkey = keys.workers(state.host, state.pid, state.server_id)
        expiry = self.now_s() + int(ttl_seconds)
        res = self.scripts.execute([("ZADD", keys.ALL_SERVERS, expiry, skey),
                                    ("ZADD", keys.ALL_WORKERS, expiry, wkey),
                                    ScriptCall("write_server_state", [skey, wkey], args)])
        for reply in res:
            if isinstance(reply, Exception):
                raise reply

    def clear_server_state(self, host: str, pid: int, server_id: str) -> None:
        skey, wkey = keys.server_info(host, pid, server_id), keys.workers(host, pid, server_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(keys.ALL_SERVERS, skey)
        pipe.zrem(keys.ALL_WORKERS, wkey)
        pipe.delete(skey, wkey)
        pipe.execute()

    def subscribe_cancel(self) -> CancelSubscription:
        return CancelSubscription(self.client)

    # ---- group aggregation (asynq-protocol.md §6.3) ----
    def list_groups(self, queue: str) -> list[str]:
        return sorted(g.decode() if isinstance(g, bytes) else g for g in self.client.smembers(keys.groups(queue)))

    def aggregation_check(self, queue: str, group: str, grace_s: int, max_delay_s: int,
                          max_size: int) -> str | None:
        """Cut a due aggregation set from `group`; its key, or None."""
        set_key = keys.aggregation_set(queue, group, str(uuid.uuid4()))
        now = self.now_s()
        created = self.scripts.run(
            "aggregation_check",
            [keys.group(queue, group), set_key, keys.aggregation_sets(queue), keys.groups(queue)],
            [max_size, max_delay_s, grace_s, now + 120, now, group])
        return set_key if int(created) == 1 else None

    def read_aggregation_set(self, queue: str, set_key: str) -> tuple[list[bytes], datetime | None]:
        """The set's stored messages (oldest first) and its deadline."""
        out = self.scripts.run("read_aggregation_set", [set_key, keys.aggregation_sets(queue)],
                               [keys.task_prefix(queue)])
        deadline = datetime.fromtimestamp(float(out[0]), _UTC) if out and out[0] else None
        return list(out[1:]), deadline

    def delete_aggregation_set(self, queue: str, set_key: str) -> int:
        return int(self.scripts.run("delete_aggregation_set", [set_key, keys.aggregation_sets(queue)],
                                    [keys.task_prefix(queue)]))

    def reclaim_stale_aggregation_sets(self, queue: str) -> int:
        return int(self.scripts.run("reclaim_stale_aggregation_sets",
                                    [keys.aggregation_sets(queue), keys.groups(queue)],
                                    [self.now_s(), keys.group_prefix(queue)]))
