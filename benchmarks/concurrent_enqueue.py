"""Concurrent producers: dmq's AsyncClient (coroutines) and a Client shared by threads, against
Go asynq v0.26 with the same number of goroutines sharing one client, same run, same Redis.

Each producer enqueues its share of --n tasks one call at a time (`{"i": n}` payloads, queue
`default`), as request handlers of a web app do; 1, 10 and 100 producers. Every run starts on a
flushed db and is checked afterwards (the pending list holds exactly the tasks enqueued). The Go
program is benchmarks/go/concurrent_enqueue (built here when `go` is on PATH or at
/usr/local/go/bin/go; skipped with a note otherwise). Median of --runs runs; prints a markdown
table and writes benchmarks/results/concurrent_enqueue.json.

    python benchmarks/concurrent_enqueue.py --n 20000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import dmq_tools as dmq  # noqa: E402
from enqueue import Server  # noqa: E402  (the private redis-server of benchmarks/enqueue.py)

RESULTS = ROOT / "benchmarks" / "results" / "concurrent_enqueue.json"
GO_DIR = ROOT / "benchmarks" / "go"
GO_NAME = "Go asynq v0.26 (goroutines)"
ASYNC_NAME = "AsyncClient (coroutines)"
#: The event loop AsyncClient runs on (--loop): asyncio's own, or uvloop (uvicorn[standard] uses it).
LOOP = "asyncio"


def _check(server: Server, n: int) -> None:
    got = server.client("tcp").llen("asynq:{default}:pending")
    if got != n:
        raise RuntimeError(f"expected {n} pending tasks, found {got}")


def _flush(server: Server) -> None:
    server.client("tcp").flushdb()


def run_async(server: Server, producers: int, n: int) -> float:
    """AsyncClient shared by `producers` coroutines, each awaiting one enqueue at a time."""
    per = n // producers

    async def main() -> float:
        ac = dmq.AsyncClient(f"redis://127.0.0.1:{server.port}")
        await ac.enqueue(dmq.Task("bench:warm"), queue="default-warm")

        async def producer(w: int) -> None:
            for i in range(per):
                await ac.enqueue(dmq.Task("bench:noop", {"i": w * per + i}))

        start = time.perf_counter()
        await asyncio.gather(*(producer(w) for w in range(producers)))
        elapsed = time.perf_counter() - start
        await ac.aclose()
        return elapsed

    if LOOP == "uvloop":
        import uvloop

        elapsed = uvloop.run(main())
    else:
        elapsed = asyncio.run(main())
    _check(server, per * producers)
    return per * producers / elapsed


def run_threads(server: Server, producers: int, n: int) -> float:
    """One Client shared by `producers` threads, each calling enqueue one task at a time."""
    per = n // producers
    client = dmq.Client(f"redis://127.0.0.1:{server.port}")
    client.enqueue(dmq.Task("bench:warm"), queue="default-warm")
    barrier = threading.Barrier(producers + 1)

    def producer(w: int) -> None:
        barrier.wait()
        for i in range(per):
            client.enqueue(dmq.Task("bench:noop", {"i": w * per + i}))

    threads = [threading.Thread(target=producer, args=(w,)) for w in range(producers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    client.close()
    _check(server, per * producers)
    return per * producers / elapsed


def go_binary() -> str | None:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else None)
    if go is None:
        return None
    out = os.path.join(tempfile.mkdtemp(prefix="dmq-go-bench-"), "concurrent_enqueue")
    res = subprocess.run([go, "build", "-o", out, "./concurrent_enqueue"], cwd=GO_DIR, capture_output=True,
                         text=True, env={**os.environ, "GOFLAGS": "-mod=mod"})
    if res.returncode != 0:
        print(f"(go build failed, Go column skipped: {res.stderr.strip()[-300:]})", file=sys.stderr)
        return None
    return out


def run_go(binary: str) -> Callable[[Server, int, int], float]:
    def run(server: Server, producers: int, n: int) -> float:
        res = subprocess.run([binary, "-addr", f"127.0.0.1:{server.port}", "-n", str(n), "-g", str(producers)],
                             capture_output=True, text=True, check=True)
        data = json.loads(res.stdout)
        _check(server, data["n"])
        return float(data["rate"])
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="tasks per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--producers", default="1,10,100")
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio",
                    help="event loop of the AsyncClient runs (uvloop: pip install uvloop)")
    args = ap.parse_args()
    global LOOP
    LOOP = args.loop
    counts = [int(p) for p in args.producers.split(",")]
    server = Server()
    kinds: dict[str, Callable[[Server, int, int], float]] = {ASYNC_NAME: run_async,
                                                             "Client (shared by threads)": run_threads}
    binary = go_binary()
    if binary:
        kinds[GO_NAME] = run_go(binary)
    results: dict[str, dict[int, float]] = {k: {} for k in kinds}
    ratios: dict[str, dict[int, list[float]]] = {k: {} for k in kinds}
    try:
        for producers in counts:
            # runs interleaved (AsyncClient, threads, Go, AsyncClient, ...): a load change on a
            # shared machine hits every column alike; each run's ratio to Go is kept too
            rates: dict[str, list[float]] = {k: [] for k in kinds}
            for _ in range(args.runs):
                for name, fn in kinds.items():
                    _flush(server)
                    rates[name].append(fn(server, producers, args.n))
            for name in kinds:
                results[name][producers] = statistics.median(rates[name])
                if binary:
                    ratios[name][producers] = [a / b for a, b in zip(rates[name], rates[GO_NAME])]
                print(f"{name:30s} {producers:4d} producers: {results[name][producers]:10,.0f} tasks/s "
                      f"(runs: {', '.join(f'{x:,.0f}' for x in rates[name])})", file=sys.stderr)
    finally:
        server.stop()
    go_name = GO_NAME
    header = "| producers | " + " | ".join(kinds) + (" | AsyncClient / Go | threads / Go |" if binary else " |")
    print(header)
    print("|" + "---|" * (len(kinds) + 1 + (2 if binary else 0)))
    for producers in counts:
        cells = [f"{results[k][producers]:,.0f}" for k in kinds]
        if binary:
            go = results[go_name][producers]
            for name in (ASYNC_NAME, "Client (shared by threads)"):
                per_run = ratios[name][producers]
                cells.append(f"{results[name][producers] / go:.2f}x ({min(per_run):.2f}–{max(per_run):.2f})")
        print(f"| {producers} | " + " | ".join(cells) + " |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"n": args.n, "runs": args.runs, "python": platform.python_version(),
                                   "cpus": os.cpu_count(), "results": results, "ratios_to_go_per_run": ratios,
                                   "loop": LOOP, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2))


if __name__ == "__main__":
    main()
