"""taskiq with taskiq-redis' ListQueueBroker (BRPOP), worker started through taskiq's CLI. No batch."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from taskiq_redis import ListQueueBroker  # noqa: E402

from _common import SLEEP_S, Item, main, record, redis_url  # noqa: E402

broker = ListQueueBroker(redis_url())


@broker.task(task_name="noop")
async def noop(task_id: str, ts: float) -> None:
    record(task_id, ts)


@broker.task(task_name="sleep")
async def sleep(task_id: str, ts: float) -> None:
    started = time.time()
    await asyncio.sleep(SLEEP_S)
    record(task_id, ts, started)


TASKS = {"noop": noop, "sleep": sleep}


def enqueue_one(todo: list[Item], gap: float) -> None:
    async def go() -> None:
        await broker.startup()
        for task_id, kind in todo:
            await TASKS[kind].kiq(task_id, time.time())
            if gap:
                await asyncio.sleep(gap)
        await broker.shutdown()
    asyncio.run(go())


def _worker(workers: int, max_async: int):
    def run(url: str) -> None:
        from taskiq.__main__ import main as cli_main

        sys.argv = ["taskiq", "worker", "peer_taskiq:broker", "--workers", str(workers),
                    "--max-async-tasks", str(max_async), "--log-level", "WARNING"]
        sys.exit(cli_main())
    return run


if __name__ == "__main__":
    main(enqueue_one=enqueue_one, enqueue_batch=None,
         workers={"w1": _worker(1, 100), "w2": _worker(2, 100), "w1c10": _worker(1, 10)})
