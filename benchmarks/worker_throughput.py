"""No-op throughput of dmq workers on pre-enqueued tasks.

    python benchmarks/worker_throughput.py [--n 20000] [--runs 1] [--redis-url URL]

The queue is paused while N tasks are enqueued (Client.enqueue_many) and the workers start, then
unpaused: the time until asynq's `processed` counter reaches N gives tasks/s. Every worker is
its own process (`_bench_worker.py`). Prints markdown; writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import redis  # noqa: E402

import dmq_tools as dmq  # noqa: E402
from dmq_tools.rdb import keys  # noqa: E402

Q = "default"
#: (label, processes, concurrency, prefetch (-1 = default: concurrency), batch)
CONFIGS = [
    ("c=10 (defaults)", 1, 10, -1, 64),
    ("c=1", 1, 1, -1, 64),
    ("c=10 prefetch=0 (asynq-like)", 1, 10, 0, 64),
    ("c=32", 1, 32, -1, 64),
    ("c=10 prefetch=54 batch=64", 1, 10, 54, 64),
    ("c=10 x2 processes", 2, 10, -1, 64),
]


def start_server() -> tuple[subprocess.Popen, str]:
    from tests.helpers.redis_server import RedisProcess, redis_server_binary

    p = RedisProcess(redis_server_binary()).start()
    return p, p.url


def run_config(url: str, n: int, procs: int, conc: int, prefetch: int, batch: int) -> float:
    r = redis.Redis.from_url(url)
    r.flushdb()
    client = dmq.Client(r)
    r.set(keys.paused(Q), int(time.time()))
    for i in range(0, n, 2000):
        client.enqueue_many([dmq.Task("bench:noop", None) for _ in range(min(2000, n - i))])
    workers = [subprocess.Popen([sys.executable, str(HERE / "_bench_worker.py"), url, str(conc), str(prefetch),
                                 str(batch)], stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    for w in workers:
        assert w.stdout.readline().strip() == "ready"
    time.sleep(1.0)                                  # let them settle into their idle wait
    t0 = time.perf_counter()
    r.delete(keys.paused(Q))
    for _ in range(procs):
        r.lpush(keys.wake(Q), "1")
    while int(r.get(keys.processed_total(Q)) or 0) < n:
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        w.wait(30)
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--redis-url", default=None)
    args = ap.parse_args()
    server = None
    url = args.redis_url
    if url is None:
        server, url = start_server()
    rows = []
    try:
        for label, procs, conc, prefetch, batch in CONFIGS:
            rates = [run_config(url, args.n, procs, conc, prefetch, batch) for _ in range(args.runs)]
            rows.append({"config": label, "processes": procs, "concurrency": conc, "prefetch": prefetch,
                         "batch": batch, "tasks_per_s": rates, "best": max(rates)})
            print(f"{label}: {', '.join(f'{x:.0f}' for x in rates)} tasks/s", file=sys.stderr)
    finally:
        if server is not None:
            server.cleanup()
    print(f"\n### dmq worker no-op throughput ({args.n} pre-enqueued tasks, runs={args.runs})\n")
    print("| config | processes | tasks/s (best) | all runs |")
    print("|---|---:|---:|---|")
    for row in rows:
        print(f"| {row['config']} | {row['processes']} | {row['best']:.0f} | "
              f"{', '.join(f'{x:.0f}' for x in row['tasks_per_s'])} |")
    out = HERE / "results" / "worker_throughput.json"
    out.write_text(json.dumps({"n": args.n, "runs": args.runs, "python": platform.python_version(),
                               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}, indent=2))
    print(f"\n(JSON: {out.relative_to(HERE.parent)})")


if __name__ == "__main__":
    main()
