"""Producer transitions: enqueue, enqueue_unique, schedule, schedule_unique, add_to_group,
add_to_group_unique, and a pipelined batch of them (asynq rdb.go, client side)."""

from __future__ import annotations

import hashlib
from time import monotonic
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable, Iterator, Sequence

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from ..errors import DuplicateTaskError, TaskIDConflictError
from . import keys
from ..clock import SystemClock
from .base import QUEUE_CACHE_SECONDS, RDBBase
from .guard import CAUGHT, reraise, translates_itself
from .lean import SLOT, AmbiguousWriteError, InFlight, PartialTransactionError, SentTransaction, resp_format
from .records import TaskMessage
from .scripts import ScriptCall
from .wire import encode_plain_message, encode_plain_messages, encode_task_message

__all__ = [
    "ProducerMixin", "EnqueueRequest", "PlainTasks", "PendingWrite", "WRITTEN", "ENQUEUED", "CONFLICT", "DUPLICATE",
]

ENQUEUED, CONFLICT, DUPLICATE = 1, 0, -1
#: Tasks per enqueue_batch call (bounds the script's run time and its argument list).
_BATCH_MAX = 500


@dataclass(slots=True)
class EnqueueRequest:
    """One task to write. process_at 0 = now; unique_key "" = not unique; group "" = none."""

    message: TaskMessage
    process_at: int = 0
    unique_key: str = ""
    unique_ttl: int = 0
    group: str = ""

    @property
    def state(self) -> str:
        if self.process_at:
            return "scheduled"
        return "aggregating" if self.group else "pending"


@dataclass(slots=True)
class PlainTasks:
    """Fresh tasks of one queue for right now that share every option (no unique key, group,
    headers or schedule), held column-wise: enqueue_many's fast path. Each is written exactly as
    an EnqueueRequest of the same message would be (same script, same bytes)."""

    queue: str
    retry: int
    timeout: int
    deadline: int
    retention: int
    ids: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    payloads: list[bytes | None] = field(default_factory=list)

    def add(self, task_id: str, task_type: str, payload: bytes | None) -> None:
        self.ids.append(task_id)
        self.types.append(task_type)
        self.payloads.append(payload)


def raise_for_code(code: int) -> None:
    if code == CONFLICT:
        raise TaskIDConflictError()
    if code == DUPLICATE:
        raise DuplicateTaskError()


