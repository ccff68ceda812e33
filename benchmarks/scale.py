"""How cost grows with the backlog: dmq_tools with 1,000 / 100,000 / 1,000,000 pending tasks.

    python benchmarks/scale.py [--sizes 1000,100000,1000000] [--with-10m] [--chart docs/scale.svg]

For each size N, on a fresh redis-server (127.0.0.1, no persistence):

1. N tasks are enqueued with `Client.enqueue_many` (the harness's no-op task, JSON payload
   {"id", "ts"}); Redis memory per pending task = `INFO memory` delta / N, split into the task
   records (hash + pending list entry, asynq's layout), dmq's events stream and the rest
   (counters, queue set, wake key), each measured with `MEMORY USAGE`;
2. the inspector's first and last page of 30 pending tasks and `get_queue_info` (median ms);
3. `--m` more tasks enqueued one by one with `Client.enqueue` (tasks/s with N already pending,
   and the bytes each adds to the events stream: one entry per call, capped per queue);
4. one worker process (concurrency 10, benchmarks/peers/peer_dmq.py) runs the oldest `--m`
   tasks (and the few it takes before the queue is paused), so about N stay pending throughout:
   tasks/s from the first handler start to the last, worker RSS, and no task recorded twice;
5. queue "default" is paused (its N tasks stay) and `--latency` tasks go to queue "lat" of the
   same worker, 20 ms apart: idle pickup p50 / p99 with N tasks pending beside it;
6. the same N tasks enqueued by Go asynq v0.26 (benchmarks/peers/go_asynq, 100 goroutines, one
   client) on another fresh server: what asynq writes per pending task (skipped without Go).

Writes benchmarks/results/scale.json and scale.md, and the chart when --chart is given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from collections.abc import Callable

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import go_peer  # noqa: E402
import peer_harness as h  # noqa: E402

import dmq_tools as dmq  # noqa: E402
from dmq_tools.rdb import keys  # noqa: E402

RESULTS = HERE / "results"
Q, LAT_Q = "default", "lat"
CHUNK = 1000


def _timed_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def _task(task_id: str) -> dmq.Task:
    return dmq.Task("bench:noop", {"id": task_id, "ts": time.time()})


def seed(client: dmq.Client, n: int, prefix: str) -> float:
    """Enqueue n tasks with enqueue_many; returns tasks/s."""
    t0 = time.perf_counter()
    for i in range(0, n, CHUNK):
        client.enqueue_many([_task(f"{prefix}{j}") for j in range(i, min(n, i + CHUNK))])
    return n / (time.perf_counter() - t0)


def memory_snapshot(r: redis.Redis) -> dict[str, int]:
    info = r.info("memory")
    return {k: int(info.get(k, 0)) for k in ("used_memory", "used_memory_scripts", "mem_clients_normal")}


def memory_split(r: redis.Redis, before: dict[str, int], n: int, task_prefix: str) -> dict[str, float]:
    """Bytes per pending task: in all, and split into records, events stream, everything else
    (counters, queue set, wake key, the script cache and client buffers: constant, not per task)."""
    time.sleep(0.2)  # let client buffers drain
    after = memory_snapshot(r)
    total = after["used_memory"] - before["used_memory"]
    events = 0
    other = sum(after[k] - before[k] for k in ("used_memory_scripts", "mem_clients_normal"))
    for key in r.scan_iter(count=10_000):
        name = key.decode()
        if name.startswith(task_prefix) or name == keys.pending(Q):
            continue
        size = int(r.memory_usage(key, samples=0) or 0)
        if name == keys.events(Q):
            events += size
        else:
            other += size
    return {"total": total / n, "records": (total - events - other) / n, "events": events / n,
            "other": other / n, "events_bytes": events, "other_bytes": other}


def measure_dmq(url: str, n: int, m: int, latency: int, log_dir: Path) -> dict[str, Any]:
    r = redis.Redis.from_url(url)
    r.flushall()
    out: dict[str, Any] = {"n": n}
    before = memory_snapshot(r)
    seeder = dmq.Client(url)
    out["seed_tasks_per_s"] = seed(seeder, n, "s")
    seeder.close()  # its connection's buffers are not per-task cost (the Go program has exited too)
    out["memory"] = memory_split(r, before, n, keys.task_prefix(Q))
    client, insp = dmq.Client(url), dmq.Inspector(url)
    last_page = (n + 29) // 30
    out["page_first_ms"] = _timed_ms(lambda: insp.list_tasks(Q, "pending", page=1), 20)
    out["page_last_ms"] = _timed_ms(lambda: insp.list_tasks(Q, "pending", page=last_page), 20)
    out["queue_info_ms"] = _timed_ms(lambda: insp.get_queue_info(Q), 10)

    events_before = int(r.memory_usage(keys.events(Q), samples=0) or 0)
    t0 = time.perf_counter()
    for i in range(m):
        client.enqueue(_task(f"m{i}"))
    out["enqueue_one_per_s"] = m / (time.perf_counter() - t0)
    # enqueue writes one event entry per task (enqueue_many one per call); the stream is capped
    out["events_bytes_per_enqueue"] = (int(r.memory_usage(keys.events(Q), samples=0) or 0) - events_before) / m

    group = h.PeerProgram("dmq", sys.executable, url, log_dir).start_workers("c10-lat")
    try:
        h.wait_done(r, m, timeout=120 + m / 500, group=group)
        insp.pause_queue(Q)  # the other N (less the few taken meanwhile) stay pending beside "lat"
        out["worker_rss_mib"] = group.rss_bytes() / 2**20
        out["processed_tasks_per_s"] = h.throughput(r)
        time.sleep(0.5)  # tasks already leased finish and are recorded
        done = Counter(x.decode() for x in r.lrange(h.KEY_DONE, 0, -1))
        twice = [k for k, c in done.items() if c > 1]
        if twice:
            raise SystemExit(f"{len(twice)} tasks ran more than once at N={n}: {twice[:5]}")
        out["processed_checked"] = sum(done.values())
        out["pending_after"] = int(r.llen(keys.pending(Q)))
        r.delete(h.KEY_DONE, h.KEY_SPANS, h.KEY_LAT)
        for i in range(latency):
            client.enqueue(_task(f"l{i}"), queue=LAT_Q)
            time.sleep(0.02)
        h.wait_done(r, latency, timeout=60, group=group)
        h.require_exactly_once(r, {f"l{i}" for i in range(latency)})
        lat = h.latencies_ms(r)
        out["pickup_p50_ms"], out["pickup_p99_ms"] = h.percentile(lat, 50), h.percentile(lat, 99)
    finally:
        group.stop()
    client.close()
    return out


def measure_go(url: str, n: int, log_dir: Path, binary: Path | None) -> dict[str, Any]:
    """What asynq itself writes for the same n tasks (100 goroutines sharing one client)."""
    if binary is None:
        return {"skipped": "go is not installed"}
    r = redis.Redis.from_url(url)
    before = memory_snapshot(r)
    prog = h.PeerProgram("go", str(binary), url, log_dir, native=True)
    seconds = prog.enqueue(n, "g", "noop", mode="goroutines", producers=100, timeout=600 + n / 1000)
    mem = memory_split(r, before, n, keys.task_prefix(Q))
    pending = int(r.llen(keys.pending(Q)))
    if pending != n:
        raise SystemExit(f"Go enqueued {pending} of {n} tasks")
    return {"memory": mem, "enqueue_tasks_per_s": n / seconds}


def run(sizes: list[int], m: int, latency: int) -> dict[str, Any]:
    binary_name, version = h.find_redis_server()
    log_dir = Path(tempfile.mkdtemp(prefix="dmq-scale-logs-"))
    try:
        go_binary: Path | None = go_peer.ensure_built(log=lambda msg: print(msg, file=sys.stderr))
    except go_peer.GoUnavailable as exc:
        print(f"Go rows skipped: {exc}", file=sys.stderr)
        go_binary = None
    rows = []
    for n in sizes:
        t0 = time.monotonic()
        # a fresh server for each side: emptying millions of keys takes longer than starting one
        server = h.RedisServer(binary_name).start()
        try:
            row = measure_dmq(server.url, n, m, latency, log_dir)
            row["loadavg"] = os.getloadavg()[0]
        finally:
            server.cleanup()
        server = h.RedisServer(binary_name).start()
        try:
            row["go"] = measure_go(server.url, n, log_dir, go_binary)
        finally:
            server.cleanup()
        row["seconds"] = round(time.monotonic() - t0, 1)
        print(f"N={n:,}: {json.dumps(row)}", file=sys.stderr, flush=True)
        rows.append(row)
    return {"command": "python benchmarks/scale.py --sizes " + ",".join(map(str, sizes)),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "m": m, "latency_samples": latency,
            "redis_version": ".".join(map(str, version)), "nproc": os.cpu_count(), "rows": rows}


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old`'s rows with `new`'s added (a size measured again replaces its row); both commands kept."""
    rows = {row["n"]: row for row in old["rows"]}
    for row in new["rows"]:
        row["date"] = new["date"]
        rows[row["n"]] = row
    return {**new, "command": f"{old['command']}` then `{new['command']} --merge",
            "date": f"{old['date']}; {new['date']}", "rows": [rows[n] for n in sorted(rows)]}


