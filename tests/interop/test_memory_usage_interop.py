"""asynq v0.26's Inspector and dmq report the same memory_usage for a queue with groups."""

from __future__ import annotations

import pytest

import dmq_tools as dmq
from tests.robustness.test_memory_usage import Q, _fill

pytestmark = pytest.mark.interop


def test_memory_usage_matches_go_asynq(r, client, go):
    _fill(client)
    rep = go("inspect", "-queue", Q)[0]
    assert dmq.Inspector(r).get_queue_info(Q).memory_usage == rep["info"]["memory_usage"]
