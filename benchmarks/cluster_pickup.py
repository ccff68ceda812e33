"""Idle pickup latency on one Redis and on a three-master Redis Cluster, in the same run.

    python benchmarks/cluster_pickup.py [--samples 300] [--gap-ms 20] [--setups one,cluster]

One worker process (concurrency 10) serves three queues `q0`, `q1`, `q2`, which on the cluster
live in three different slots on its three masters. Tasks are enqueued one at a time, round-robin
over the queues, ~20 ms apart (jittered ±25 %), so the worker is idle and waiting each time. The
payload carries the enqueue time (taken just before `Client.enqueue`); the handler prints
`now - that time` on its stdout, read here. Both processes are on this host, so their clocks
agree. Each setup is followed by its floor: a bare LPUSH -> BLPOP (select() in another process)
on the same server or node, what the machine's scheduling adds to any wake-up. Prints markdown;
writes JSON to benchmarks/results/cluster_pickup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import dmq_tools as dmq  # noqa: E402
from dmq_tools.rdb import keys  # noqa: E402
from tests.helpers.redis_cluster import ClusterSet  # noqa: E402
from tests.helpers.redis_server import RedisProcess, redis_server_binary  # noqa: E402

QUEUES = ["q0", "q1", "q2"]
WORKER = r"""
import sys, threading, time
import dmq_tools as dmq
from dmq_tools.worker import WorkerConfig
mux = dmq.ServeMux()
out = threading.Lock()

@mux.handle("bench:lat")
def lat(task):
    now = time.time()
    with out:         # one line per task, never interleaved by the handler threads
        sys.stdout.write(f"lat {now - task.json()['t']:.6f}\n")
        sys.stdout.flush()

w = dmq.Worker(sys.argv[1], mux, config=WorkerConfig(concurrency=10, queues={"q0": 1, "q1": 1, "q2": 1}))
print("ready", flush=True)
w.run()
"""


FLOOR = r"""
import redis, selectors, sys, time
conn = redis.Redis(host="127.0.0.1", port=int(sys.argv[1])).connection_pool.make_connection()
conn.connect()
sel = selectors.DefaultSelector()
sel.register(conn._sock, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    conn.send_command("BLPOP", "{floor}:q", 5)
    sel.select(10)
    now = time.time()
    got = conn.read_response()
    if got is None:
        continue
    if got[1] == b"stop":
        break
    print(f"lat {now - float(got[1]):.6f}", flush=True)
"""


def floor(port: int, samples: int, gap_ms: float) -> list[float]:
    """The transport's own pickup, LPUSH -> a BLPOP waited on with select() in another process,
    on the node that holds `{floor}:q`: what this machine's scheduling adds to any wake-up."""
    import redis

    r = redis.Redis(host="127.0.0.1", port=port)
    p = subprocess.Popen([sys.executable, "-c", FLOOR, str(port)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    for _ in range(samples):
        r.lpush("{floor}:q", repr(time.time()))
        time.sleep(gap_ms / 1000 * (0.75 + 0.5 * random.random()))
    r.lpush("{floor}:q", "stop")
    out = [float(line.split()[1]) * 1000 for line in p.stdout if line.startswith("lat ")]
    p.wait(30)
    r.close()
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def pickup(url: str, samples: int, gap_ms: float) -> list[float]:
    """Enqueue -> handler start in ms, `samples` times, with an idle worker in its own process."""
    r = dmq.connect(url)
    if url.startswith("redis+cluster://"):
        slots = {r.keyslot(keys.pending(q)) for q in QUEUES}
        nodes = {r.get_node_from_key(keys.pending(q)).name for q in QUEUES}
        assert len(slots) == 3, "the queues should be in three slots"
        print(f"  cluster: queues on {len(nodes)} node(s)", flush=True)
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, url], stdout=subprocess.PIPE, text=True, env=env)
    assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    lat_ms: list[float] = []

    def read() -> None:
        assert worker.stdout is not None
        for line in worker.stdout:
            if line.startswith("lat "):
                lat_ms.append(float(line.split()[1]) * 1000)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        with dmq.Client(r) as client:
            for q in QUEUES:          # warm-up: scripts loaded, queues registered, wakers running
                client.enqueue(dmq.Task("bench:lat", {"t": time.time()}), queue=q)
            end = time.monotonic() + 10
            while len(lat_ms) < len(QUEUES) and time.monotonic() < end:
                time.sleep(0.01)
            time.sleep(1.0)
            del lat_ms[:]
            for i in range(samples):
                client.enqueue(dmq.Task("bench:lat", {"t": time.time()}), queue=QUEUES[i % len(QUEUES)])
                time.sleep(gap_ms / 1000 * (0.75 + 0.5 * random.random()))
        end = time.monotonic() + 30
        while len(lat_ms) < samples and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(30)
        r.close()
    return list(lat_ms)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--gap-ms", type=float, default=20.0)
    ap.add_argument("--setups", default="one,cluster")
    args = ap.parse_args()
    binary = redis_server_binary()
    if binary is None:
        raise SystemExit("no redis-server")
    results = []
    for setup in args.setups.split(","):
        server = RedisProcess(binary).start() if setup == "one" else ClusterSet(binary).start()
        label = "one Redis" if setup == "one" else "3-master cluster"
        try:
            lat = pickup(server.url, args.samples, args.gap_ms)
            if setup == "one":
                port = server.port
            else:
                client = dmq.connect(server.url)
                port = client.get_node_from_key("{floor}:q").port
                client.close()
            lat_floor = floor(port, args.samples, args.gap_ms)
        finally:
            server.cleanup()
        for name, values in ((label, lat), (f"{label}: floor", lat_floor)):
            res = {"setup": name, "samples": len(values), "p50_ms": pct(values, 50), "p90_ms": pct(values, 90),
                   "p99_ms": pct(values, 99), "mean_ms": statistics.fmean(values), "max_ms": max(values)}
            results.append(res)
            print(f"{name:25} n={res['samples']}: p50 {res['p50_ms']:.3f} ms, p99 {res['p99_ms']:.3f} ms",
                  flush=True)
    print(f"\n### idle pickup, enqueue -> handler ({args.gap_ms:g} ms apart, 3 queues round-robin; "
          f"load average {os.getloadavg()[0]:.2f})\n")
    print("| setup | samples | p50 ms | p90 ms | p99 ms | mean ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|")
    for x in results:
        print(f"| {x['setup']} | {x['samples']} | {x['p50_ms']:.3f} | {x['p90_ms']:.3f} | {x['p99_ms']:.3f} | "
              f"{x['mean_ms']:.3f} | {x['max_ms']:.3f} |")
    out = HERE / "results" / "cluster_pickup.json"
    out.write_text(json.dumps({"gap_ms": args.gap_ms, "cpus": os.cpu_count(), "python": platform.python_version(),
                               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "results": results},
                              indent=2))


if __name__ == "__main__":
    main()
