"""Inspector benchmarks: list a page of 30 from a queue of 1,000,000 pending tasks (it must not
depend on queue size), and `tasks_frame` throughput in tasks/s on 100,000 tasks.

Starts its own redis-server (tests/helpers/redis_server.py) and seeds raw asynq records with
tests/helpers/seed.py (pipelined HSET + LPUSH, as a Go producer would write them).

Usage: python benchmarks/inspector.py [PENDING_TASKS=1000000] [FRAME_TASKS=100000] [RUNS=50]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from dmq_tools import export  # noqa: E402
from dmq_tools.inspector import Inspector  # noqa: E402
from tests.helpers import seed  # noqa: E402
from tests.helpers.redis_server import RedisProcess, redis_server_binary  # noqa: E402


def _timed(fn, runs: int) -> tuple[float, float]:
    """(median, p95) wall time in ms of `fn()` over `runs` calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    big = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    frame_n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    binary = redis_server_binary()
    if binary is None:
        sys.exit("redis-server not found")
    server = RedisProcess(binary).start()
    try:
        r = redis.Redis.from_url(server.url)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        t0 = time.perf_counter()
        seed.seed_pending_bulk(r, big, queue="big", chunk=10_000)
        seed_s = time.perf_counter() - t0
        seed.seed_pending_bulk(r, 1_000, queue="small")
        seed.seed_pending_bulk(r, frame_n, queue="frame", chunk=10_000)
        insp = Inspector(r)
        print(f"redis {r.info()['redis_version']}; seeded {big:,} pending in {seed_s:.1f} s "
              f"({big / seed_s:,.0f} tasks/s)")
        last_page = (big + 29) // 30
        rows = [
            ("page 1 of 30, 1,000 pending", lambda: insp.list_tasks("small", "pending", page=1)),
            (f"page 1 of 30, {big:,} pending", lambda: insp.list_tasks("big", "pending", page=1)),
            (f"page {last_page:,} (last) of 30, {big:,} pending",
             lambda: insp.list_tasks("big", "pending", page=last_page)),
            (f"get_queue_info, {big:,} pending", lambda: insp.get_queue_info("big")),
        ]
        print(f"\n{'operation':<44} {'median ms':>10} {'p95 ms':>8}")
        for label, fn in rows:
            med, p95 = _timed(fn, runs)
            print(f"{label:<44} {med:>10.2f} {p95:>8.2f}")
        assert [t.id for t in insp.list_tasks("big", "pending", page=1, page_size=3)] == \
            ["t000000000", "t000000001", "t000000002"], "page 1 must hold the next tasks to run"

        frame_runs, cpu_runs = [], []
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            df = export.tasks_frame(insp, "frame", "pending")
            frame_runs.append(time.perf_counter() - t0)
            cpu_runs.append(time.process_time() - c0)
        best = min(frame_runs)
        assert len(df) == frame_n
        print(f"\ntasks_frame(pending) on {frame_n:,} tasks: best of 3 {best:.2f} s wall "
              f"= {frame_n / best:,.0f} tasks/s (runs: {', '.join(f'{s:.2f}' for s in frame_runs)} s; "
              f"client CPU {min(cpu_runs):.2f} s)")
        t0 = time.perf_counter()
        n = sum(len(b) for b in insp.iter_tasks("frame", "pending"))
        it_s = time.perf_counter() - t0
        print(f"iter_tasks alone (read + decode to TaskInfo): {it_s:.2f} s = {n / it_s:,.0f} tasks/s")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
