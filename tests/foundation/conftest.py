"""Fixtures for the storage-layer and Client tests: a frozen clock makes every unit exact."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dmq_tools import Client
from dmq_tools.clock import FrozenClock
from dmq_tools.rdb import RDB

#: A fixed "now" with a sub-second part, so seconds/nanoseconds truncation is visible.
NOW = datetime(2026, 5, 14, 12, 0, 0, 750_000, tzinfo=timezone.utc)
NOW_S = 1778760000
NOW_NS = 1778760000_750_000_000


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def frdb(r, clock) -> RDB:
    return RDB(r, clock=clock)


@pytest.fixture
def fclient(frdb) -> Client:
    return Client(rdb=frdb)
