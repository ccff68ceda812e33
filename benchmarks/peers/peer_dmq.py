"""dmq_tools: Client.enqueue / enqueue_many, and one Worker process (threads) per configuration.

Concurrent producers: `threads` = that many threads sharing one `dmq.Client`; `async` = that many
coroutines sharing one `dmq.AsyncClient` (when this dmq_tools has it; otherwise the mode reports
why it is skipped).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dmq_tools as dmq  # noqa: E402

from _common import SLEEP_S, Item, main, record, redis_url  # noqa: E402

CHUNK = 1000
TYPES = {"noop": "bench:noop", "sleep": "bench:sleep"}


def _task(task_id: str, kind: str) -> dmq.Task:
    return dmq.Task(TYPES[kind], {"id": task_id, "ts": time.time()})


def enqueue_one(todo: list[Item], gap: float) -> None:
    client = dmq.Client(redis_url())
    for task_id, kind in todo:
        client.enqueue(_task(task_id, kind))
        if gap:
            time.sleep(gap)


def enqueue_batch(todo: list[Item]) -> None:
    client = dmq.Client(redis_url())
    for i in range(0, len(todo), CHUNK):
        client.enqueue_many([_task(task_id, kind) for task_id, kind in todo[i:i + CHUNK]])


def _slices(todo: list[Item], producers: int) -> list[list[Item]]:
    return [todo[p::producers] for p in range(max(1, producers))]


def enqueue_threads(todo: list[Item], producers: int) -> None:
    """`producers` threads, one shared Client, one `enqueue` call per task."""
    client = dmq.Client(redis_url())
    errors: list[BaseException] = []

    def produce(part: list[Item]) -> None:
        try:
            for task_id, kind in part:
                client.enqueue(_task(task_id, kind))
        except BaseException as exc:  # re-raised below: a failed producer fails the measurement
            errors.append(exc)

    threads = [threading.Thread(target=produce, args=(part,)) for part in _slices(todo, producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def enqueue_async(todo: list[Item], producers: int) -> None:
    """`producers` coroutines, one shared AsyncClient, one awaited `enqueue` per task."""

    async def run() -> None:
        client = dmq.AsyncClient(redis_url())
        try:
            async def produce(part: list[Item]) -> None:
                for task_id, kind in part:
                    await client.enqueue(_task(task_id, kind))

            await asyncio.gather(*(produce(part) for part in _slices(todo, producers)))
        finally:
            await client.aclose()

    asyncio.run(run())


def _mux() -> dmq.ServeMux:
    mux = dmq.ServeMux()

    @mux.handle("bench:noop")
    def noop(task: dmq.Task) -> None:
        body = task.json()
        record(body["id"], body["ts"])

    @mux.handle("bench:sleep")
    def sleep(task: dmq.Task) -> None:
        started = time.time()
        time.sleep(SLEEP_S)
        body = task.json()
        record(body["id"], body["ts"], started)

    return mux


def _worker(concurrency: int, queues: dict[str, int] | None = None):
    def run(url: str) -> None:
        dmq.Worker(url, _mux(), concurrency=concurrency, queues=queues or {"default": 1}).run()
    return run


if __name__ == "__main__":
    has_async = hasattr(dmq, "AsyncClient")
    workers = {"c10": _worker(10),
               "c10-lat": _worker(10, {"default": 1, "lat": 1})}  # benchmarks/scale.py: pickups on "lat"
    main(enqueue_one=enqueue_one, enqueue_batch=enqueue_batch, workers=workers,
         concurrent={"threads": enqueue_threads, **({"async": enqueue_async} if has_async else {})},
         unavailable={} if has_async else {"async": "this dmq_tools has no AsyncClient"})
