"""No-op processing throughput with 1, 2 and 4 worker processes on one Redis and on a
three-master Redis Cluster (started here from the test helpers, on 127.0.0.1).

    python benchmarks/cluster_throughput.py [--n 6000] [--procs 1,2,4]

Tasks are spread evenly over three queues (`q0`, `q1`, `q2`: three different slots, which the
cluster puts on its three masters). The queues are paused while the tasks are enqueued and the
workers start, then unpaused; the time until asynq's `processed` counters sum to N gives tasks/s.
Every worker is its own process (concurrency 10). Redis CPU per task is the servers' own
used_cpu_user+sys (INFO cpu) over the run, summed over the nodes. Prints markdown; writes JSON to
benchmarks/results/cluster_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import redis  # noqa: E402

import dmq_tools as dmq  # noqa: E402
from dmq_tools.rdb import keys  # noqa: E402
from tests.helpers.redis_cluster import ClusterSet  # noqa: E402
from tests.helpers.redis_server import RedisProcess, redis_server_binary  # noqa: E402

QUEUES = ["q0", "q1", "q2"]
WORKER = """
import sys
import dmq_tools as dmq
from dmq_tools.worker import WorkerConfig
mux = dmq.ServeMux()
mux.handle("bench:noop", lambda t: None)
w = dmq.Worker(sys.argv[1], mux, config=WorkerConfig(concurrency=10, queues={"q0": 1, "q1": 1, "q2": 1}))
print("ready", flush=True)
w.run()
"""


def _nodes(url: str) -> list[redis.Redis]:
    if url.startswith("redis+cluster://"):
        return [redis.Redis(host=h, port=int(p)) for h, p in
                (n.split(":") for n in url.split("://", 1)[1].split(","))]
    return [redis.Redis.from_url(url)]


def _cpu(nodes: list[redis.Redis]) -> float:
    total = 0.0
    for n in nodes:
        info = n.info("cpu")
        total += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return total


def run_once(url: str, n: int, procs: int) -> dict[str, float]:
    nodes = _nodes(url)
    for node in nodes:
        node.flushall()
    r = dmq.connect(url)
    for q in QUEUES:
        r.set(keys.paused(q), "1")
    with dmq.Client(url) as client:
        per = n // len(QUEUES)
        for q in QUEUES:
            for start in range(0, per, 1000):
                client.enqueue_many([dmq.Task("bench:noop", b"") for _ in range(min(1000, per - start))], queue=q)
    total = per * len(QUEUES)
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, url], stdout=subprocess.PIPE, env=env, text=True)
               for _ in range(procs)]
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        cpu0 = _cpu(nodes)
        t0 = time.perf_counter()
        for q in QUEUES:
            r.delete(keys.paused(q))
        while True:
            done = sum(int(r.get(keys.processed_total(q)) or 0) for q in QUEUES)
            if done >= total:
                break
            if time.perf_counter() - t0 > 300:
                raise RuntimeError(f"only {done}/{total} processed after 300 s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - t0
        cpu = _cpu(nodes) - cpu0
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(10)
        r.close()
        for node in nodes:
            node.close()
    return {"tasks_per_s": total / elapsed, "redis_cpu_us_per_task": cpu / total * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--procs", default="1,2,4")
    args = ap.parse_args()
    binary = redis_server_binary()
    if binary is None:
        raise SystemExit("no redis-server")
    single = RedisProcess(binary).start()
    cluster = ClusterSet(binary).start()
    results = []
    try:
        for label, url in (("one Redis", single.url), ("3-master cluster", cluster.url)):
            for p in (int(x) for x in args.procs.split(",")):
                res = run_once(url, args.n, p)
                results.append({"setup": label, "processes": p, **res})
                print(f"{label:18} procs={p}: {res['tasks_per_s']:8.0f} tasks/s, "
                      f"Redis CPU {res['redis_cpu_us_per_task']:.1f} µs/task", flush=True)
    finally:
        single.cleanup()
        cluster.cleanup()
    print("\n| setup | worker processes | tasks/s | Redis CPU µs/task (all nodes) |\n|---|---|---|---|")
    for x in results:
        print(f"| {x['setup']} | {x['processes']} | {x['tasks_per_s']:.0f} | {x['redis_cpu_us_per_task']:.1f} |")
    out = HERE / "results" / "cluster_throughput.json"
    out.write_text(json.dumps({"n": args.n, "cpus": os.cpu_count(), "python": platform.python_version(),
                               "results": results}, indent=2))


if __name__ == "__main__":
    main()
