"""`AsyncClient`: `Client` for asyncio web apps, with concurrent enqueues sharing round trips.

    ac = dmq.AsyncClient()                          # REDIS_URL, else the embedded server
    info = await ac.enqueue(task, queue="critical")  # same options and TaskInfo as Client
    await ac.aclose()

Nothing blocks the event loop. Calls made while a write is in flight wait together and go in
the next write: one pipeline (plain tasks of a queue in one `enqueue_batch` script call), so a
web app with 100 requests in flight makes a few round trips, not 100. Options are resolved and
validated by `Client`'s own code before a task joins a batch, so a bad option raises in its
caller only, and the records are byte-identical to `Client`'s (and asynq's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from .client import Client, _info
from .errors import ConfigurationError, DuplicateTaskError, InvalidTaskError, TaskIDConflictError
from .models import TaskInfo
from .rdb.async_producer import AsyncProducer, open_async_redis
from .rdb.producer import CONFLICT, DUPLICATE, EnqueueRequest, raise_for_code
from .task import EMPTY_OPTIONS, Task, TaskOptions

__all__ = ["AsyncClient"]

#: Most tasks one flush writes (the rest go in the next one, right after).
_FLUSH_MAX = 1000


class AsyncClient:
    """Enqueues tasks from coroutines. `AsyncClient(r)` accepts a URL, a redis.asyncio.Redis, a
    redis.Redis (its address is reused) or nothing (REDIS_URL, else the embedded server)."""

    # Client's option handling, shared as is: the same defaults, units and validation.
    _plan_for = Client._plan_for
    _request = Client._request

    def __init__(self, redis: Any = None) -> None:
        client, self._owned, address = open_async_redis(redis)
        self._rdb = AsyncProducer(client, address)
        self._pending: list[tuple[EnqueueRequest, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    # ---- public API (DESIGN.md §3.1): Client's methods, awaitable ----
    async def enqueue(self, task: Task, **options: Any) -> TaskInfo:
        """Enqueue `task` now (or at process_at / process_in); returns its TaskInfo."""
        if not isinstance(task, Task):
            raise InvalidTaskError(f"expected a dmq_tools.Task, got {type(task).__name__}")
        plan = self._plan_for(task, TaskOptions.from_kwargs(options) if options else EMPTY_OPTIONS)
        now = self._rdb.clock.now()
        req = self._request(task, plan, now)
        code = await self._submit(req)
        if isinstance(code, Exception):
            raise code
        if code != 1:
            raise_for_code(code)
        return _info(req, plan, now)

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
        for t in tasks:
            if not isinstance(t, Task):
                raise InvalidTaskError(f"expected a dmq_tools.Task, got {type(t).__name__}")
            plan = self._plan_for(t, call_opts, cache)
            built.append((self._request(t, plan, now), plan))
        codes: list[Any] = []
        for start in range(0, len(built), _FLUSH_MAX):
            codes += await self._rdb.write([req for req, _ in built[start:start + _FLUSH_MAX]])
        for code in codes:
            if isinstance(code, Exception):
                raise code
        infos = [_info(req, plan, now) for (req, plan), code in zip(built, codes) if code == 1]
        if on_conflict == "raise":
            for code in codes:
                if code in (CONFLICT, DUPLICATE):
                    err = TaskIDConflictError() if code == CONFLICT else DuplicateTaskError()
                    err.enqueued = infos  # type: ignore[attr-defined]
                    raise err
        return infos

    async def ping(self) -> bool:
        return await self._rdb.ping()

    async def aclose(self) -> None:
        """Wait for enqueues in flight, then close the connection (if this client opened it)."""
        self._closed = True
        if self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        if self._owned:
            await self._rdb.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- the collector: calls made during a flush go together in the next one ----
    async def _submit(self, req: EnqueueRequest) -> Any:
        if self._closed:
            raise ConfigurationError("this AsyncClient is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((req, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return await fut

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:_FLUSH_MAX]
            del self._pending[:_FLUSH_MAX]
            try:
                codes = await self._rdb.write([req for req, _ in batch])
            except BaseException as exc:   # every waiter of this flush gets the error
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, fut), code in zip(batch, codes):
                if not fut.done():
                    fut.set_result(code)
