"""`AsyncClient`: `Client` for asyncio web apps, with concurrent enqueues sharing round trips.

    ac = dmq.AsyncClient()                          # REDIS_URL, else the embedded server
    info = await ac.enqueue(task, queue="critical")  # same options and TaskInfo as Client
    await ac.aclose()

Nothing blocks the event loop. Calls made while a write is in flight wait together and go in
the next write: one pipeline (plain tasks of a queue in one `enqueue_batch` script call), so a
web app with 100 requests in flight makes a few round trips, not 100. Options are resolved and
validated by `Client`'s own code before a task joins a batch, so a bad option raises in its
caller only, and the records are byte-identical to `Client`'s (and asynq's).

Redis Cluster and Sentinel URLs work as for `Client` (docs/scaling.md): on a cluster a flush
goes to each queue's master (one pipeline per node); behind Sentinel a master switch is ridden
out by retrying on the new master, and `wait_replicas=n` WAITs for replicas as Client's does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ._ids import new_task_id as _new_task_id
# Client's option handling, shared as is: the same defaults, units and validation.
from ._group_commit import batch_writes
from .client import _at_index, _info, _plain_info, _plan_for, _request, raise_first_conflict
from .errors import ConfigurationError, InvalidTaskError
from .models import TaskInfo
from .rdb.async_producer import AsyncProducer, open_async_redis
from .rdb.producer import EnqueueRequest, raise_for_code
from .task import EMPTY_OPTIONS, Task, TaskOptions

__all__ = ["AsyncClient"]

#: Most tasks one flush writes (the rest go in the next one, right after).
_FLUSH_MAX = 1000


class AsyncClient:
    """Enqueues tasks from coroutines. `AsyncClient(r)` accepts a URL (also `redis+cluster://`,
    `redis+sentinel://`), a redis.asyncio Redis or RedisCluster, a redis.Redis or RedisCluster
    (its address is reused) or nothing (REDIS_URL, else the embedded server)."""

    def __init__(self, redis: Any = None, *, wait_replicas: int = 0,
                 wait_timeout: timedelta | float = timedelta(seconds=1)) -> None:
        """`wait_replicas=n`: each write ends with a WAIT until n replicas hold it (Sentinel
        setups, docs/scaling.md); a task fewer replicas acknowledged within `wait_timeout`
        raises ReplicationTimeoutError (it is written on the master). Not on a cluster."""
        if not isinstance(wait_replicas, int) or isinstance(wait_replicas, bool) or wait_replicas < 0:
            raise ConfigurationError("wait_replicas must be an int >= 0")
        seconds = wait_timeout.total_seconds() if isinstance(wait_timeout, timedelta) else float(wait_timeout)
        if seconds <= 0:
            raise ConfigurationError("wait_timeout must be positive")
        client, self._owned, address = open_async_redis(redis)
        self._rdb = AsyncProducer(client, address)
        if wait_replicas and self._rdb.cluster:
            raise ConfigurationError("wait_replicas needs a single master (Sentinel), not a cluster: "
                                     "each shard replicates on its own")
        self._wait = {"wait_replicas": wait_replicas, "wait_timeout_ms": max(int(seconds * 1000), 1)}
        self._pending: list[tuple[EnqueueRequest | _Plain, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Future[None] | None = None
        self._busy = False      # a write is in flight: new calls wait for the next flush
        self._loop: asyncio.AbstractEventLoop | None = None
        self._plans: dict[tuple[Any, ...], Any] = {}
        self._closed = False

    # ---- public API (DESIGN.md §3.1): Client's methods, awaitable ----
    async def enqueue(self, task: Task, **options: Any) -> TaskInfo:
        """Enqueue `task` now (or at process_at / process_in); returns its TaskInfo."""
        if not isinstance(task, Task):
            raise InvalidTaskError(f"expected a dmq_tools.Task, got {type(task).__name__}")
        plan = self._plan(task, options)
        if plan.plain and not task.headers:   # the common case: no TaskMessage object on the way
            task_id = _new_task_id()
            code = await self._submit(_Plain(plan, task_id, task.type, task.payload))
            info = _plain_info(task_id, task, plan, self._rdb.clock.now())
        else:
            now = self._rdb.clock.now()
            req = _request(task, plan, now)
            code = await self._submit(req)
            info = _info(req, plan, now)
        if code == 1:
            return info
        if isinstance(code, Exception):
            raise code
        raise_for_code(code)
        return info

    def _plan(self, task: Task, options: dict[str, Any]) -> Any:
        """Client's plan for these options; for a task without options of its own, remembered
        per options (a web app passes the same few: ~4 µs saved per call)."""
        if not options:
            return _plan_for(task, EMPTY_OPTIONS)
        if task.options is not EMPTY_OPTIONS:
            return _plan_for(task, TaskOptions.from_kwargs(options))
        try:
            key = tuple(options.items())
            plan = self._plans.get(key)
        except TypeError:     # an unhashable value (headers): resolve every time
            return _plan_for(task, TaskOptions.from_kwargs(options))
        if plan is None:
            plan = _plan_for(task, TaskOptions.from_kwargs(options))
            if plan.process_at is None and plan.process_in is None:   # times stay per call
                if len(self._plans) >= 256:
                    self._plans.clear()
                self._plans[key] = plan
        return plan

    async def enqueue_in(self, task: Task, delay: timedelta | float, **options: Any) -> TaskInfo:
        return await self.enqueue(task, **{**options, "process_in": delay, "process_at": None})

    async def enqueue_at(self, task: Task, when: datetime, **options: Any) -> TaskInfo:
        return await self.enqueue(task, **{**options, "process_at": when, "process_in": None})

    async def enqueue_many(self, tasks: Iterable[Task], *, on_conflict: str = "skip",
                           **options: Any) -> list[TaskInfo]:
        """Client.enqueue_many, awaitable: every task validated before anything is written,
        skipped conflicts left out (or `on_conflict="raise"`)."""
        if on_conflict not in ("skip", "raise"):
            raise ConfigurationError("on_conflict must be 'skip' or 'raise'")
        call_opts = TaskOptions.from_kwargs(options) if options else EMPTY_OPTIONS
        cache: dict[int, Any] = {}
        now = self._rdb.clock.now()
        built = []
        for i, t in enumerate(tasks):   # validate everything before anything is written
            try:
                if not isinstance(t, Task):
                    raise InvalidTaskError(f"expected a dmq_tools.Task, got {type(t).__name__}")
                plan = _plan_for(t, call_opts, cache)
                request = _request(t, plan, now)
            except ConfigurationError as exc:
                raise _at_index(exc, i, t) from None
            built.append((request, plan))
        codes: list[Any] = []
        for start in range(0, len(built), _FLUSH_MAX):
            codes += await self._rdb.write([req for req, _ in built[start:start + _FLUSH_MAX]], **self._wait)
        for code in codes:
            if isinstance(code, Exception):
                raise code
        infos = [_info(req, plan, now) for (req, plan), code in zip(built, codes) if code == 1]
        if on_conflict == "raise":
            raise_first_conflict(codes, infos)
        return infos

    async def ping(self) -> bool:
        return await self._rdb.ping()

    async def aclose(self) -> None:
        """Wait for enqueues in flight, then close the connection (if this client opened it)."""
        self._closed = True
        if self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        await self._rdb.close(client=self._owned)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- the collector: calls made during a write go together in the next one ----
    async def _submit(self, entry: EnqueueRequest | _Plain) -> Any:
        """Write alone when nothing is in flight (no extra task: a lone producer's latency);
        otherwise wait for the next flush, which takes everything that accumulated."""
        if self._closed:
            raise ConfigurationError("this AsyncClient is closed")
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                raise ConfigurationError("this AsyncClient belongs to the event loop it was first used in "
                                         "(its connection does); make one AsyncClient per event loop")
            self._loop = loop
        if self._busy:
            fut: asyncio.Future[Any] = loop.create_future()
            self._pending.append((entry, fut))
            return await fut
        self._busy = True
        try:
            codes = await self._rdb.write(batch_writes([entry]).items, **self._wait)
        finally:
            self._hand_off()
        return codes[0]

    def _hand_off(self) -> None:
        """After a write: what accumulated meanwhile goes in a flush task (which stays busy)."""
        if self._pending:
            self._flusher = asyncio.ensure_future(self._flush())
        else:
            self._busy = False

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:_FLUSH_MAX]
                del self._pending[:_FLUSH_MAX]
                try:
                    writes = batch_writes(entry for entry, _ in batch)
                    codes = writes.per_entry(await self._rdb.write(writes.items, **self._wait))
                except Exception as exc:   # every waiter of this flush gets the error
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                except BaseException as exc:   # cancelled: the waiters must not hang
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(ConnectionError(f"enqueue interrupted: {exc!r}"))
                    raise
                for (_, fut), code in zip(batch, codes):
                    if not fut.done():
                        fut.set_result(code)
                # let the callers just answered run first: their next calls join the next batch
                # instead of one of them writing alone (10 producers: batches of 10, not 1 + 9)
                await asyncio.sleep(0)
        finally:
            self._busy = False


class _Plain:
    """A plain task (see client._Plan.plain) waiting for the next flush."""

    __slots__ = ("plan", "task_id", "type", "payload")

    def __init__(self, plan: Any, task_id: str, task_type: str, payload: bytes | None) -> None:
        self.plan, self.task_id, self.type, self.payload = plan, task_id, task_type, payload
