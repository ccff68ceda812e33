"""Benchmark dmq_tools against Go asynq and the Python task queues on one Redis, in one run.

    python benchmarks/run_peers.py [--quick] [--peers dmq,go,celery,...] [--runs N]

Starts one redis-server on 127.0.0.1 (free port, no persistence), builds or reuses a venv per peer
(benchmarks/.venvs/<peer>, pinned in benchmarks/peers/requirements-<peer>.txt) and the Go asynq
v0.26 peer's binary (benchmarks/peers/go_asynq, skipped with the reason when `go` is absent), runs
every measurement in a subprocess of that peer, checks every task ran exactly once, and writes
benchmarks/results/peers.json and peers.md. Figures are medians over --runs interleaved runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import go_peer  # noqa: E402
import peer_harness as h  # noqa: E402
from peer_report import render_markdown  # noqa: E402

RESULTS = h.HERE / "results"


@dataclass(frozen=True)
class Config:
    """One worker configuration: the peer script's worker name, how many processes, a label."""

    label: str
    worker: str
    procs: int = 1
    max_n: int | None = None  # cap on the no-op batch (fork-per-job RQ would take minutes)


@dataclass(frozen=True)
class PeerSpec:
    name: str
    title: str
    batch: bool
    noop: tuple[Config, ...]          # one worker process each
    best: Config | None               # the best use of this 2-core box (2 processes)
    sleep: Config | None              # 1 ms sleeping task, concurrency 10
    latency: Config
    note: str = ""
    producers: tuple[tuple[str, str], ...] = ()  # (enqueue mode, label): producers sharing one client
    native: bool = False              # a compiled program (no venv), built by go_peer


PEERS: dict[str, PeerSpec] = {p.name: p for p in [
    PeerSpec("floor", "floor (redis-py)", True,
             (Config("BRPOP", "brpop"), Config("BLMPOP 100", "blmpop100")),
             Config("BLMPOP 100 x2 proc", "blmpop100", 2), Config("BLMPOP + 10 threads", "blmpop100-pool10"),
             Config("BRPOP", "brpop"), "plain LPUSH/BRPOP, no task-queue features"),
    PeerSpec("dmq", "dmq_tools", True, (Config("c=10", "c10"),), Config("c=10 x2 proc", "c10", 2),
             Config("c=10", "c10"), Config("c=10", "c10"),
             producers=(("threads", "threads, one Client"), ("async", "coroutines, one AsyncClient"))),
    PeerSpec("go", "Go asynq v0.26", False,
             (Config("1 server c=10", "c10"), Config("1 server c=50", "c50")),
             Config("2 servers c=50", "c50", 2), Config("1 server c=10", "c10"), Config("1 server c=10", "c10"),
             "Go program, asynq's defaults; an idle server polls the queue about once a second "
             "(TaskCheckInterval 1 s); no batch enqueue",
             producers=(("goroutines", "goroutines, one Client"),), native=True),
    PeerSpec("celery", "Celery", False,
             (Config("prefork c=1", "prefork1"), Config("threads c=10", "threads10")),
             Config("prefork c=2", "prefork2"), Config("threads c=10", "threads10"),
             Config("threads c=10", "threads10"),
             "no batch enqueue"),
    PeerSpec("rq", "RQ", True,
             (Config("SimpleWorker", "simple"), Config("Worker (fork/job)", "worker", max_n=500)),
             Config("SimpleWorker x2 proc", "simple", 2), Config("SimpleWorker x10 proc", "simple", 10),
             Config("SimpleWorker", "simple"), "one job at a time per worker: concurrency 10 = 10 processes"),
    PeerSpec("arq", "arq", False, (Config("max_jobs=10", "c10"),), Config("max_jobs=10 x2 proc", "c10", 2),
             Config("max_jobs=10", "c10"), Config("max_jobs=10", "c10"), "polls every 0.5 s (default poll_delay)"),
    PeerSpec("dramatiq", "Dramatiq", False, (Config("1 proc x 8 threads", "p1t8"),),
             Config("2 proc x 8 threads", "p2t8"), Config("1 proc x 10 threads", "p1t10"),
             Config("1 proc x 10 threads", "p1t10")),
    PeerSpec("huey", "Huey", False, (Config("10 threads", "t10"),), Config("10 threads x2 proc", "t10", 2),
             Config("10 threads", "t10"), Config("10 threads", "t10")),
    PeerSpec("saq", "SAQ", False, (Config("concurrency=10", "c10"),), Config("concurrency=10 x2 proc", "c10", 2),
             Config("concurrency=10", "c10"), Config("concurrency=10", "c10")),
    PeerSpec("taskiq", "taskiq + taskiq-redis", False, (Config("1 worker", "w1"),), Config("2 workers", "w2"),
             Config("1 worker, max 10 async", "w1c10"), Config("1 worker, max 10 async", "w1c10"),
             "ListQueueBroker"),
]}


