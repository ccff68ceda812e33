"""Shared by every peer script: the task-completion recorder and the uniform command line.

A peer script runs inside its own virtual environment, so this module uses only the standard
library plus redis-py (every peer depends on it anyway).

Handlers call `record(task_id, enqueued_at)`; ids go to `bench:done` (the harness checks that
every id is there exactly once) and start times to `bench:spans` (first, last, count per flush) so
throughput is measured from the first handler start to the last, excluding worker boot. Writes are
buffered and flushed by a background thread every few ms, so the recording costs a peer almost
nothing; `BENCH_RECORD_SYNC=1` flushes on every call (for fork-per-job workers whose child exits
before a background thread could run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable

import redis

KEY_DONE = "bench:done"
KEY_SPANS = "bench:spans"
KEY_LAT = "bench:lat"
FLUSH_EVERY_S = 0.005
SLEEP_S = 0.001

Item = tuple[str, str]  # (task id, kind: "noop" | "sleep")


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class _Recorder:
    """One per process (re-created after fork): buffer + flusher thread."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.client = redis.Redis.from_url(redis_url())
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.lats: list[str] = []
        self.first = 0.0
        self.last = 0.0
        self.sync = os.environ.get("BENCH_RECORD_SYNC") == "1"
        if not self.sync:
            threading.Thread(target=self._loop, name="bench-recorder", daemon=True).start()

    def add(self, task_id: str, enqueued_at: float, started: float) -> None:
        with self.lock:
            if not self.ids:
                self.first = started
            self.last = started
            self.ids.append(task_id)
            if enqueued_at > 0:
                self.lats.append(repr(started - enqueued_at))
        if self.sync:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            if not self.ids:
                return
            ids, lats, first, last = self.ids, self.lats, self.first, self.last
            self.ids, self.lats = [], []
        pipe = self.client.pipeline(transaction=False)
        pipe.rpush(KEY_DONE, *ids)
        pipe.rpush(KEY_SPANS, f"{first!r} {last!r} {len(ids)}")
        if lats:
            pipe.rpush(KEY_LAT, *lats)
        pipe.execute()

    def _loop(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY_S)
            try:
                self.flush()
            except Exception as exc:  # keep recording through a transient error; report it
                print(f"bench recorder: {exc!r}", file=sys.stderr)


_REC: _Recorder | None = None
_REC_LOCK = threading.Lock()


def record(task_id: str, enqueued_at: float, started: float | None = None) -> None:
    """Note that `task_id` started now (or at `started`); `enqueued_at` > 0 gives a latency sample."""
    global _REC
    started = time.time() if started is None else started
    rec = _REC
    if rec is None or rec.pid != os.getpid():
        with _REC_LOCK:
            if _REC is None or _REC.pid != os.getpid():
                _REC = _Recorder()
            rec = _REC
    rec.add(task_id, enqueued_at, started)


def items(prefix: str, n: int, kind: str) -> list[Item]:
    return [(f"{prefix}{i}", kind) for i in range(n)]


def main(
    *,
    enqueue_one: Callable[[list[Item], float], None],
    enqueue_batch: Callable[[list[Item]], None] | None,
    workers: dict[str, Callable[[str], None]],
    concurrent: dict[str, Callable[[list[Item], int], None]] | None = None,
    unavailable: dict[str, str] | None = None,
) -> None:
    """`enqueue` prints {"seconds": ...}; `worker CONFIG` runs until killed; `info` lists all.

    enqueue_one(items, gap) must enqueue each item with a separate library call and carry
    time.time() of that call in the payload; enqueue_batch(items) uses the library's batch call.
    `concurrent` maps extra modes to fn(items, producers): that many producers (threads,
    coroutines) sharing one client, each item still one call. `unavailable` maps a mode this
    install cannot run to the reason (shown in the report instead of a figure).
    """
    concurrent = concurrent or {}
    unavailable = unavailable or {}
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("enqueue")
    e.add_argument("--n", type=int, required=True)
    e.add_argument("--prefix", default="t")
    e.add_argument("--kind", default="noop", choices=["noop", "sleep"])
    e.add_argument("--mode", default="one", choices=["one", "batch", *concurrent, *unavailable])
    e.add_argument("--producers", type=int, default=1)
    e.add_argument("--gap", type=float, default=0.0)
    w = sub.add_parser("worker")
    w.add_argument("config", choices=sorted(workers))
    sub.add_parser("info")
    args = ap.parse_args()
    if args.cmd == "info":
        modes = ["one", *(["batch"] if enqueue_batch else []), *concurrent]
        print(json.dumps({"batch": enqueue_batch is not None, "workers": sorted(workers), "modes": modes,
                          "unavailable": unavailable}))
        return
    if args.cmd == "worker":
        workers[args.config](redis_url())
        return
    todo = items(args.prefix, args.n, args.kind)
    if args.mode == "batch" and enqueue_batch is None:
        sys.exit("this peer has no batch enqueue")
    if args.mode in unavailable:
        sys.exit(f"skipped: {unavailable[args.mode]}")
    t0 = time.perf_counter()
    if args.mode == "batch":
        enqueue_batch(todo)  # type: ignore[misc]
    elif args.mode in concurrent:
        concurrent[args.mode](todo, args.producers)
    else:
        enqueue_one(todo, args.gap)
    print(json.dumps({"seconds": time.perf_counter() - t0, "n": args.n}))
