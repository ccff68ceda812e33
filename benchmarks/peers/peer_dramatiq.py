"""Dramatiq with the Redis broker, started through its own CLI (processes x threads). No batch."""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import dramatiq  # noqa: E402
from dramatiq.brokers.redis import RedisBroker  # noqa: E402

from _common import SLEEP_S, Item, main, record, redis_url  # noqa: E402

broker = RedisBroker(url=redis_url())
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="noop", max_retries=0)
def noop(task_id: str, ts: float) -> None:
    record(task_id, ts)


@dramatiq.actor(actor_name="sleep", max_retries=0)
def sleep(task_id: str, ts: float) -> None:
    started = time.time()
    time.sleep(SLEEP_S)
    record(task_id, ts, started)


ACTORS = {"noop": noop, "sleep": sleep}


def enqueue_one(todo: list[Item], gap: float) -> None:
    for task_id, kind in todo:
        ACTORS[kind].send(task_id, time.time())
        if gap:
            time.sleep(gap)


def _worker(processes: int, threads: int):
    def run(url: str) -> None:
        from dramatiq.cli import main as cli_main

        sys.argv = ["dramatiq", "peer_dramatiq", "--path", str(HERE), "--processes", str(processes),
                    "--threads", str(threads)]
        sys.exit(cli_main())
    return run


if __name__ == "__main__":
    main(enqueue_one=enqueue_one, enqueue_batch=None,
         workers={"p1t8": _worker(1, 8), "p2t8": _worker(2, 8), "p1t10": _worker(1, 10)})
