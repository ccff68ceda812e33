from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dmq_tools.clock import FrozenClock


@pytest.fixture
def frozen_clock():
    return FrozenClock(datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc))


@pytest.fixture
def make_scheduler(r):
    """Factory for Schedulers on the flushed session Redis; stopped at teardown."""
    from dmq_tools.scheduler import Scheduler

    made = []

    def make(**kwargs):
        s = Scheduler(r, **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()
