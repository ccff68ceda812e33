"""One worker process, no-op tasks: two source trees of dmq_tools alternated round by round.

    python benchmarks/process_ab.py --base 59d8949 [--rounds 6] [--n 20000] [--handler peer]
    python benchmarks/process_ab.py --only-new --n 300000 --profile py-spy   # where this tree's time goes
    python benchmarks/process_ab.py --only-new --variant c1=CONC=1,PREFETCH=19   # same capacity, one thread

Each round runs the base tree's worker and this tree's worker (order alternating) on the same
redis-server, on N tasks pre-enqueued with `enqueue_many` (the queue paused meanwhile), as
`worker_throughput.py` does: tasks/s from the unpause until asynq's `processed` counter reaches
N. Beside the rate, per task: the worker process's CPU (user + system, /proc, in 10 ms ticks: 0.5 µs
per task at N=20,000), the server's CPU (`INFO cpu`) and each command's server time (`INFO
commandstats`; the dequeue and done scripts are EVALSHA), which move far less with the shared box
than rates do. `--handler peer` runs the
peer harness's handler (decode the JSON payload, record the id); `noop` returns at once; `sleep`
sleeps 1 ms (a blocking handler: every thread should be busy).
`--base` is a commit, exported with `git archive` to a temporary directory; `--variant` runs this
tree once more per round with environment variables its worker reads (CONC, PREFETCH). `--profile
py-spy` records this tree's last run (GIL holder samples, raw collapsed stacks) into
results/process_profile.txt (`pip install py-spy`). Prints markdown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
Q = "default"

WORKER = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import redis
import dmq_tools as dmq
from dmq_tools.worker import WorkerConfig
url, handler = sys.argv[2], sys.argv[3]
mux = dmq.ServeMux()
if handler == "peer":
    r = redis.Redis.from_url(url)
    ids = []
    def noop(task):
        body = task.json()
        ids.append((body["id"], time.time()))
    mux.handle("bench:noop", noop)
elif handler == "sleep":
    mux.handle("bench:noop", lambda t: time.sleep(0.001))
else:
    mux.handle("bench:noop", lambda t: None)
conc = int(os.environ.get("CONC", "10"))                        # --variant NAME=CONC=1,PREFETCH=19
prefetch = int(os.environ["PREFETCH"]) if "PREFETCH" in os.environ else None
worker = dmq.Worker(redis.Redis.from_url(url), mux, config=WorkerConfig(concurrency=conc, prefetch=prefetch))
print("ready", flush=True)
worker.run()
"""


def _cpu_of(pid: int) -> tuple[float, float]:
    """(user + system, system) CPU seconds of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, int(fields[12]) / tick


def _switches(pid: int) -> int:
    """Context switches of every thread of a process (voluntary + involuntary)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.endswith("ctxt_switches:") or "ctxt_switches" in line:
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _server_cpu(r) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _commandstats(r) -> dict[str, tuple[int, int]]:
    return {k: (int(v["calls"]), int(v["usec"])) for k, v in r.info("commandstats").items()}


