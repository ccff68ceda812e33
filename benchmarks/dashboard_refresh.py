"""Dashboard refresh time on 50 queues holding 1,000,000 tasks in total.

Starts its own redis-server (tests/helpers/redis_server.py), seeds raw asynq records with
tests/helpers/seed.py (pipelined HSET + LPUSH, like a Go producer), then times `refresh()` of the
Dashboard's queue table and of the visible tab (the Overview first: cards, charts, the queue
table with sparklines), headless (no kernel, no browser: the cost of
rendering in the browser is not included). Compares with the same 50 queues holding 10 tasks each
to show the refresh does not depend on queue length.

Usage: python benchmarks/dashboard_refresh.py [TOTAL_TASKS] [QUEUES] [RUNS]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from dmq_tools.inspector import Inspector  # noqa: E402
from dmq_tools.widgets import Dashboard  # noqa: E402
from tests.helpers import seed  # noqa: E402
from tests.helpers.redis_server import RedisProcess, redis_server_binary  # noqa: E402


def _seed(r: redis.Redis, total: int, queues: int) -> float:
    t0 = time.perf_counter()
    per = total // queues
    now = time.time()
    for i in range(queues):
        q = f"queue-{i:02d}"
        seed.seed_pending_bulk(r, per, queue=q, task_type=f"job:{i % 7}")
        seed.seed_retry(r, [(seed.msg("job:x", queue=q, error_msg="boom", retried=1), now + 60)], q)
        seed.seed_archived(r, [(seed.msg("job:y", queue=q, error_msg="dead", retried=25), now)], q)
        if i % 10 == 0:
            seed.seed_paused(r, q)
    return time.perf_counter() - t0


def _time(fn, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        ok = fn()
        samples.append(time.perf_counter() - t0)
        assert ok is not False, "refresh failed"
    return statistics.median(samples) * 1e3, max(samples) * 1e3


def measure(url: str, runs: int) -> dict[str, tuple[float, float]]:
    insp = Inspector(url)
    t0 = time.perf_counter()
    d = Dashboard(insp)
    build = (time.perf_counter() - t0) * 1e3
    out = {"build Dashboard (first tab loaded)": (build, build)}
    out["queue table refresh"] = _time(d.queues.refresh, runs)
    out["Dashboard.refresh (first tab: Overview)"] = _time(d.refresh, runs)
    d.tab.selected_index = 1
    out["Dashboard.refresh (Tasks tab, page of 20)"] = _time(d.refresh, runs)
    d.tab.selected_index = 2
    out["Dashboard.refresh (Workers tab)"] = _time(d.refresh, runs)
    d.close()
    insp.close()
    return out


def main(total: int = 1_000_000, queues: int = 50, runs: int = 20) -> None:
    binary = redis_server_binary()
    if binary is None:
        sys.exit("redis-server not found")
    server = RedisProcess(binary, persist=False).start()
    try:
        r = redis.Redis.from_url(server.url)
        small_seed = _seed(r, queues * 10, queues)
        small = measure(server.url, runs)
        r.flushdb()
        big_seed = _seed(r, total, queues)
        mem = r.info("memory")["used_memory_human"]
        big = measure(server.url, runs)
        print(f"seeded {queues} queues x {total // queues} tasks = {total:,} in {big_seed:.1f} s "
              f"(redis used_memory {mem}); small case {queues} x 10 in {small_seed:.2f} s")
        print(f"{'':44s} {'10 tasks/queue':>22s} {f'{total // queues} tasks/queue':>22s}")
        for k in big:
            s, b = small[k], big[k]
            print(f"{k:44s} {s[0]:9.1f} ms (max {s[1]:5.1f}) {b[0]:9.1f} ms (max {b[1]:5.1f})")
        r.close()
    finally:
        server.cleanup()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
