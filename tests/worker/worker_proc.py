"""A worker process for robustness tests: records every run in Redis (HINCRBY runs <id> 1).

    python -m tests.worker.worker_proc <redis_url> <concurrency> <lease_s> <sleep_s>
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta

import redis

import dmq_tools as dmq
from dmq_tools.worker import WorkerConfig


def main() -> None:
    url, conc, lease_s, sleep_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    r = redis.Redis.from_url(url)
    seen: list[str] = []
    lock = threading.Lock()

    def flush() -> None:
        with lock:
            batch, seen[:] = seen[:], []
        if batch:
            pipe = r.pipeline(transaction=False)
            for tid in batch:
                pipe.hincrby("test:runs", tid, 1)
            pipe.execute()

    def flusher() -> None:
        while True:
            time.sleep(0.05)
            flush()

    mux = dmq.ServeMux()

    @mux.handle("job")
    def job(task):
        if sleep_s:
            time.sleep(sleep_s)
        with lock:
            seen.append(task.id)

    threading.Thread(target=flusher, daemon=True).start()
    cfg = WorkerConfig(concurrency=conc, lease_duration=timedelta(seconds=lease_s),
                       heartbeat_interval=timedelta(seconds=min(5.0, lease_s / 3)),
                       recoverer_interval=timedelta(seconds=1), delayed_task_check_interval=timedelta(seconds=0.2),
                       retry_delay_func=lambda n, e, t: timedelta(0))
    w = dmq.Worker(r, mux, config=cfg)
    print("ready", flush=True)
    w.run()
    flush()


if __name__ == "__main__":
    main()