@dataclass(frozen=True)
class Sizes:
    """Task counts per measurement, and the time budget that caps them for slow peers.

    A peer too slow to enqueue or process `noop` tasks within `budget` seconds gets fewer tasks
    (never fewer than `probe`); the count used is recorded next to each figure.
    """

    runs: int
    noop: int
    sleep: int
    latency: int
    gap: float
    bench_n: int
    budget: float = 8.0
    probe: int = 300
    producers: tuple[int, ...] = (1, 10, 100)  # concurrent producers sharing one client

    @staticmethod
    def for_mode(quick: bool, runs: int | None) -> Sizes:
        if quick:
            return Sizes(runs or 1, 2000, 500, 40, 0.02, 20000, budget=2.0, probe=200)
        return Sizes(runs or 3, 20000, 2000, 100, 0.02, 100000, budget=4.0, probe=400)


@dataclass
class PeerResult:
    """Samples per metric over the runs, and the reason for each metric that failed."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)  # latest estimates (tasks/s), to size runs

    def add(self, metric: str, value: float) -> None:
        self.samples.setdefault(metric, []).append(value)

    def fail(self, metric: str, reason: str) -> None:
        self.failed.setdefault(metric, reason)

    def medians(self) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.samples.items() if k not in self.failed}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Bench:
    """Runs the measurements of one peer against the shared server; every run starts from FLUSHALL."""

    def __init__(self, r: redis.Redis, prog: h.PeerProgram, spec: PeerSpec, sizes: Sizes, res: PeerResult):
        self.r, self.prog, self.spec, self.sizes, self.res = r, prog, spec, sizes, res

    def guarded(self, metric: str, fn: Callable[[], None], flush: bool = True) -> None:
        if metric in self.res.failed:
            return
        try:
            fn()
        except h.PeerFailed as exc:
            word = "" if str(exc).startswith("skipped") else "FAILED "
            log(f"  {self.spec.name} {metric}: {word}{exc}")
            self.res.fail(metric, str(exc))
        finally:
            if flush:
                self.r.flushdb()

    def run_once(self, run: int) -> None:
        s = self.spec
        if not self.res.rates:
            self.guarded("calibrate", self.calibrate)
            if "calibrate" in self.res.failed:  # nothing will work better: report every metric failed
                for cfg in (*s.noop, *([s.best] if s.best else [])):
                    self.res.fail(f"noop:{cfg.label}", self.res.failed["calibrate"])
                conc = [f"enqueue_conc:{mode}:{k}" for mode, _ in s.producers for k in self.sizes.producers]
                for metric in ("enqueue_one", "enqueue_batch", "sleep", "latency", *conc):
                    self.res.fail(metric, self.res.failed["calibrate"])
                return
        for i, cfg in enumerate(s.noop):
            self.guarded(f"noop:{cfg.label}", lambda cfg=cfg, i=i: self.noop(cfg, run, timed_enqueue=(i == 0)))
        if s.batch:
            self.guarded("enqueue_batch", lambda: self.batch(run))
        for mode, _ in s.producers:
            for k in self.sizes.producers:
                self.guarded(f"enqueue_conc:{mode}:{k}", lambda mode=mode, k=k: self.concurrent(mode, k, run))
        if s.best:
            self.guarded(f"noop:{s.best.label}", lambda: self.noop(s.best, run))
        kept: list[h.WorkerGroup] = []  # the sleep run's workers, reused for latency when the config is the same
        if s.sleep:
            self.guarded("sleep", lambda: self.sleep(s.sleep, run, kept if s.sleep == s.latency else None),
                         flush=False)
        if not kept:
            self.r.flushdb()
        self.guarded("latency", lambda: self.latency(s.latency, run, kept[0] if kept else None))

    def calibrate(self) -> None:
        """A small probe: enqueue one by one and process with the first configuration."""
        n, prefix, cfg = self.sizes.probe, "c:", self.spec.noop[0]
        self.res.rates["enqueue"] = n / self.prog.enqueue(n, prefix, "noop", mode="one")
        tps, _ = self._process(cfg, n, self._ids(n, prefix, False))
        self.res.rates[cfg.label] = tps

    def _size(self, target: int, cfg: Config | None, preload: bool = True) -> int:
        """`target`, cut so that enqueueing and processing each take about `budget` seconds."""
        rates = self.res.rates
        n = float(min(target, cfg.max_n or target) if cfg else target)
        if cfg is not None:
            proc = rates.get(cfg.label) or rates[self.spec.noop[0].label] * cfg.procs
            n = min(n, proc * self.sizes.budget)
        if preload and not self.spec.batch:
            n = min(n, rates["enqueue"] * 2 * self.sizes.budget)
        return max(self.sizes.probe, int(n))

    def _preload(self, n: int, prefix: str, kind: str) -> None:
        """Fill the queue as fast as the library allows (batch, else two enqueuing processes)."""
        if self.spec.batch:
            self.prog.enqueue(n, prefix, kind, mode="batch")
            return
        if self.spec.producers:  # ids stay prefix + i: the producers share one list of items
            self.prog.enqueue(n, prefix, kind, mode=self.spec.producers[0][0], producers=max(self.sizes.producers))
            return
        half = n // 2
        with ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(self.prog.enqueue, half, prefix + "a", kind),
                    pool.submit(self.prog.enqueue, n - half, prefix + "b", kind)]
            for j in jobs:
                j.result()

    @property
    def split_preload(self) -> bool:
        """Whether _preload ran two enqueuing processes (ids prefix+"a"/"b")."""
        return not self.spec.batch and not self.spec.producers

    @staticmethod
    def _ids(n: int, prefix: str, split: bool) -> set[str]:
        if not split:
            return {f"{prefix}{i}" for i in range(n)}
        half = n // 2
        return {f"{prefix}a{i}" for i in range(half)} | {f"{prefix}b{i}" for i in range(n - half)}

    def _process(self, cfg: Config, n: int, ids: set[str],
                 keep: list[h.WorkerGroup] | None = None) -> tuple[float, int]:
        """Start the workers on the preloaded queue, wait for `n` completions, check them.

        With `keep`, a successful run leaves the (now idle) workers running and appends them.
        """
        group = self.prog.start_workers(cfg.worker, cfg.procs)
        ok = False
        try:
            est = self.res.rates.get(cfg.label) or self.res.rates.get(self.spec.noop[0].label) or 50.0
            h.wait_done(self.r, n, timeout=60 + 4 * n / est, group=group)
            rss = group.rss_bytes()
            h.require_exactly_once(self.r, ids)
            result = h.throughput(self.r), rss
            ok = True
        finally:
            if ok and keep is not None:
                keep.append(group)
            else:
                group.stop()
        return result

    def noop(self, cfg: Config, run: int, timed_enqueue: bool = False) -> None:
        prefix = f"n{run}{cfg.worker}{cfg.procs}:"
        if timed_enqueue:
            n = self._size(self.sizes.noop, cfg, preload=False)
            n_one = min(n, max(self.sizes.probe, int(self.res.rates["enqueue"] * self.sizes.budget)))
            before = h.used_memory(self.r)
            seconds = self.prog.enqueue(n_one, prefix, "noop", mode="one")
            self.res.add("enqueue_one", n_one / seconds)
            self.res.add("n:enqueue_one", n_one)
            self.res.rates["enqueue"] = n_one / seconds
            self.res.add("mem_per_task", (h.used_memory(self.r) - before) / n_one)
            ids = self._ids(n_one, prefix, False)
            if n > n_one:  # top up to the no-op count the fastest way
                n = n_one + min(n - n_one, self._size(n - n_one, None))
                self._preload(n - n_one, prefix + "+", "noop")
                ids |= self._ids(n - n_one, prefix + "+", self.split_preload)
        else:
            n = self._size(self.sizes.noop, cfg)
            self._preload(n, prefix, "noop")
            ids = self._ids(n, prefix, self.split_preload)
        tps, rss = self._process(cfg, n, ids)
        self.res.rates[cfg.label] = tps
        self.res.add(f"noop:{cfg.label}", tps)
        self.res.add(f"n:noop:{cfg.label}", n)
        self.res.add(f"rss:{cfg.label}", rss / 2**20)
        log(f"  {self.spec.name} {cfg.label}: {tps:,.0f} tasks/s on {n} no-ops, RSS {rss / 2**20:.0f} MiB")

    def batch(self, run: int) -> None:
        guess = self.res.rates.get("batch", self.res.rates["enqueue"] * 4)
        n = max(self.sizes.probe, min(self.sizes.noop, int(guess * self.sizes.budget)))
        seconds = self.prog.enqueue(n, f"b{run}:", "noop", mode="batch")
        self.res.rates["batch"] = n / seconds
        self.res.add("enqueue_batch", n / seconds)
        self.res.add("n:enqueue_batch", n)

    def concurrent(self, mode: str, k: int, run: int) -> None:
        """`k` producers sharing one client enqueue one task per call; the tasks are then run by the
        peer's fastest configuration, so this figure passes the exactly-once check too."""
        prefix, key = f"p{run}{mode}{k}:", f"conc:{mode}:{k}"
        est = self.res.rates.get(key) or self.res.rates["enqueue"] * min(k, 3)
        n = max(self.sizes.probe, min(self.sizes.noop, int(est * self.sizes.budget)))
        seconds = self.prog.enqueue(n, prefix, "noop", mode=mode, producers=k)
        self._process(self.spec.best or self.spec.noop[0], n, self._ids(n, prefix, False))
        self.res.rates[key] = n / seconds
        self.res.add(f"enqueue_conc:{mode}:{k}", n / seconds)
        self.res.add(f"n:enqueue_conc:{mode}:{k}", n)
        log(f"  {self.spec.name} {k} producers ({mode}): {n / seconds:,.0f} tasks/s on {n} tasks")

    def sleep(self, cfg: Config, run: int, keep: list[h.WorkerGroup] | None = None) -> None:
        prefix = f"s{run}:"
        n = self._size(self.sizes.sleep, None)
        est = self.res.rates.get("sleep") or max(self.res.rates.get(c.label, 0.0) for c in self.spec.noop)
        n = max(self.sizes.probe, min(n, int(est * self.sizes.budget)))
        self._preload(n, prefix, "sleep")
        tps, _ = self._process(cfg, n, self._ids(n, prefix, self.split_preload), keep)
        self.res.rates["sleep"] = tps
        self.res.add("sleep", tps)
        self.res.add("n:sleep", n)
        log(f"  {self.spec.name} sleep 1ms {cfg.label}: {tps:,.0f} tasks/s on {n} tasks")

    def latency(self, cfg: Config, run: int, group: h.WorkerGroup | None = None) -> None:
        """Idle pickup: tasks enqueued `gap` apart to idle workers; enqueue time rides in the payload."""
        if group is not None:
            self.r.delete(h.KEY_DONE, h.KEY_SPANS, h.KEY_LAT)  # leave the peer's own keys alone
        else:
            group = self.prog.start_workers(cfg.worker, cfg.procs)
        try:
            self.prog.enqueue(3, f"w{run}:", "noop", mode="one", gap=0.05)  # warm-up: worker is up and idle
            h.wait_done(self.r, 3, timeout=60, group=group)
            time.sleep(0.2)
            self.r.delete(h.KEY_DONE, h.KEY_SPANS, h.KEY_LAT)
            n, prefix = self.sizes.latency, f"l{run}:"
            self.prog.enqueue(n, prefix, "noop", mode="one", gap=self.sizes.gap)
            h.wait_done(self.r, n, timeout=30, group=group)
        finally:
            group.stop()
        h.require_exactly_once(self.r, self._ids(n, prefix, False))
        lat = h.latencies_ms(self.r)
        self.res.add("lat_p50", h.percentile(lat, 50))
        self.res.add("lat_p99", h.percentile(lat, 99))
        log(f"  {self.spec.name} latency: p50 {h.percentile(lat, 50):.2f} ms p99 {h.percentile(lat, 99):.2f} ms")


