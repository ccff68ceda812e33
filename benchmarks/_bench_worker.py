"""A worker process for the worker benchmarks: `python benchmarks/_bench_worker.py URL CONC PREFETCH BATCH`.

Handlers: `bench:noop` does nothing; `bench:lat` records (now - enqueue time) into `bench:lat`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

import dmq_tools as dmq  # noqa: E402
from dmq_tools.worker import WorkerConfig  # noqa: E402


def main() -> None:
    url, conc, prefetch, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    r = redis.Redis.from_url(url)
    mux = dmq.ServeMux()
    mux.handle("bench:noop", lambda t: None)

    @mux.handle("bench:lat")
    def lat(task: dmq.Task) -> None:
        now = time.time()
        r.rpush("bench:lat", now - task.json()["t"])

    cfg = WorkerConfig(concurrency=conc, prefetch=None if prefetch < 0 else prefetch, batch_size=batch)
    worker = dmq.Worker(r, mux, config=cfg)
    print("ready", flush=True)
    worker.run()


if __name__ == "__main__":
    main()
