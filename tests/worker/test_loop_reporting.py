"""PeriodicLoop.each_queue: corrupt state is logged once per key, and per queue when Redis did
not name the key (no Redis needed: the loop's own bookkeeping)."""

from __future__ import annotations

import logging

from dmq_tools.errors import CorruptStateError
from dmq_tools.worker._loop import PeriodicLoop


class _Loop(PeriodicLoop):
    name = "probe"

    def run_once(self) -> int:
        return 0


def _corrupt(key: str | None):
    def fn(q: str) -> int:
        raise CorruptStateError(f"queue {q} unreadable", key=key)
    return fn


def test_a_named_key_is_logged_once(caplog):
    loop = _Loop(1.0)
    with caplog.at_level(logging.ERROR, logger="dmq_tools"):
        for _ in range(3):
            assert loop.each_queue(["a"], _corrupt("asynq:{a}:pending")) == 0
    assert [r.getMessage() for r in caplog.records] == ["probe: queue 'a' skipped: queue a unreadable"]


def test_an_unnamed_key_is_logged_once_per_queue(caplog):
    loop = _Loop(1.0)
    with caplog.at_level(logging.ERROR, logger="dmq_tools"):
        for _ in range(3):
            assert loop.each_queue(["a", "b"], _corrupt(None)) == 0
    assert sorted(r.getMessage() for r in caplog.records) == [
        "probe: queue 'a' skipped: queue a unreadable", "probe: queue 'b' skipped: queue b unreadable"]
