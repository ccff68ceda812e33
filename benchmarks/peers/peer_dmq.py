"""dmq_tools: Client.enqueue / enqueue_many, and one Worker process (threads) per configuration."""

from __future__ import annotations

import sys
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


def _worker(concurrency: int):
    def run(url: str) -> None:
        dmq.Worker(url, _mux(), concurrency=concurrency, queues={"default": 1}).run()
    return run


if __name__ == "__main__":
    main(enqueue_one=enqueue_one, enqueue_batch=enqueue_batch, workers={"c10": _worker(10)})