def run_peer(r: redis.Redis, url: str, name: str, python: str, sizes: Sizes, log_dir: Path, run: int = 0,
             result: PeerResult | None = None, spec: PeerSpec | None = None) -> PeerResult:
    """One run of every measurement of peer `name` (or of `spec`) against the empty Redis at `url`."""
    result = PeerResult() if result is None else result
    spec = PEERS[name] if spec is None else spec
    Bench(r, h.PeerProgram(name, python, url, log_dir, native=spec.native), spec, sizes, result).run_once(run)
    return result


def machine_facts(binary: str, version: tuple[int, ...]) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "redis_server": binary,
            "redis_version": ".".join(map(str, version)), "python": platform.python_version(),
            "floor_blmpop": "native BLMPOP" if version and version[0] >= 7
            else "emulated on Redis < 7: RPOP key 100, BRPOP when the list is empty",
            "platform": platform.platform(), "loadavg_start": os.getloadavg()[0]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller N and 1 run (~4 min)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--no-venv", action="store_true", help="run every peer with this python (no venvs)")
    ap.add_argument("--out", default=str(RESULTS), help="directory for peers.json / peers.md")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise SystemExit(f"unknown peers {unknown}; known: {', '.join(PEERS)}")
    sizes = Sizes.for_mode(args.quick, args.runs)
    results = {n: PeerResult() for n in names}
    pythons: dict[str, str] = {}
    t_start = time.monotonic()
    for n in [n for n in names if PEERS[n].native]:
        try:
            pythons[n] = str(go_peer.ensure_built(log))
        except (go_peer.GoUnavailable, OSError, subprocess.SubprocessError) as exc:
            log(f"  {n}: {exc}")
            results[n].fail("install", str(exc))
    scripts = [n for n in names if not PEERS[n].native]
    if args.no_venv:
        pythons.update({n: sys.executable for n in scripts})
    else:
        log(f"venvs in {h.VENVS_DIR}")
        with ThreadPoolExecutor(3) as pool:
            futures = {n: pool.submit(h.ensure_venv, n, log) for n in scripts}
        for n, fut in futures.items():
            try:
                pythons[n] = str(fut.result())
            except (h.PeerFailed, OSError, Exception) as exc:  # a broken install fails that peer only
                results[n].fail("install", str(exc))
    t_bench = time.monotonic()
    binary, version = h.find_redis_server()
    server = h.RedisServer(binary).start()
    facts = machine_facts(binary, version)
    log(f"redis-server {facts['redis_version']} ({binary}) on {server.url}; {facts['nproc']} cores, {facts['cpu']}")
    r = redis.Redis(port=server.port)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_dir = Path(os.environ.get("BENCH_LOG_DIR") or tempfile.mkdtemp(prefix="dmq-bench-logs-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log(f"worker logs in {log_dir}")
    limits: dict[str, list[float]] = {}
    try:
        for run in range(sizes.runs):
            log(f"run {run + 1}/{sizes.runs}")
            for pipeline in (1, 16):
                for cmd, rps in h.redis_benchmark(server.port, sizes.bench_n * (4 if pipeline > 1 else 1),
                                                   pipeline).items():
                    limits.setdefault(f"{cmd} P{pipeline}", []).append(rps)
            r.flushdb()
            for n in names:
                if n in pythons and "install" not in results[n].failed:
                    run_peer(r, server.url, n, pythons[n], sizes, log_dir, run, results[n])
    finally:
        server.cleanup()
    doc = {
        "command": "python benchmarks/run_peers.py" + (" --quick" if args.quick else "")
                   + ("" if args.peers == ",".join(PEERS) else f" --peers {args.peers}"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {**facts, "loadavg_end": os.getloadavg()[0]},
        "sizes": sizes.__dict__,
        "seconds": {"total": round(time.monotonic() - t_start), "bench": round(time.monotonic() - t_bench)},
        "redis_benchmark": {k: statistics.median(v) for k, v in limits.items()},
        "peers": {n: {"title": PEERS[n].title, "note": PEERS[n].note, "medians": results[n].medians(),
                      "samples": results[n].samples, "failed": results[n].failed} for n in names},
        "configs": {n: {"one_process": [c.label for c in PEERS[n].noop],
                        "best": PEERS[n].best.label if PEERS[n].best else None,
                        "sleep": PEERS[n].sleep.label if PEERS[n].sleep else None,
                        "latency": PEERS[n].latency.label,
                        "producers": [list(p) for p in PEERS[n].producers]} for n in names},
    }
    (out_dir / "peers.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out_dir / "peers.md").write_text(render_markdown(doc))
    log(f"wrote {out_dir / 'peers.md'} and peers.json in {doc['seconds']['total']}s")
    print(render_markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
