"""Raw asynq state for the foundation tests, with keys.py + wire.py only (never the code under test)."""

from __future__ import annotations

from typing import Any

from dmq_tools.rdb import keys
from dmq_tools.rdb.records import TaskMessage
from dmq_tools.rdb.wire import decode_task_message, encode_task_message


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
