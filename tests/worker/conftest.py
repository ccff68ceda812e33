"""Fast worker settings for tests: short intervals and an immediate retry; asynq's defaults stay."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from dmq_tools.worker import WorkerConfig, stop_all


def fast_config(**kw) -> WorkerConfig:
    base = dict(
        concurrency=4,
        shutdown_timeout=timedelta(seconds=2),
        heartbeat_interval=timedelta(seconds=0.2),
        task_check_interval=timedelta(seconds=0.2),
        delayed_task_check_interval=timedelta(seconds=0.1),
        recoverer_interval=timedelta(seconds=0.5),
        janitor_interval=timedelta(seconds=0.2),
        syncer_interval=timedelta(seconds=0.2),
        subscriber_retry=timedelta(seconds=0.2),
        retry_delay_func=lambda n, err, task: timedelta(0),
    )
    base.update(kw)
    return WorkerConfig(**base)


def wait_until(cond, timeout: float = 10.0, interval: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(interval)
    return bool(cond())


@pytest.fixture(autouse=True)
def _no_leftover_workers():
    yield
    stop_all(timeout=1)