class ProducerMixin(RDBBase):
    @staticmethod
    def unique_key(queue: str, task_type: str, payload: bytes | None) -> str:
        """asynq's lock key: md5 hex of the payload, nothing after the colon for a nil payload."""
        checksum = "" if payload is None else hashlib.md5(payload).hexdigest()
        return keys.unique(queue, task_type, checksum)

    def _script_call(self, req: EnqueueRequest, now_ns: int, now_s: int) -> tuple[str, list[Any], list[Any]]:
        """Which script writes this request, with its KEYS and ARGV."""
        m = req.message
        q, tid = m.queue, m.id
        msg = encode_task_message(m)
        maxlen = self.events_maxlen
        if req.process_at:
            if req.unique_key:
                return "schedule_unique", [req.unique_key, keys.task(q, tid), keys.scheduled(q), keys.events(q)], \
                    [tid, req.unique_ttl, req.process_at, msg, m.type, maxlen]
            return "schedule", [keys.task(q, tid), keys.scheduled(q), keys.events(q)], \
                [msg, req.process_at, tid, m.type, maxlen]
        if req.group:
            if req.unique_key:
                return "add_to_group_unique", [keys.task(q, tid), keys.group(q, req.group), keys.groups(q),
                                               req.unique_key, keys.events(q)], \
                    [msg, tid, now_s, req.group, req.unique_ttl, m.type, maxlen]
            return "add_to_group", [keys.task(q, tid), keys.group(q, req.group), keys.groups(q), keys.events(q)], \
                [msg, tid, now_s, req.group, m.type, maxlen]
        if req.unique_key:
            return "enqueue_unique", [req.unique_key, keys.task(q, tid), keys.pending(q), keys.wake(q),
                                      keys.events(q)], \
                [tid, req.unique_ttl, msg, now_ns, m.type, maxlen]
        return self._enqueue_call(q, tid, msg, m.type, now_ns)

    def write_task(self, req: EnqueueRequest) -> None:
        """Write one task (one round trip); raises TaskIDConflictError / DuplicateTaskError."""
        self.start_task(req).finish()

    def start_task(self, req: EnqueueRequest) -> PendingWrite:
        """`write_task` in two steps: the write is sent now and `finish()` on the result reads
        its reply (and raises what write_task raises), so the caller's own work overlaps the
        round trip (Client builds the TaskInfo meanwhile)."""
        name, k, a = self._script_call(req, self.now_ns(), self.now_s())
        return self._start_one(req.message.queue, name, k, a)

    @translates_itself
    def start_plain_task(self, queue: str, retry: int, timeout: int, deadline: int, retention: int,
                         task_type: str, task_id: str, payload: bytes | None) -> PendingWrite:
        """Start writing one fresh task with only these fields set and a generated ID
        (Client.enqueue's fast path): the records write_task leaves for the same message.
        `finish()` on the result completes it (see start_task).

        On a queue already registered, the writes go as one MULTI/EXEC transaction of plain
        commands instead of the `enqueue` script: the same records, applied together, ~15 % less
        Redis CPU and a ~8 µs shorter round trip (Lua's per-call overhead; benchmarks/README.md).
        The script's ID check is what it skips: an ID drawn from 122 random bits does not collide.
        """
        try:
            msg = encode_plain_message(queue, retry, timeout, deadline, retention, task_type, task_id, payload)
            now_ns = time.time_ns() if type(self.clock) is SystemClock else self.now_ns()
            maxlen = self.events_maxlen
            parts = self._plain_parts.get(queue)
            # the queue registered within QUEUE_CACHE_SECONDS (queue_is_known, inlined: hot path)
            if parts is None or parts[0] != maxlen or \
                    monotonic() - self._known_queues.get(queue, -1e9) > QUEUE_CACHE_SECONDS:
                if not (self.scripts.lean.takes_transactions and self.queue_is_known(queue)):   # script (+ SADD)
                    return self._start_one(queue, *self._enqueue_call(queue, task_id, msg, task_type, now_ns))
                parts = self._remember_plain_parts(queue, maxlen)
            _, fmt, count, prefix = parts
            tid = task_id.encode()
            key = prefix + tid
            now = b"%d" % now_ns
            if maxlen > 0:
                kind = task_type.encode()
                body = fmt % (len(key), key, len(msg), msg, len(now), now, len(tid), tid, len(tid), tid,
                              len(kind), kind)
            else:
                body = fmt % (len(key), key, len(msg), msg, len(now), now, len(tid), tid)
            try:
                sent = self.scripts.lean.send_transaction(body, count)
            except RedisConnectionError:   # ambiguous, or no connection of ours free
                _PlainWrite(self, queue, task_id, msg, task_type, now_ns, maxlen, None).write_again()
                return WRITTEN
            # built while the write is on its way: off the round trip's critical path
            return _PlainWrite(self, queue, task_id, msg, task_type, now_ns, maxlen, sent)
        except CAUGHT as exc:   # this hot method translates itself (see guard.translates_itself)
            reraise(self.client, exc)
            raise   # unreachable: reraise always raises

    def _undo_plain(self, queue: str, task_id: str, replies: list[Any], maxlen: int, exc: ResponseError) -> None:
        """A start_plain_task transaction half applied (a key of the wrong type, say a string
        where the pending list belongs): take back what went in, then raise naming the key.
        Returns without raising only when a worker already took the task (it is then fully in)."""
        pending_ok = not isinstance(replies[1], ResponseError)
        event_id = replies[2] if maxlen > 0 and not isinstance(replies[2], ResponseError) else b""
        kept = self.scripts.run("enqueue_undo", [keys.task(queue, task_id), keys.pending(queue), keys.events(queue)],
                                [task_id, 1 if pending_ok else 0, event_id])
        if kept:
            return
        names = [keys.task(queue, task_id), keys.pending(queue)]
        if maxlen > 0:
            names.append(keys.events(queue))
        names += [keys.wake(queue), keys.wake(queue)]
        failed = next(k for k, r in zip(names, replies) if isinstance(r, ResponseError))
        kind = self.client.type(failed)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        want = {keys.pending(queue): "list", keys.wake(queue): "list", keys.events(queue): "stream"}.get(failed, "hash")
        raise ResponseError(f"WRONGTYPE key {failed} holds a {kind}, not a {want}; nothing was written") from exc

    def _remember_plain_parts(self, queue: str, maxlen: int) -> tuple[int, bytes, int, bytes]:
        """A queue's transaction body for start_plain_task as a format (see resp_format), its
        command count and the task-key prefix, built once per queue (and events cap).
        Holes: task key, msg, now; task ID; and with events, the ID and the type again."""
        if len(self._plain_parts) >= 1024:
            self._plain_parts.clear()
        wake = keys.wake(queue)
        commands: list[tuple[Any, ...]] = [
            ("HSET", SLOT, "msg", SLOT, "state", "pending", "pending_since", SLOT),
            ("LPUSH", keys.pending(queue), SLOT),
        ]
        if maxlen > 0:
            commands.append(("XADD", keys.events(queue), "MAXLEN", "~", maxlen, "*",
                             "e", "enqueued", "id", SLOT, "t", SLOT))
        commands += [("LPUSH", wake, "1"), ("LTRIM", wake, 0, 0)]   # one wake-up token at most
        parts = self._plain_parts[queue] = (maxlen, resp_format(commands), len(commands),
                                            keys.task_prefix(queue).encode())
        return parts

    def _enqueue_call(self, queue: str, task_id: str, msg: bytes, task_type: str,
                      now_ns: int) -> tuple[str, list[Any], list[Any]]:
        """The `enqueue` script's KEYS and ARGV for one task."""
        ks = self._enqueue_keys.get(queue) or self._remember_enqueue_keys(queue)
        return "enqueue", [ks[0] + task_id, ks[1], ks[2], ks[3]], [msg, task_id, now_ns, task_type, self.events_maxlen]

    def _remember_enqueue_keys(self, queue: str) -> tuple[str, str, str, str]:
        """Task-key prefix, pending, wake and events keys of a queue, built once per queue."""
        if len(self._enqueue_keys) >= 1024:
            self._enqueue_keys.clear()
        ks = self._enqueue_keys[queue] = (keys.task_prefix(queue), keys.pending(queue), keys.wake(queue),
                                          keys.events(queue))
        return ks

    def _start_one(self, queue: str, name: str, k: list[Any], a: list[Any]) -> PendingWrite:
        todo = self.queues_to_register((queue,))
        if not todo:
            return _ScriptWrite(self.client, self.scripts.send(name, k, a))
        # SADD asynq:queues rides in the same round trip as the script
        try:
            code = self._run_pipelined([(name, k, a)], todo)[0]
        except Exception:
            self.forget_queue(queue)
            raise
        if isinstance(code, Exception):
            self.forget_queue(queue)
            raise code
        if code != 1:
            raise_for_code(int(code))
        return WRITTEN

    def write_tasks(self, reqs: list[EnqueueRequest]) -> list[int]:
        """Write many tasks in one pipelined round trip (no MULTI); returns a code per task."""
        return self.write_task_chunks([reqs]) if reqs else []

    def write_task_chunks(self, chunks: Iterable[Sequence[EnqueueRequest | PlainTasks]]) -> list[int]:
        """Write tasks chunk by chunk down one connection, reading every reply at the end, so
        the caller can build the next chunk while Redis runs the previous one. Returns a code per
        task, in order (1 written, 0 ID conflict, -1 duplicate).

        Plain tasks (a PlainTasks, or consecutive plain pending EnqueueRequests of one queue) go
        through one `enqueue_batch` call per 500 (same effect as `enqueue` per task, far less
        overhead); the others through their own script.
        """
        layout: list[tuple[bool, list[int]]] = []   # per chunk: SADD sent?, spans of its calls
        registered: list[str] = []

        def commands() -> Iterator[list[Any]]:
            for items in chunks:
                calls, spans = self._chunk_calls(items)
                todo = self.queues_to_register({_queue_of(item) for item in items})
                registered.extend(todo)
                out: list[Any] = [("SADD", keys.ALL_QUEUES, *todo)] if todo else []
                out += [ScriptCall(name, k, a) for name, k, a in calls]
                layout.append((bool(todo), spans))
                yield out

        try:
            results = self.scripts.stream(commands())
        except Exception:
            for q in registered:
                self.forget_queue(q)
            raise
        codes: list[int] = []
        pos = 0
        for sadd, spans in layout:
            if sadd:
                if isinstance(results[pos], Exception):
                    self._forget_all(registered)
                    raise results[pos]
                pos += 1
            for span in spans:
                c = results[pos]
                pos += 1
                if isinstance(c, Exception):
                    self._forget_all(registered)
                    raise c
                if span:
                    codes.extend(c)
                else:
                    codes.append(int(c))
        return codes

    def _forget_all(self, queues: list[str]) -> None:
        for q in queues:
            self.forget_queue(q)

    def _chunk_calls(self, items: Sequence[EnqueueRequest | PlainTasks]
                     ) -> tuple[list[tuple[str, list[Any], list[Any]]], list[int]]:
        """Script calls for one chunk, and how many tasks each covers (0 = a single-task script)."""
        now_ns, now_s = self.now_ns(), self.now_s()
        calls: list[tuple[str, list[Any], list[Any]]] = []
        spans: list[int] = []
        i, n = 0, len(items)
        while i < n:
            item = items[i]
            if isinstance(item, PlainTasks):
                msgs = encode_plain_messages(item.queue, item.retry, item.timeout, item.deadline, item.retention,
                                             item.types, item.ids, item.payloads)
                for lo in range(0, len(msgs), _BATCH_MAX):
                    hi = lo + _BATCH_MAX
                    calls.append(self._batch_call(item.queue, item.ids[lo:hi], item.types[lo:hi], msgs[lo:hi],
                                                  now_ns))
                    spans.append(len(msgs[lo:hi]))
                i += 1
                continue
            j = i
            q = item.message.queue
            reqs: list[EnqueueRequest] = []
            while j < n and j - i < _BATCH_MAX:
                nxt = items[j]
                if isinstance(nxt, PlainTasks) or not _plain(nxt) or nxt.message.queue != q:
                    break
                reqs.append(nxt)
                j += 1
            if j - i > 1:
                calls.append(self._batch_call(q, [r.message.id for r in reqs], [r.message.type for r in reqs],
                                              [encode_task_message(r.message) for r in reqs], now_ns))
                spans.append(j - i)
                i = j
            else:
                calls.append(self._script_call(item, now_ns, now_s))
                spans.append(0)
                i += 1
        return calls, spans

    def _batch_call(self, q: str, ids: list[str], types: list[str], msgs: list[bytes], now_ns: int
                    ) -> tuple[str, list[Any], list[Any]]:
        prefix = keys.task_prefix(q)
        ks: list[Any] = [keys.pending(q), keys.wake(q), keys.events(q)]
        ks += [prefix + tid for tid in ids]
        args: list[Any] = [now_ns, self.events_maxlen]
        for msg, tid, typ in zip(msgs, ids, types):
            args += (msg, tid, typ)
        return "enqueue_batch", ks, args

    def _run_pipelined(self, calls: list[tuple[str, list[Any], list[Any]]], todo: list[str]) -> list[Any]:
        """EVALSHA every call in one round trip, after an optional SADD into asynq:queues."""
        commands: list[Any] = [("SADD", keys.ALL_QUEUES, *todo)] if todo else []
        commands += [ScriptCall(name, k, a) for name, k, a in calls]
        out = self.scripts.execute(commands)
        if todo:
            if isinstance(out[0], Exception):
                raise out[0]
            out = out[1:]
        return out

    def write_items(self, items: list[EnqueueRequest | PlainTasks]) -> list[Any]:
        """Write tasks of several callers in one round trip; per task 1, 0 (ID conflict), -1
        (duplicate) or the error Redis answered for that task's call, so one caller's bad
        queue fails that caller only (Client's group commit, AsyncClient's flush)."""
        calls, spans = self._chunk_calls(items)
        todo = self.queues_to_register({_queue_of(i) for i in items})
        commands: list[Any] = [("SADD", keys.ALL_QUEUES, *todo)] if todo else []
        commands += [ScriptCall(name, k, a) for name, k, a in calls]
        try:
            results = self.scripts.execute(commands)
        except Exception:
            self._forget_all(todo)
            raise
        if todo:
            if isinstance(results[0], Exception):
                self._forget_all(todo)
            results = results[1:]
        return codes_per_task(spans, results)