def run_once(url: str, tree: str, n: int, handler: str, profile: str | None = None,
             extra_env: dict[str, str] | None = None) -> dict[str, float]:
    import redis

    sys.path.insert(0, str(ROOT))
    import dmq_tools as dmq
    from dmq_tools.rdb import keys

    r = redis.Redis.from_url(url)
    r.flushdb()
    client = dmq.Client(r)
    r.set(keys.paused(Q), int(time.time()))
    for i in range(0, n, 2000):
        client.enqueue_many([dmq.Task("bench:noop", {"id": f"t{i + j}", "ts": time.time()})
                             for j in range(min(2000, n - i))])
    env = dict(os.environ, PYTHONPATH=tree)
    env.update(extra_env or {})
    w = subprocess.Popen([sys.executable, "-c", WORKER, tree, url, handler], stdout=subprocess.PIPE, text=True,
                         env=env)
    assert w.stdout is not None and w.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    spy = None
    if profile:
        which = ["--idle"] if os.environ.get("SPY_IDLE") else ["--gil"]   # --gil: the thread holding the GIL
        spy = subprocess.Popen(["py-spy", "record", "-r", "250", *which, "--nonblocking", "-o", profile, "-f", "raw",
                                "--pid", str(w.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    r.config_resetstat()
    s0, (c0, k0), x0 = _server_cpu(r), _cpu_of(w.pid), _switches(w.pid)
    t0 = time.perf_counter()
    r.delete(keys.paused(Q))
    r.lpush(keys.wake(Q), "1")
    while int(r.get(keys.processed_total(Q)) or 0) < n:
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    (c1, k1), s1, x1 = _cpu_of(w.pid), _server_cpu(r), _switches(w.pid)
    stats = _commandstats(r)
    if spy is not None:
        spy.send_signal(signal.SIGINT)     # py-spy writes its file on SIGINT
        spy.wait(30)
    w.terminate()
    w.wait(30)
    out = {"rate": n / elapsed, "worker_cpu_us": (c1 - c0) / n * 1e6, "worker_sys_us": (k1 - k0) / n * 1e6,
           "redis_cpu_us": (s1 - s0) / n * 1e6, "switches": (x1 - x0) / n}
    for name, (calls, usec) in stats.items():
        out[f"{name}_us_per_task"] = usec / n
        out[f"{name}_calls"] = calls
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", help="commit of the base tree (git archive)")
    ap.add_argument("--base-tree", help="an existing directory holding the base tree")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--handler", choices=["noop", "peer", "sleep"], default="peer",
                    help="peer: the peer harness's handler; noop: returns at once; sleep: time.sleep(1 ms)")
    ap.add_argument("--profile", choices=["py-spy"], help="record a py-spy profile of this tree's last run")
    ap.add_argument("--only-new", action="store_true", help="no base: this tree alone")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=ENV=VALUE[,ENV=VALUE]",
                    help="this tree once more, with these environment variables (repeatable)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.helpers.redis_server import RedisProcess, redis_server_binary

    tmp = None
    trees: dict[str, str] = {"new": str(ROOT)}
    if not args.only_new:
        if args.base_tree:
            trees = {"base": args.base_tree, **trees}
        else:
            tmp = tempfile.mkdtemp(prefix="dmq-ab-")
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base or "HEAD"], check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            trees = {"base": tmp, **trees}
    envs: dict[str, dict[str, str]] = {}
    for spec in args.variant:
        name, _, assigns = spec.partition("=")
        trees[name] = str(ROOT)
        envs[name] = dict(kv.split("=", 1) for kv in assigns.split(",") if kv)
    server = RedisProcess(redis_server_binary()).start()
    results: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    try:
        for rnd in range(args.rounds):
            names = list(trees)
            order = names[rnd % len(names):] + names[:rnd % len(names)]      # each goes first in turn
            for name in order:
                prof = None
                if args.profile and name == "new" and rnd == args.rounds - 1:
                    prof = str(HERE / "results" / "process_profile.txt")
                res = run_once(server.url, trees[name], args.n, args.handler, prof, envs.get(name))
                results[name].append(res)
                print(f"round {rnd + 1} {name}: {res['rate']:,.0f}/s, worker {res['worker_cpu_us']:.1f} µs/task, "
                      f"redis {res['redis_cpu_us']:.1f} µs/task, {res['switches']:.2f} switches/task",
                      file=sys.stderr, flush=True)
    finally:
        server.cleanup()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    def med(name: str, key: str) -> float:
        vals = [r.get(key, 0.0) for r in results[name]]
        return statistics.median(vals)

    print(f"\n{args.rounds} rounds of {args.n:,} no-op tasks ({args.handler} handler), one worker process, medians\n")
    cols = list(trees)
    print("| measure | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    print("| tasks/s | " + " | ".join(f"{med(c, 'rate'):,.0f}" for c in cols) + " |")
    print("| worker CPU µs/task | " + " | ".join(f"{med(c, 'worker_cpu_us'):.1f}" for c in cols) + " |")
    print("| of it in the kernel (system calls) µs/task | "
          + " | ".join(f"{med(c, 'worker_sys_us'):.1f}" for c in cols) + " |")
    print("| worker context switches per task | "
          + " | ".join(f"{med(c, 'switches'):.2f}" for c in cols) + " |")
    print("| Redis CPU µs/task | " + " | ".join(f"{med(c, 'redis_cpu_us'):.1f}" for c in cols) + " |")
    suffix = "_us_per_task"
    names = sorted({k[:-len(suffix)] for c in cols for r in results[c] for k in r if k.endswith(suffix)})
    for cmd in names:
        print(f"| {cmd} µs/task (calls) | " + " | ".join(
            f"{med(c, cmd + '_us_per_task'):.2f} ({med(c, cmd + '_calls'):,.0f})" for c in cols) + " |")
    if "base" in results:
        for name in cols:
            if name == "base":
                continue
            ratios = [b["rate"] / a["rate"] for a, b in zip(results["base"], results[name])]
            print(f"\n{name} / base per round: {', '.join(f'{x:.2f}' for x in ratios)} "
                  f"(median {statistics.median(ratios):.2f})")


if __name__ == "__main__":
    main()
