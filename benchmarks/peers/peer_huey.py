"""Huey (RedisHuey, blocking dequeue, results off): one consumer with 10 worker threads. No batch."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from huey import RedisHuey  # noqa: E402

from _common import SLEEP_S, Item, main, record, redis_url  # noqa: E402

huey = RedisHuey("bench", url=redis_url(), results=False)


@huey.task(name="noop")
def noop(task_id: str, ts: float) -> None:
    record(task_id, ts)


@huey.task(name="sleep")
def sleep(task_id: str, ts: float) -> None:
    started = time.time()
    time.sleep(SLEEP_S)
    record(task_id, ts, started)


TASKS = {"noop": noop, "sleep": sleep}


def enqueue_one(todo: list[Item], gap: float) -> None:
    for task_id, kind in todo:
        TASKS[kind](task_id, time.time())
        if gap:
            time.sleep(gap)


def _worker(workers: int):
    def run(url: str) -> None:
        huey.create_consumer(workers=workers, worker_type="thread", periodic=False).run()
    return run


if __name__ == "__main__":
    main(enqueue_one=enqueue_one, enqueue_batch=None, workers={"t1": _worker(1), "t10": _worker(10)})