class PendingWrite:
    """A task write on its way (see ProducerMixin.start_task): `finish()`, called exactly once,
    reads its reply and raises what the write raises (TaskIDConflictError, DuplicateTaskError,
    a dmq error for a Redis failure). This base is a write already complete."""

    __slots__ = ()

    def finish(self) -> None:
        return None


#: A write complete when it was started.
WRITTEN = PendingWrite()


class _ScriptWrite(PendingWrite):
    """One script call on its way; its reply is a code (1 written, 0 conflict, -1 duplicate)."""

    __slots__ = ("_client", "_sent")

    def __init__(self, client: Any, sent: InFlight) -> None:
        self._client, self._sent = client, sent

    def finish(self) -> None:
        try:
            code = self._sent.reply()
        except CAUGHT as exc:
            reraise(self._client, exc)
        if code != 1:
            raise_for_code(int(code))


class _PlainWrite(PendingWrite):
    """start_plain_task's MULTI/EXEC on its way, with what a second try through the script needs."""

    __slots__ = ("_rdb", "_queue", "_task_id", "_msg", "_type", "_now_ns", "_maxlen", "sent")

    def __init__(self, rdb: ProducerMixin, queue: str, task_id: str, msg: bytes, task_type: str,
                 now_ns: int, maxlen: int, sent: SentTransaction | None) -> None:
        self._rdb, self._queue, self._task_id, self._msg = rdb, queue, task_id, msg
        self._type, self._now_ns, self._maxlen, self.sent = task_type, now_ns, maxlen, sent

    def write_again(self) -> None:
        """Whether EXEC ran is unknown: write again through the script, whose ID check tells.
        1: written now; 0: the first attempt had written it (the ID is ours, freshly drawn)."""
        rdb = self._rdb
        rdb.scripts.run(*rdb._enqueue_call(self._queue, self._task_id, self._msg, self._type, self._now_ns))

    def finish(self) -> None:
        rdb = self._rdb
        try:
            assert self.sent is not None
            try:
                self.sent.replies()
            except PartialTransactionError as exc:   # (refused while queued: nothing applied, raised)
                rdb._undo_plain(self._queue, self._task_id, exc.replies, self._maxlen, exc)
            except AmbiguousWriteError:
                self.write_again()
        except CAUGHT as exc:
            reraise(rdb.client, exc)


def codes_per_task(spans: list[int], results: list[Any]) -> list[Any]:
    """One code (or error) per task from the replies of `_chunk_calls`' calls (span 0: a
    single-task script's int; span n: enqueue_batch's list of n codes)."""
    codes: list[Any] = []
    for span, result in zip(spans, results):
        if span:
            codes.extend([result] * span if isinstance(result, Exception) else [int(c) for c in result])
        else:
            codes.append(result if isinstance(result, Exception) else int(result))
    return codes


def _queue_of(item: EnqueueRequest | PlainTasks) -> str:
    return item.queue if isinstance(item, PlainTasks) else item.message.queue


def _plain(req: EnqueueRequest) -> bool:
    """A task enqueue_batch can write: immediate, not unique, no group."""
    return not (req.process_at or req.unique_key or req.group)
