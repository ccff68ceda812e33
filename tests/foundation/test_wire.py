"""TaskMessage and Timestamp bytes exactly as asynq's Go code writes them (asynq-protocol.md §5)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dmq_tools.errors import CodecError
from dmq_tools.rdb.records import TaskMessage
from dmq_tools.rdb.wire import (
    GO_ZERO_SECONDS, decode_task_message, encode_task_message, from_timestamp, pb, to_timestamp,
)

# The §5 test vector: type, payload, id, queue, retry 25, timeout 1800, nothing else.
GOLDEN_HEX = (
    "0a0d656d61696c3a77656c636f6d65120e7b22757365725f6964223a34327d1a2433663163326139652d3030"
    "30302d343030302d383030302d303030303030303030303031220764656661756c74281940880e"
)
GOLDEN = bytes.fromhex(GOLDEN_HEX)
GOLDEN_MSG = TaskMessage(
    type="email:welcome", payload=b'{"user_id":42}', id="3f1c2a9e-0000-4000-8000-000000000001",
    queue="default", retry=25, timeout=1800,
)
GO_ZERO_TIMESTAMP_HEX = "088092b8c398feffffff01"


def test_golden_vector_is_83_bytes():
    assert len(GOLDEN) == 83


def test_encode_task_message_golden_bytes():
    assert encode_task_message(GOLDEN_MSG) == GOLDEN


def test_decode_task_message_golden_bytes():
    m = decode_task_message(GOLDEN)
    assert (m.type, m.payload, m.id, m.queue) == (
        "email:welcome", b'{"user_id":42}', "3f1c2a9e-0000-4000-8000-000000000001", "default")
    assert (m.retry, m.timeout, m.deadline, m.retried, m.retention, m.completed_at) == (25, 1800, 0, 0, 0, 0)
    assert (m.unique_key, m.group_key, m.error_msg, m.headers) == ("", "", "", {})


def test_zero_fields_are_not_written():
    # proto3: defaults are omitted, so an all-default message is only the type field.
    assert encode_task_message(TaskMessage(type="t", queue="", retry=0)) == b"\x0a\x01t"


def test_every_field_round_trips():
    m = TaskMessage(
        type="a:b", payload=b"\x00\xffbin", id="id-1", queue="critical", retry=3, retried=2,
        error_msg="boom", last_failed_at=1_700_000_000, timeout=60, deadline=1_800_000_000,
        unique_key="asynq:{critical}:unique:a:b:", group_key="g1", retention=3600,
        completed_at=1_700_000_100, headers={"trace": "abc"},
    )
    assert decode_task_message(encode_task_message(m)) == m


def test_field_numbers_match_asynq():
    f = pb.TaskMessage.DESCRIPTOR.fields_by_name
    numbers = {name: f[name].number for name in f}
    assert numbers == {
        "type": 1, "payload": 2, "id": 3, "queue": 4, "retry": 5, "retried": 6, "error_msg": 7,
        "timeout": 8, "deadline": 9, "unique_key": 10, "last_failed_at": 11, "retention": 12,
        "completed_at": 13, "group_key": 14, "headers": 15,
    }


def test_headers_are_field_15_map_entries():
    data = encode_task_message(TaskMessage(type="t", queue="", retry=0, headers={"k": "v"}))
    # field 15, wire type 2 -> tag varint 0x7a; entry = key(1)="k", value(2)="v"
    assert data == b"\x0a\x01t" + b"\x7a\x06" + b"\x0a\x01k" + b"\x12\x01v"
    assert decode_task_message(data).headers == {"k": "v"}


def test_headers_round_trip_many():
    headers = {f"h{i}": "ü" * i for i in range(10)}
    assert decode_task_message(encode_task_message(TaskMessage(type="t", headers=headers))).headers == headers


def test_nil_and_empty_payload_encode_the_same():
    # On the wire both are absent; only the unique key tells them apart (T6).
    nil = encode_task_message(TaskMessage(type="t", payload=None))
    empty = encode_task_message(TaskMessage(type="t", payload=b""))
    assert nil == empty
    assert decode_task_message(nil).payload == b""


def test_negative_and_large_ints():
    m = TaskMessage(type="t", payload=b"p", retry=2**31 - 1, deadline=2**62, last_failed_at=-5)
    assert decode_task_message(encode_task_message(m)) == m


@pytest.mark.parametrize("data", [b"", None, b"\xff\xff", b"\x0a\x10short", b"\x12\x03abc"])
def test_decode_errors_raise_codec_error(data):
    # the last one is a valid message without a type: not a task
    with pytest.raises(CodecError):
        decode_task_message(data)


def test_codec_error_is_a_value_error():
    with pytest.raises(ValueError):
        decode_task_message(b"\xff")


def test_go_zero_time_timestamp_bytes():
    ts = to_timestamp(None)
    assert (ts.seconds, ts.nanos) == (GO_ZERO_SECONDS, 0)
    assert ts.SerializeToString().hex() == GO_ZERO_TIMESTAMP_HEX
    assert GO_ZERO_SECONDS == int((datetime(1, 1, 1, tzinfo=timezone.utc)
                                    - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds())


def test_go_zero_time_decodes_to_none():
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.ParseFromString(bytes.fromhex(GO_ZERO_TIMESTAMP_HEX))
    assert from_timestamp(ts) is None
    assert from_timestamp(Timestamp()) is None


def test_timestamp_round_trip_keeps_microseconds():
    when = datetime(2026, 5, 14, 12, 30, 15, 123456, tzinfo=timezone.utc)
    ts = to_timestamp(when)
    assert (ts.seconds, ts.nanos) == (int(when.timestamp()), 123456000)
    assert from_timestamp(ts) == when


def test_timestamp_before_epoch():
    when = datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=timezone.utc)
    ts = to_timestamp(when)
    assert (ts.seconds, ts.nanos) == (-1, 500_000_000)
    assert from_timestamp(ts) == when


def test_type_stub_matches_the_generated_module():
    """asynq_pb2.pyi (what mypy and editors see) declares every message and field of asynq_pb2."""
    import ast
    from pathlib import Path

    stub = ast.parse(Path(pb.__file__).with_suffix(".pyi").read_text(encoding="utf-8"))
    declared = {
        node.name: {a.target.id for a in node.body
                    if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name)
                    and not a.target.id.endswith("_FIELD_NUMBER")}
        for node in stub.body if isinstance(node, ast.ClassDef)
    }
    generated = {name: {f.name for f in desc.fields} for name, desc in pb.DESCRIPTOR.message_types_by_name.items()}
    assert set(generated) == {"TaskMessage", "ServerInfo", "WorkerInfo", "SchedulerEntry", "SchedulerEnqueueEvent"}
    assert declared == generated