def _n(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def render(doc: dict[str, Any]) -> str:
    out = [f"Command: `{doc['command']}` ({doc['date']}; Redis {doc['redis_version']}, {doc['nproc']} cores; "
           f"{doc['m']:,} tasks enqueued and processed per size, {doc['latency_samples']} pickups 20 ms apart)", "",
           "| pending tasks | enqueue 1-by-1 /s | no-op, 1 worker process /s | pickup p50 / p99 ms "
           "| inspector page 1 / last page ms | get_queue_info ms | worker RSS MiB "
           "| Redis bytes per pending task: dmq all (records + events + rest) | asynq (Go) all (records) "
           "| dmq events bytes per `enqueue` | load avg |",
           "|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|"]
    for row in doc["rows"]:
        mem, go = row["memory"], row["go"]
        go_cell = (f"{_n(go['memory']['total'])} ({_n(go['memory']['records'])})" if "memory" in go
                   else f"skipped: {go.get('skipped')}")
        out.append(
            f"| {row['n']:,} | {_n(row['enqueue_one_per_s'])} | {_n(row['processed_tasks_per_s'])} "
            f"| {row['pickup_p50_ms']:.2f} / {row['pickup_p99_ms']:.2f} "
            f"| {row['page_first_ms']:.2f} / {row['page_last_ms']:.2f} | {row['queue_info_ms']:.2f} "
            f"| {_n(row['worker_rss_mib'])} "
            f"| {_n(mem['total'])} ({_n(mem['records'])} + {_n(mem['events'])} + {_n(mem['other'])}) "
            f"| {go_cell} | {_n(row['events_bytes_per_enqueue'])} | {row['loadavg']:.1f} |")
    return "\n".join(out) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,100000,1000000", help="comma-separated pending-task counts")
    ap.add_argument("--with-10m", action="store_true", help="also 10,000,000 (many minutes; ~6 GB of Redis memory)")
    ap.add_argument("--m", type=int, default=20_000, help="tasks enqueued one by one and processed per size")
    ap.add_argument("--latency", type=int, default=100, help="pickup samples per size")
    ap.add_argument("--out", default=str(RESULTS), help="directory for scale.json / scale.md")
    ap.add_argument("--chart", default=None, help="write an SVG chart here (needs matplotlib)")
    ap.add_argument("--merge", action="store_true",
                    help="add these sizes to the rows already in OUT/scale.json (e.g. 10,000,000 measured once)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()] + ([10_000_000] if args.with_10m else [])
    doc = run(sizes, args.m, args.latency)
    if args.with_10m:
        doc["command"] += " --with-10m"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.merge and (out / "scale.json").exists():
        doc = merge(json.loads((out / "scale.json").read_text()), doc)
    (out / "scale.json").write_text(json.dumps(doc, indent=2) + "\n")
    md = render(doc)
    (out / "scale.md").write_text(md)
    if args.chart:
        from scale_chart import write_chart

        write_chart(doc, Path(args.chart))
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
