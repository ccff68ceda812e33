"""RQ: Worker (forks a work horse per job) and SimpleWorker (runs jobs in its own process).

One RQ worker runs one job at a time, so "concurrency 10" is not available in one process; the
harness runs several worker processes where a configuration says so. Batch: Queue.enqueue_many.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redis  # noqa: E402
from rq import Queue, SimpleWorker, Worker  # noqa: E402

from _common import SLEEP_S, Item, main, record, redis_url  # noqa: E402

CHUNK = 1000
FUNCS = {"noop": "peer_rq.noop", "sleep": "peer_rq.sleep"}


def noop(task_id: str, ts: float) -> None:
    record(task_id, ts)


def sleep(task_id: str, ts: float) -> None:
    started = time.time()
    time.sleep(SLEEP_S)
    record(task_id, ts, started)


def _queue() -> Queue:
    return Queue(connection=redis.Redis.from_url(redis_url()))


def enqueue_one(todo: list[Item], gap: float) -> None:
    q = _queue()
    for task_id, kind in todo:
        q.enqueue(FUNCS[kind], task_id, time.time())
        if gap:
            time.sleep(gap)


def enqueue_batch(todo: list[Item]) -> None:
    q = _queue()
    for i in range(0, len(todo), CHUNK):
        now = time.time()
        q.enqueue_many([Queue.prepare_data(FUNCS[kind], args=(task_id, now)) for task_id, kind in todo[i:i + CHUNK]])


def _worker(cls: type[Worker]):
    def run(url: str) -> None:
        if cls is Worker:
            os.environ["BENCH_RECORD_SYNC"] = "1"  # the forked work horse exits right after the job
        conn = redis.Redis.from_url(url)
        cls([Queue(connection=conn)], connection=conn).work(logging_level="WARNING")
    return run


if __name__ == "__main__":
    main(enqueue_one=enqueue_one, enqueue_batch=enqueue_batch,
         workers={"worker": _worker(Worker), "simple": _worker(SimpleWorker)})
