"""arq (asyncio): one Worker with its default max_jobs=10 and poll_delay=0.5 s. No batch enqueue."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arq import Worker, create_pool  # noqa: E402
from arq.connections import RedisSettings  # noqa: E402

from _common import SLEEP_S, Item, main, record, redis_url  # noqa: E402


async def noop(ctx: dict, task_id: str, ts: float) -> None:
    record(task_id, ts)


async def sleep(ctx: dict, task_id: str, ts: float) -> None:
    started = time.time()
    await asyncio.sleep(SLEEP_S)
    record(task_id, ts, started)


def enqueue_one(todo: list[Item], gap: float) -> None:
    async def go() -> None:
        pool = await create_pool(RedisSettings.from_dsn(redis_url()))
        for task_id, kind in todo:
            await pool.enqueue_job(kind, task_id, time.time())
            if gap:
                await asyncio.sleep(gap)
        await pool.aclose()
    asyncio.run(go())


def worker(url: str) -> None:
    Worker(functions=[noop, sleep], redis_settings=RedisSettings.from_dsn(url), max_jobs=10).run()


if __name__ == "__main__":
    main(enqueue_one=enqueue_one, enqueue_batch=None, workers={"c10": worker})
