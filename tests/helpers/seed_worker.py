"""Seed raw asynq state for worker tests with keys.py + wire.py (not with the code under test)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from dmq_tools.rdb import keys
from dmq_tools.rdb.records import TaskMessage
from dmq_tools.rdb.wire import decode_task_message, encode_task_message


def message(task_type: str = "t", payload: bytes | None = b"{}", queue: str = "default", **kw: Any) -> TaskMessage:
    kw.setdefault("id", str(uuid.uuid4()))
    kw.setdefault("timeout", 1800)
    return TaskMessage(type=task_type, payload=payload, queue=queue, **kw)


def seed_pending(r: Any, msg: TaskMessage) -> TaskMessage:
    q = msg.queue
    r.sadd(keys.ALL_QUEUES, q)
    r.hset(keys.task(q, msg.id), mapping={"msg": encode_task_message(msg), "state": "pending",
                                          "pending_since": time.time_ns()})
    r.lpush(keys.pending(q), msg.id)
    return msg


def seed_active(r: Any, msg: TaskMessage, lease_expiry: float | None = None) -> TaskMessage:
    q = msg.queue
    r.sadd(keys.ALL_QUEUES, q)
    r.hset(keys.task(q, msg.id), mapping={"msg": encode_task_message(msg), "state": "active"})
    r.lpush(keys.active(q), msg.id)
    r.zadd(keys.lease(q), {msg.id: int(lease_expiry if lease_expiry is not None else time.time() + 30)})
    if msg.unique_key:
        r.set(msg.unique_key, msg.id, ex=3600)
    return msg


def seed_zset(r: Any, msg: TaskMessage, state: str, score: float, group: str = "") -> TaskMessage:
    q = msg.queue
    r.sadd(keys.ALL_QUEUES, q)
    mapping: dict[str, Any] = {"msg": encode_task_message(msg), "state": state}
    if group:
        mapping["group"] = group
    r.hset(keys.task(q, msg.id), mapping=mapping)
    r.zadd(keys.state_key(q, state), {msg.id: int(score)})
    return msg


def seed_group(r: Any, msg: TaskMessage, group: str, added: float) -> TaskMessage:
    q = msg.queue
    r.sadd(keys.ALL_QUEUES, q)
    r.hset(keys.task(q, msg.id), mapping={"msg": encode_task_message(msg), "state": "aggregating", "group": group})
    r.zadd(keys.group(q, group), {msg.id: int(added)})
    r.sadd(keys.groups(q), group)
    return msg


def stored(r: Any, q: str, task_id: str) -> tuple[str | None, TaskMessage | None]:
    h = r.hgetall(keys.task(q, task_id))
    if not h:
        return None, None
    return h[b"state"].decode(), decode_task_message(h[b"msg"])


def events(r: Any, q: str) -> list[dict[str, str]]:
    """One dict per event, batch entries read per task as the inspector reads them."""
    from dmq_tools.rdb.inspect_history import event_records

    return [rec.fields for eid, fields in r.xrange(keys.events(q)) for rec in event_records(q, eid, fields)]
