"""Worker: the composition root (asynq's Server) and the registry of live workers.

Notebook rules: `start()` returns at once; re-running a cell that starts an equivalent worker
(same Redis, same queues, same handler patterns) stops the previous one first, so no ghost
worker keeps taking tasks with stale handlers; `running()` lists and `stop_all()` stops every
worker of this process; interpreter exit stops them gracefully.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any
from collections.abc import Callable

from .._lifecycle import Registry, run_until_signal
from ..errors import ConfigurationError, ServerClosedError
from ..rdb import open_rdb
from ..rdb.worker_ops import REDIS_ERRORS, ServerState
from ..task import Task
from .config import WorkerConfig
from .loops import Aggregator, CancelSubscriber, Forwarder, Heartbeat, Janitor, Recoverer, Syncer
from .mux import ServeMux
from .processor import Processor

__all__ = ["Worker", "running", "stop_all"]

log = logging.getLogger(__name__)

_REGISTRY: Registry[Worker] = Registry("worker")


def running() -> list[Worker]:
    """The workers started in this process and not stopped yet."""
    return _REGISTRY.running()


def stop_all(timeout: float | None = None) -> int:
    """Stop every running worker of this process (gracefully); the number stopped."""
    return _REGISTRY.stop_all(timeout=timeout)


class _FuncMux:
    """A single function used as the handler of every task type."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.patterns = ["*"]

    def match(self, task_type: str) -> tuple[Callable[[Any], Any], str]:
        return self.fn, "*"

    def wrap(self, handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return handler

    def process_task(self, task: Any) -> Any:
        return self.fn(task)


class Worker:
    """Processes tasks from Redis queues with handlers from a ServeMux (asynq's Server)."""

    def __init__(
        self,
        redis: Any = None,
        mux: ServeMux | Callable[[Any], Any] | None = None,
        *,
        concurrency: int | None = None,
        queues: dict[str, int] | list[str] | None = None,
        strict_priority: bool | None = None,
        shutdown_timeout: timedelta | float | None = None,
        pool: str | None = None,
        retry_delay_func: Callable[..., Any] | None = None,
        is_failure: Callable[[BaseException], bool] | None = None,
        error_handler: Callable[[Any, BaseException], None] | None = None,
        group_aggregator: Callable[[str, list[Task]], Task] | None = None,
        group_grace_period: timedelta | None = None,
        group_max_delay: timedelta | None = None,
        group_max_size: int | None = None,
        config: WorkerConfig | None = None,
        replace_existing: bool = True,
        events_maxlen: int | None = None,
        log: str | None = None,
    ) -> None:
        if mux is None:
            raise ConfigurationError("Worker needs a ServeMux (or a handler function)")
        given: dict[str, Any] = dict(concurrency=concurrency, queues=queues, strict_priority=strict_priority,
                     shutdown_timeout=_td(shutdown_timeout), pool=pool, retry_delay_func=retry_delay_func,
                     is_failure=is_failure, error_handler=error_handler, group_aggregator=group_aggregator,
                     group_grace_period=group_grace_period, group_max_delay=group_max_delay,
                     group_max_size=group_max_size, log=log)
        cfg = config or WorkerConfig()
        changes = {k: v for k, v in given.items() if v is not None}
        self.config = replace(cfg, **changes) if changes else cfg
        # a ServeMux, or anything with its match/wrap/process_task/patterns (duck-typed)
        if not (hasattr(mux, "match") or callable(mux)):
            raise ConfigurationError(f"mux must be a ServeMux or a callable, got {type(mux).__name__}")
        self.mux: Any = mux if hasattr(mux, "match") else _FuncMux(mux)
        rdb_options: dict[str, Any] = {} if events_maxlen is None else {"events_maxlen": events_maxlen}
        self.rdb, self._owned = open_rdb(redis, **rdb_options)
        self.replace_existing = replace_existing
        self.state = ServerState.new(self.config.concurrency, self.config.queues, self.config.strict_priority)
        self._started = False
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()
        self._processor: Processor | None = None
        self._loops: list[Any] = []

    # ---- identity and introspection ----
    @property
    def id(self) -> str:
        return self.state.server_id

    @property
    def is_running(self) -> bool:
        return self._started and not self._stopped.is_set()

    @property
    def counts(self) -> dict[str, int]:
        """Outcomes written by this worker: succeeded, failed, retried, archived, revoked, requeued."""
        return dict(self._processor.counts) if self._processor else {}

    def _identity(self) -> tuple[Any, ...]:
        kw = self.rdb.client.connection_pool.connection_kwargs
        target = (kw.get("host"), kw.get("port"), kw.get("path"), kw.get("db"))
        return target, tuple(sorted(self.config.queues)), tuple(self.mux.patterns)

    def __repr__(self) -> str:
        status = "running" if self.is_running else ("stopped" if self._stopped.is_set() else "new")
        return (f"<Worker {self.id[:8]} {status} queues={self.config.queues} "
                f"concurrency={self.config.concurrency} pool={self.config.pool}>")

    # ---- lifecycle ----
    def start(self) -> Worker:
        """Start the fetcher, handler pool and loops in background threads; returns at once."""
        if self._stopped.is_set():
            raise ServerClosedError("this worker was stopped; create a new Worker")
        if self._started:
            return self
        if self.replace_existing:
            for other in running():
                if other is not self and other._identity() == self._identity():
                    log.warning("stopping worker %s: a new worker with the same queues and handlers "
                                "starts (re-run cell?)", other.id[:8])
                    other.stop()
        for other in running():
            shared = sorted(set(other.config.queues) & set(self.config.queues))
            if other is not self and other.is_running and shared:
                log.warning("worker %s also serves %s in this process; stop it (worker.stop() or "
                            "dmq.stop_all()) unless two workers are what you want", other.id[:8],
                            ", ".join(shared))
        cfg = self.config
        run_in_child = None
        if cfg.pool == "process":
            from .procpool import ProcessRunner

            self._runner = ProcessRunner(self.mux)
            run_in_child = self._runner
        handler = self.mux.process_task if run_in_child is None else self.mux
        self._processor = Processor(self.rdb, handler, cfg, self.id, run_in_child)
        p = self._processor
        self._loops = [
            Heartbeat(self.rdb, p, self.state, cfg),
            Forwarder(self.rdb, cfg),
            Recoverer(self.rdb, cfg, self.id),
            Janitor(self.rdb, cfg),
            Syncer(p, cfg),
            CancelSubscriber(self.rdb, p, cfg),
        ]
        for loop in self._loops:
            loop.reporter = p.reporter
        if cfg.group_aggregator is not None:
            from ..client import Client

            client = Client(rdb=self.rdb)
            self._loops.append(Aggregator(self.rdb, cfg, lambda t, q: client.enqueue(t, queue=q)))
            self._loops[-1].reporter = p.reporter
        try:
            self.rdb.scripts.ensure_loaded()
            self.rdb.register_queues(*cfg.queues)
        except REDIS_ERRORS as exc:
            log.warning("worker %s: Redis unreachable at start (%s); will keep trying", self.id[:8], exc)
        self._started = True
        p.start()
        for loop in self._loops:
            loop.start(f"dmq-{self.id[:8]}")
        _REGISTRY.add(self)
        log.info("worker %s started: queues=%s concurrency=%d", self.id[:8], cfg.queues, cfg.concurrency)
        return self

    def stop(self, timeout: float | timedelta | None = None) -> None:
        """Graceful: stop fetching, wait `shutdown_timeout` for handlers, requeue the rest,
        write pending outcomes, clear the presence records. Safe to call twice."""
        with self._stop_lock:
            if self._stopped.is_set() or not self._started:
                self._stopped.set()
                return
            wait = self.config.shutdown_timeout.total_seconds() if timeout is None else (
                timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout))
            self.state.status = "closed"
            assert self._processor is not None
            forwarder, others = self._loops[1], [self._loops[0], *self._loops[2:]]
            forwarder.stop(1.0)
            self._processor.shutdown(wait)
            for loop in others:
                loop._stop.set()
            for loop in others:
                loop.stop(2.0)
            try:
                self._processor.sync_once()
            except REDIS_ERRORS as exc:
                log.warning("worker %s: could not write %d outcome(s) at stop (%s); the recoverer will "
                            "handle those tasks", self.id[:8], len(self._processor.sync_backlog), exc)
            try:
                self.rdb.clear_server_state(self.state.host, self.state.pid, self.state.server_id)
            except REDIS_ERRORS:
                pass
            stop_waiting = getattr(self.rdb, "stop_waiting", None)   # a cluster's waker threads
            if stop_waiting is not None:
                stop_waiting()
            if getattr(self, "_runner", None) is not None:
                self._runner.close()
            self._stopped.set()
            _REGISTRY.discard(self)
            if self._owned:
                self.rdb.close()
            log.info("worker %s stopped", self.id[:8])

    def run(self) -> None:
        """Start and block until SIGINT/SIGTERM (or stop() from another thread), then stop."""
        run_until_signal(self.start, self._stopped.is_set, self.stop)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is running or waiting to be written here (tests, demos)."""
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._processor is not None and not self._processor.inflight():
                return True
            time.sleep(0.01)
        return False

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _td(value: timedelta | float | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=float(value))
