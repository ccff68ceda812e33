"""Seed raw asynq state with keys.py + wire.py only (never through the code under test)."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timezone
from typing import Any
from collections.abc import Iterable, Sequence

from dmq_tools.rdb import keys
from dmq_tools.rdb.records import TaskMessage
from dmq_tools.rdb.wire import decode_task_message, encode_task_message, pb, to_timestamp


def seed_task(r: Any, queue: str, task_id: str, state: str = "completed", *, task_type: str = "seed",
              payload: bytes = b"seed", score: float = 0) -> bytes:
    """An existing task hash (any state) plus its container entry; returns the stored msg bytes."""
    msg = encode_task_message(TaskMessage(type=task_type, payload=payload, id=task_id, queue=queue))
    r.sadd(keys.ALL_QUEUES, queue)
    r.hset(keys.task(queue, task_id), mapping={"msg": msg, "state": state})
    if state == "pending":
        r.lpush(keys.pending(queue), task_id)
    elif state != "aggregating":
        r.zadd(keys.state_key(queue, state), {task_id: score})
    return msg


def task_hash(r: Any, queue: str, task_id: str) -> dict[str, bytes]:
    """The task hash with str field names."""
    return {k.decode(): v for k, v in r.hgetall(keys.task(queue, task_id)).items()}


def stored_message(r: Any, queue: str, task_id: str) -> TaskMessage:
    return decode_task_message(r.hget(keys.task(queue, task_id), "msg"))


def key_types(r: Any) -> dict[str, str]:
    """Every key in the db with its Redis type."""
    return {k.decode(): r.type(k).decode() for k in r.keys("*")}


# ---- inspector seeds (issue 4): every state, events, counters, servers ----


def msg(task_type: str = "email:send", payload: bytes | None = b'{"n":1}', *, queue: str = "default",
        id: str | None = None, **fields: Any) -> TaskMessage:
    """A TaskMessage with a fresh ID and asynq's defaults (retry 25, timeout 1800 s)."""
    fields.setdefault("timeout", 1800)
    return TaskMessage(type=task_type, payload=payload, id=id or str(uuid.uuid4()), queue=queue, **fields)


def _register(pipe: Any, queue: str) -> None:
    pipe.sadd(keys.ALL_QUEUES, queue)


def _hash(pipe: Any, m: TaskMessage, state: str, **extra: Any) -> None:
    mapping: dict[str, Any] = {"msg": encode_task_message(m), "state": state}
    mapping.update({k: v for k, v in extra.items() if v is not None})
    pipe.hset(keys.task(m.queue, m.id), mapping=mapping)


def seed_pending(r: Any, msgs: Sequence[TaskMessage], queue: str = "default",
                 pending_since_ns: int | None = None) -> None:
    """msgs[0] is enqueued first, so it is the next to run (LPUSH, right end oldest)."""
    pipe = r.pipeline(transaction=False)
    _register(pipe, queue)
    since = pending_since_ns or time.time_ns()
    for i, m in enumerate(msgs):
        _hash(pipe, m, "pending", pending_since=since + i)
        pipe.lpush(keys.pending(queue), m.id)
    pipe.execute()


def seed_active(r: Any, msgs: Sequence[TaskMessage], queue: str = "default",
                lease_until: int | None = None) -> None:
    """Active tasks with a lease expiring at `lease_until` (Unix s; default now + 30 s)."""
    pipe = r.pipeline(transaction=False)
    _register(pipe, queue)
    until = lease_until if lease_until is not None else int(time.time()) + 30
    for m in msgs:
        _hash(pipe, m, "active")
        pipe.lpush(keys.active(queue), m.id)
        pipe.zadd(keys.lease(queue), {m.id: until})
    pipe.execute()


def _seed_zset(r: Any, items: Iterable[tuple[TaskMessage, float]], queue: str, state: str,
               key: str, **extra: Any) -> None:
    pipe = r.pipeline(transaction=False)
    _register(pipe, queue)
    for m, score in items:
        _hash(pipe, m, state, **extra)
        pipe.zadd(key, {m.id: score})
    pipe.execute()


def seed_scheduled(r: Any, items: Iterable[tuple[TaskMessage, float]], queue: str = "default") -> None:
    _seed_zset(r, items, queue, "scheduled", keys.scheduled(queue))


def seed_retry(r: Any, items: Iterable[tuple[TaskMessage, float]], queue: str = "default") -> None:
    _seed_zset(r, items, queue, "retry", keys.retry(queue))


def seed_archived(r: Any, items: Iterable[tuple[TaskMessage, float]], queue: str = "default") -> None:
    _seed_zset(r, items, queue, "archived", keys.archived(queue))


def seed_completed(r: Any, items: Iterable[tuple[TaskMessage, float]], queue: str = "default",
                   result: bytes | None = None) -> None:
    """Score = expiry (completed_at + retention), as asynq."""
    _seed_zset(r, items, queue, "completed", keys.completed(queue), result=result)


def seed_aggregating(r: Any, items: Iterable[tuple[TaskMessage, float]], queue: str = "default",
                     group: str = "g1") -> None:
    pipe = r.pipeline(transaction=False)
    _register(pipe, queue)
    pipe.sadd(keys.groups(queue), group)
    for m, score in items:
        _hash(pipe, m, "aggregating", group=group)
        pipe.zadd(keys.group(queue, group), {m.id: score})
    pipe.execute()


def seed_unique_lock(r: Any, m: TaskMessage, owner: str | None = None, ttl: int = 3600) -> str:
    """Set a unique lock for m (held by `owner`, default m.id) and record it in the task hash."""
    ukey = keys.unique(m.queue, m.type, "deadbeef")
    r.set(ukey, owner or m.id, ex=ttl)
    r.hset(keys.task(m.queue, m.id), "unique_key", ukey)
    return ukey


