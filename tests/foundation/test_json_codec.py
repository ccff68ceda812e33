"""dmq_tools._json: orjson's speed, the standard library's bytes and rules."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools import Task
from dmq_tools._json import dumps, loads
from dmq_tools.errors import InvalidTaskError
from dmq_tools.models import TaskInfo, TaskState, enqueued_task_info


def stdlib(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class Str(str):
    pass


@pytest.mark.parametrize("value", [
    {"a": 1}, [1, 2.5, "é", "\u2028", "\x00", "\"\\"], {"x": None}, None, True, 1.5e300, -0.0, 0.1,
    2**63 - 1, 2**64, -(2**63) - 1, 10**30, {1: 2, "b": [3]}, (1, 2), "text", {"k": Str("v")},
    {"deep": {"list": [{"n": 1.25}, [], {}]}},
])
def test_bytes_match_the_standard_library(value):
    assert dumps(value) == stdlib(value)


@pytest.mark.parametrize("value", [
    float("nan"), {"a": [float("inf")]}, {"d": datetime.now(timezone.utc)}, object(), {1, 2},
    {"dc": dataclasses.make_dataclass("D", ["x"])(1)},
])
def test_what_the_standard_library_refuses_is_refused(value):
    with pytest.raises((TypeError, ValueError)):
        stdlib(value)
    with pytest.raises((TypeError, ValueError)):
        dumps(value)


def test_task_payload_errors_stay_invalid_task_errors():
    with pytest.raises(InvalidTaskError, match="not JSON-serialisable"):
        Task("t", {"when": datetime.now(timezone.utc)})
    with pytest.raises(InvalidTaskError):
        Task("t", {"x": float("nan")})


@pytest.mark.parametrize("text", [
    b'{"a":1,"b":[true,null,"\\u00e9"]}', b"[100000000000000000000000]", b"[-9223372036854775809]",
    b"18446744073709551616", b"[NaN]", '{"s":"é"}', b'{"ts":1795824356.2797215,"id":"12345678901234567890"}',
])
def test_loads_matches_the_standard_library(text):
    got, want = loads(text), json.loads(text)
    assert repr(got) == repr(want)      # repr: NaN != NaN, and 1e+23 must stay an int


def test_loads_raises_value_error_on_bad_json():
    with pytest.raises(ValueError):
        loads(b"{not json")
    task = Task("t", b"\xff not json")
    with pytest.raises(ValueError):
        task.json()


def test_enqueued_task_info_equals_the_dataclass_constructor():
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    fast = enqueued_task_info("id", "q", "t", b"{}", TaskState.PENDING, 3, timedelta(seconds=5), None, "g",
                              now, timedelta(hours=1), {"h": "v"})
    slow = TaskInfo(id="id", queue="q", type="t", payload=b"{}", state=TaskState.PENDING, max_retry=3,
                    timeout=timedelta(seconds=5), deadline=None, group="g", next_process_at=now,
                    retention=timedelta(hours=1), headers={"h": "v"})
    assert fast == slow and hash(fast.id) == hash(slow.id)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.queue = "other"  # type: ignore[misc]
