"""The unique-lock key (asynq-protocol.md §8, trap T6)."""

from __future__ import annotations

import hashlib

from dmq_tools import Task
from dmq_tools.rdb import RDB, keys

EXAMPLE = "asynq:{default}:unique:email:welcome:1181f89307fa271072c095747d5813cc"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def test_protocol_example():
    assert RDB.unique_key("default", "email:welcome", b'{"user_id":42}') == EXAMPLE


def test_example_through_task_payload_encoding():
    # a dict payload becomes compact JSON, which is exactly the example's bytes
    t = Task("email:welcome", {"user_id": 42})
    assert RDB.unique_key("default", t.type, t.payload) == EXAMPLE


def test_empty_payload_is_md5_of_nothing():
    assert hashlib.md5(b"").hexdigest() == EMPTY_MD5
    assert RDB.unique_key("default", "t", b"") == f"asynq:{{default}}:unique:t:{EMPTY_MD5}"


def test_nil_payload_has_nothing_after_the_colon():
    assert RDB.unique_key("default", "t", None) == "asynq:{default}:unique:t:"


def test_nil_and_empty_tasks_differ():
    assert Task("t").payload is None
    assert Task("t", b"").payload == b""
    assert RDB.unique_key("q", "t", Task("t").payload) != RDB.unique_key("q", "t", Task("t", b"").payload)


def test_queue_name_is_the_hash_tag_verbatim():
    assert RDB.unique_key("Critical Q", "a:b", None) == "asynq:{Critical Q}:unique:a:b:"
    assert keys.unique("q", "t", "x").startswith(keys.queue_prefix("q"))


def test_unique_key_lands_in_redis(client, r):
    info = client.enqueue(Task("email:welcome", {"user_id": 42}), unique=60)
    assert r.get(EXAMPLE) == info.id.encode()
