"""SAQ (asyncio): one Worker with its default concurrency=10. No batch enqueue (map/apply wait)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from saq import Queue, Worker  # noqa: E402

from _common import SLEEP_S, Item, main, record, redis_url  # noqa: E402


async def noop(ctx: dict, *, task_id: str, ts: float) -> None:
    record(task_id, ts)


async def sleep(ctx: dict, *, task_id: str, ts: float) -> None:
    started = time.time()
    await asyncio.sleep(SLEEP_S)
    record(task_id, ts, started)


def enqueue_one(todo: list[Item], gap: float) -> None:
    async def go() -> None:
        queue = Queue.from_url(redis_url())
        await queue.connect()
        for task_id, kind in todo:
            await queue.enqueue(kind, task_id=task_id, ts=time.time())
            if gap:
                await asyncio.sleep(gap)
        await queue.disconnect()
    asyncio.run(go())


def worker(url: str) -> None:
    async def go() -> None:
        queue = Queue.from_url(url)
        await Worker(queue, functions=[noop, sleep], concurrency=10).start()
    asyncio.run(go())


if __name__ == "__main__":
    main(enqueue_one=enqueue_one, enqueue_batch=None, workers={"c10": worker})
