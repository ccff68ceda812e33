"""WorkerConfig: asynq's server defaults in one frozen dataclass (asynq-protocol.md §7).

Tests and benchmarks may shorten intervals and the lease; the defaults stay asynq's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from collections.abc import Callable

from ..errors import ConfigurationError

__all__ = ["WorkerConfig", "default_retry_delay", "normalize_queues", "LeaseExpiredError"]


class LeaseExpiredError(Exception):
    """asynq's ErrLeaseExpired (the recoverer's error)."""

    def __init__(self) -> None:
        super().__init__("asynq: task lease expired")


def default_retry_delay(n: int, err: BaseException | None = None, task: Any = None) -> timedelta:
    """asynq's DefaultRetryDelayFunc (Sidekiq): n^4 + 15 + rand(0..29) * (n + 1) seconds."""
    return timedelta(seconds=n ** 4 + 15 + random.randrange(30) * (n + 1))


def _default_is_failure(err: BaseException) -> bool:
    return err is not None


def normalize_queues(queues: dict[str, int] | list[str] | str | None) -> dict[str, int]:
    """asynq's rules: drop blank names and priorities <= 0; {"default": 1} if none remain."""
    if queues is None:
        return {"default": 1}
    if isinstance(queues, str):
        queues = [queues]
    if isinstance(queues, (list, tuple, set)):
        queues = {q: 1 for q in queues}
    if not isinstance(queues, dict):
        raise ConfigurationError(f"queues must be a dict of name -> priority, got {queues!r}")
    out = {str(q): int(p) for q, p in queues.items() if str(q).strip() and int(p) > 0}
    return out or {"default": 1}


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a Worker needs besides Redis and handlers. Durations are timedeltas."""

    concurrency: int = 10
    queues: dict[str, int] = field(default_factory=lambda: {"default": 1})
    strict_priority: bool = False
    shutdown_timeout: timedelta = timedelta(seconds=8)
    #: "thread" (cooperative timeouts) or "process" (a handler is killed at its deadline)
    pool: str = "thread"
    retry_delay_func: Callable[[int, BaseException, Any], timedelta] = default_retry_delay
    is_failure: Callable[[BaseException], bool] = _default_is_failure
    error_handler: Callable[[Any, BaseException], None] | None = None
    #: how failed tasks are logged: "short" (a line each, rate-limited), "full" (tracebacks), "quiet"
    log: str = "short"
    # asynq's fixed intervals (§7.1)
    lease_duration: timedelta = timedelta(seconds=30)
    heartbeat_interval: timedelta = timedelta(seconds=5)
    task_check_interval: timedelta = timedelta(seconds=1)
    delayed_task_check_interval: timedelta = timedelta(seconds=5)
    recoverer_interval: timedelta = timedelta(minutes=1)
    janitor_interval: timedelta = timedelta(seconds=8)
    janitor_batch_size: int = 100
    syncer_interval: timedelta = timedelta(seconds=5)
    subscriber_retry: timedelta = timedelta(seconds=5)
    # group aggregation (§7.7)
    group_aggregator: Callable[[str, list[Any]], Any] | None = None
    group_grace_period: timedelta = timedelta(minutes=1)
    group_max_delay: timedelta = timedelta(0)
    group_max_size: int = 0
    aggregator_interval: timedelta | None = None   # None: min(7 s, grace period), as asynq
    # dmq's fetch path
    batch_size: int = 64            # most tasks leased per dequeue round trip
    #: tasks leased ahead of free handler threads (they wait in memory, their lease kept alive);
    #: None = concurrency. 0 leases only for idle threads, as asynq does.
    prefetch: int | None = None
    ack_batch_size: int = 256       # most outcomes written per pipelined round trip
    default_timeout: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        object.__setattr__(self, "queues", normalize_queues(self.queues))
        if self.concurrency <= 0:
            import os

            object.__setattr__(self, "concurrency", os.cpu_count() or 1)
        if self.log not in ("short", "full", "quiet"):
            raise ConfigurationError('log must be "short", "full" or "quiet"')
        if self.pool not in ("thread", "process"):
            raise ConfigurationError('pool must be "thread" or "process"')
        if self.group_grace_period < timedelta(seconds=1):
            raise ConfigurationError("group_grace_period cannot be less than 1 second")
        if self.batch_size < 1 or self.ack_batch_size < 1:
            raise ConfigurationError("batch sizes must be >= 1")

    @property
    def prefetch_count(self) -> int:
        return self.concurrency if self.prefetch is None else max(int(self.prefetch), 0)

    @property
    def server_ttl(self) -> int:
        """Presence TTL: two heartbeats (10 s by default), whole seconds."""
        return max(int(2 * self.heartbeat_interval.total_seconds()), 1)

    @property
    def aggregation_interval(self) -> timedelta:
        if self.aggregator_interval is not None:
            return self.aggregator_interval
        return min(timedelta(seconds=7), self.group_grace_period)
