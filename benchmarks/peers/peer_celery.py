"""Celery with the Redis broker (kombu). Pools: prefork (1 or 2 children) and threads (10).

Workers run with --without-gossip/--without-mingle/--without-heartbeat (the usual tuning for a
single worker) and task_ignore_result (no result backend). Celery has no batch enqueue.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from celery import Celery  # noqa: E402

from _common import SLEEP_S, Item, main, record, redis_url  # noqa: E402

app = Celery("peer_celery", broker=redis_url())
app.conf.update(task_ignore_result=True, worker_hijack_root_logger=False,
                broker_connection_retry_on_startup=True, worker_redirect_stdouts=False)


@app.task(name="noop")
def noop(task_id: str, ts: float) -> None:
    record(task_id, ts)


@app.task(name="sleep")
def sleep(task_id: str, ts: float) -> None:
    started = time.time()
    time.sleep(SLEEP_S)
    record(task_id, ts, started)


TASKS = {"noop": noop, "sleep": sleep}


def enqueue_one(todo: list[Item], gap: float) -> None:
    for task_id, kind in todo:
        TASKS[kind].apply_async((task_id, time.time()))
        if gap:
            time.sleep(gap)


def _worker(pool: str, concurrency: int):
    def run(url: str) -> None:
        app.worker_main(["worker", f"--pool={pool}", f"--concurrency={concurrency}", "--loglevel=WARNING",
                         "--without-gossip", "--without-mingle", "--without-heartbeat"])
    return run


if __name__ == "__main__":
    main(enqueue_one=enqueue_one, enqueue_batch=None,
         workers={"prefork1": _worker("prefork", 1), "prefork2": _worker("prefork", 2),
                  "threads10": _worker("threads", 10)})
