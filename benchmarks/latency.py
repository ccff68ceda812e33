"""Idle pickup latency: enqueue (our Client) -> handler start, in a separate worker process.

    python benchmarks/latency.py [--samples 500] [--gap-ms 10] [--redis-url URL]

The payload carries the enqueue time; the handler records now - that time. Samples are spaced
out so the worker is idle (blocked on its wake key) each time. Prints markdown; writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import redis  # noqa: E402

import dmq_tools as dmq  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


FLOOR = r"""
import redis, sys, time
r = redis.Redis.from_url(sys.argv[1]); print("ready", flush=True)
while True:
    _, v = r.brpop("floor:q")
    now = time.time()
    if v == b"stop":
        break
    r.rpush("floor:lat", now - float(v))
"""


def floor(url: str, samples: int, gap_ms: float) -> list[float]:
    """Plain redis-py LPUSH -> BRPOP in another process: the transport's own latency."""
    r = redis.Redis.from_url(url)
    p = subprocess.Popen([sys.executable, "-c", FLOOR, url], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    for _ in range(samples):
        r.lpush("floor:q", repr(time.time()))
        time.sleep(gap_ms / 1000 * (0.5 + random.random()))
    r.lpush("floor:q", "stop")
    p.wait(30)
    return [float(x) * 1000 for x in r.lrange("floor:lat", 0, -1)]


def pickup(url: str, samples: int, gap_ms: float, concurrency: int) -> list[float]:
    """Enqueue -> handler start in ms, `samples` times, with an idle worker in its own process."""
    r = redis.Redis.from_url(url)
    r.flushdb()
    worker = subprocess.Popen([sys.executable, str(HERE / "_bench_worker.py"), url, str(concurrency), "-1",
                               "64"], stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().strip() == "ready"
    client = dmq.Client(r)
    client.enqueue(dmq.Task("bench:noop", None))     # warm-up: scripts loaded, queue registered
    time.sleep(1.0)
    for _ in range(samples):
        client.enqueue(dmq.Task("bench:lat", {"t": time.time()}))
        time.sleep(gap_ms / 1000 * (0.5 + random.random()))
    end = time.monotonic() + 30
    while r.llen("bench:lat") < samples and time.monotonic() < end:
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    worker.wait(30)
    worker.stdout.close()
    lat_ms = [float(x) * 1000 for x in r.lrange("bench:lat", 0, -1)]
    r.close()
    return lat_ms


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--gap-ms", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--redis-url", default=None)
    args = ap.parse_args()
    server = None
    url = args.redis_url
    if url is None:
        from tests.helpers.redis_server import RedisProcess, redis_server_binary

        server = RedisProcess(redis_server_binary()).start()
        url = server.url
    try:
        lat_ms = pickup(url, args.samples, args.gap_ms, args.concurrency)
        floor_ms = floor(url, args.samples, args.gap_ms)
    finally:
        if server is not None:
            server.cleanup()
    res = {"samples": len(lat_ms), "p50_ms": pct(lat_ms, 50), "p90_ms": pct(lat_ms, 90), "p99_ms": pct(lat_ms, 99),
           "mean_ms": statistics.fmean(lat_ms), "max_ms": max(lat_ms), "gap_ms": args.gap_ms,
           "concurrency": args.concurrency, "python": platform.python_version(),
           "floor_p50_ms": pct(floor_ms, 50), "floor_p99_ms": pct(floor_ms, 99),
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"\n### dmq idle pickup latency ({res['samples']} samples, worker c={args.concurrency}, separate process)\n")
    print("| path | p50 ms | p90 ms | p99 ms | mean ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| dmq Client.enqueue -> handler | {res['p50_ms']:.3f} | {res['p90_ms']:.3f} | {res['p99_ms']:.3f} | "
          f"{res['mean_ms']:.3f} | {res['max_ms']:.3f} |")
    print(f"| floor: redis-py LPUSH -> BRPOP | {pct(floor_ms, 50):.3f} | {pct(floor_ms, 90):.3f} | "
          f"{pct(floor_ms, 99):.3f} | {statistics.fmean(floor_ms):.3f} | {max(floor_ms):.3f} |")
    out = HERE / "results" / "worker_latency.json"
    out.write_text(json.dumps(res, indent=2))
    print(f"\n(JSON: {out.relative_to(HERE.parent)})")


if __name__ == "__main__":
    main()