def seed_paused(r: Any, queue: str) -> None:
    r.set(keys.paused(queue), int(time.time()))


def seed_events(r: Any, queue: str, events: Iterable[tuple[int, dict[str, str]]]) -> None:
    """(ms, fields) pairs; entry IDs <ms>-<seq> with explicit sequence numbers (Redis 6.2)."""
    seq: dict[int, int] = {}
    pipe = r.pipeline(transaction=False)
    for ms, fields in sorted(events, key=lambda e: e[0]):
        n = seq.get(ms, 0)
        seq[ms] = n + 1
        pipe.xadd(keys.events(queue), fields, id=f"{ms}-{n}")
    pipe.execute()


def seed_minutes(r: Any, queue: str, counts: dict[datetime, tuple[int, int]]) -> None:
    """{minute (aware UTC): (processed, failed)} into dmq:{q}:minutes:<day> p:HHMM / f:HHMM."""
    pipe = r.pipeline(transaction=False)
    for when, (p, f) in counts.items():
        when = when.astimezone(timezone.utc)
        key = keys.minute_stats(queue, when.strftime("%Y-%m-%d"))
        hhmm = when.strftime("%H%M")
        if p:
            pipe.hincrby(key, f"p:{hhmm}", p)
        if f:
            pipe.hincrby(key, f"f:{hhmm}", f)
    pipe.execute()


def seed_daily_stats(r: Any, queue: str, counts: dict[date, tuple[int, int]]) -> None:
    pipe = r.pipeline(transaction=False)
    _register(pipe, queue)
    for day, (p, f) in counts.items():
        pipe.set(keys.processed(queue, day.isoformat()), p)
        pipe.set(keys.failed(queue, day.isoformat()), f)
    pipe.execute()


def seed_totals(r: Any, queue: str, processed: int, failed: int) -> None:
    r.set(keys.processed_total(queue), processed)
    r.set(keys.failed_total(queue), failed)


def seed_server(r: Any, *, host: str = "host1", pid: int = 100, server_id: str | None = None,
                queues: dict[str, int] | None = None, concurrency: int = 10, status: str = "active",
                started: datetime | None = None, workers: Sequence[TaskMessage] = (),
                expires_at: int | None = None) -> str:
    """ServerInfo + WorkerInfo protobufs and their index members, as asynq's heartbeater."""
    sid = server_id or str(uuid.uuid4())
    started = started or datetime.now(timezone.utc)
    exp = expires_at if expires_at is not None else int(time.time()) + 10
    info = pb.ServerInfo(host=host, pid=pid, server_id=sid, concurrency=concurrency,
                         strict_priority=False, status=status, active_worker_count=len(workers))
    info.queues.update(queues or {"default": 1})
    info.start_time.CopyFrom(to_timestamp(started))
    skey, wkey = keys.server_info(host, pid, sid), keys.workers(host, pid, sid)
    pipe = r.pipeline(transaction=False)
    pipe.zadd(keys.ALL_SERVERS, {skey: exp})
    pipe.zadd(keys.ALL_WORKERS, {wkey: exp})
    pipe.set(skey, info.SerializeToString())
    for m in workers:
        w = pb.WorkerInfo(host=host, pid=pid, server_id=sid, task_id=m.id, task_type=m.type,
                          task_payload=m.payload or b"", queue=m.queue)
        w.start_time.CopyFrom(to_timestamp(started))
        w.deadline.CopyFrom(to_timestamp(datetime.fromtimestamp(time.time() + 1800, timezone.utc)))
        pipe.hset(wkey, m.id, w.SerializeToString())
    pipe.execute()
    return sid


_BULK_SEED_LUA = """
-- test/benchmark seeder: KEYS[1] pending list; ARGV[1] task key prefix, ARGV[2] pending_since (ns),
-- then (id, msg) pairs. Writes each task hash, then LPUSHes the IDs in order.
local ids = {}
for i = 3, #ARGV, 2 do
    redis.call("HSET", ARGV[1] .. ARGV[i], "msg", ARGV[i + 1], "state", "pending", "pending_since", ARGV[2])
    ids[#ids + 1] = ARGV[i]
    if #ids == 1000 then
        redis.call("LPUSH", KEYS[1], unpack(ids))
        ids = {}
    end
end
if #ids > 0 then redis.call("LPUSH", KEYS[1], unpack(ids)) end
return (#ARGV - 2) / 2
"""


def seed_pending_bulk(r: Any, n: int, queue: str = "default", task_type: str = "bench:task",
                      chunk: int = 5000, payload_size: int = 32) -> int:
    """n pending tasks fast (IDs t000000000, ...; the first is the next to run): one seeding
    script call per chunk, several chunks pipelined per round trip (for benchmarks)."""
    r.sadd(keys.ALL_QUEUES, queue)
    script = r.register_script(_BULK_SEED_LUA)
    pad = "x" * max(payload_size - 20, 0)
    since = time.time_ns() // 1000 * 1000
    prefix, pending = keys.task_prefix(queue), keys.pending(queue)
    done = 0
    while done < n:
        pipe = r.pipeline(transaction=False)
        for _ in range(4):
            if done >= n:
                break
            args: list[Any] = [prefix, since]
            for i in range(done, min(done + chunk, n)):
                tid = f"t{i:09d}"
                m = TaskMessage(type=task_type, payload=f'{{"i":{i},"p":"{pad}"}}'.encode(), id=tid,
                                queue=queue, timeout=1800)
                args += (tid, encode_task_message(m))
            script(keys=[pending], args=args, client=pipe)
            done = min(done + chunk, n)
        pipe.execute()
    return done
