"""Fixtures for the widget tests: a real Inspector on the flushed session Redis, seeded raw."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("ipywidgets")


@pytest.fixture
def inspector(r):
    from dmq_tools.inspector import Inspector

    insp = Inspector(r)
    yield insp
    insp.close()


@pytest.fixture
def seeded(r):
    """Three queues as a Go asynq service leaves them: pending, scheduled, retry, archived, paused."""
    from tests.helpers import seed

    now = time.time()
    crit = [seed.msg("email:deliver", b'{"to":"a@example.com"}', queue="critical") for _ in range(3)]
    seed.seed_pending(r, crit, "critical")
    default = [seed.msg("image:resize", b'{"src":"x.png","w":%d}' % i, queue="default") for i in range(45)]
    seed.seed_pending(r, default, "default")
    seed.seed_scheduled(r, [(seed.msg("report:daily", b"{}", queue="default"), now + 600)], "default")
    retry = [seed.msg("email:deliver", b'{"to":"b@example.com"}', queue="low", retried=2,
                      error_msg="smtp: connection refused", last_failed_at=int(now) - 30)
             for _ in range(2)]
    seed.seed_retry(r, [(m, now + 60) for m in retry], "low")
    arch = [seed.msg("image:resize", b'{"src":"bad.png"}', queue="low", retried=25,
                     error_msg="PIL.UnidentifiedImageError: cannot identify image file",
                     last_failed_at=int(now) - 10)]
    seed.seed_archived(r, [(m, now - 10) for m in arch], "low")
    seed.seed_paused(r, "low")
    minute = datetime.fromtimestamp(now // 60 * 60, timezone.utc)
    seed.seed_minutes(r, "default", {minute - timedelta(minutes=k): (10 + k, k % 3) for k in range(10)})
    return {"critical": crit, "default": default, "retry": retry, "archived": arch}


@pytest.fixture(autouse=True)
def _close_widgets():
    yield
    import ipywidgets as W

    W.Widget.close_all()


def timer_threads() -> list[threading.Thread]:
    from dmq_tools.widgets._base import TIMER_THREAD_NAME

    return [t for t in threading.enumerate() if t.name == TIMER_THREAD_NAME and t.is_alive()]
