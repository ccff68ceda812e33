"""Where one `Client.enqueue` call's time goes, and an A/B of this tree against an older commit.

    python benchmarks/enqueue_profile.py [--against COMMIT] [--rounds 40] [--go] [--go-rounds 7]

Starts its own redis-server (the newest found, as run_peers.py) and prints markdown:

1. parts: µs per piece of the plain enqueue's Python work, socket I/O stubbed out (timeit, best of 5);
2. the Redis side: the same writes sent raw (no dmq code) as dmq's MULTI/EXEC, without pieces
   of it, and as Go asynq's enqueue script (EXISTS/HSET/LPUSH), with client and Redis CPU per call
   (`time.process_time`, `INFO cpu`) and the wall time of a round trip;
3. with --against: this tree and COMMIT's `dmq_tools` (extracted with `git archive` and imported
   under another name) in ONE process, alternating blocks of 2,000 `enqueue(Task(...))` calls:
   paired medians of client CPU and wall time per call, steadier than separate runs on a shared VM;
4. with --go: the Go asynq v0.26 peer (benchmarks/peers/go_asynq) and this tree's peer loop in
   subprocesses, interleaved, 20,000 one-by-one enqueues each: rates, client and Redis CPU per call;
5. with --placement: the same two, pinned (sched_setaffinity, this script's processes only) to
   the CPU redis-server runs on and to another one: on a VM a one-by-one producer is several
   times slower when its wake-ups cross vCPUs, which is what swings run_peers.py's figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path
from typing import Any

import hiredis
import redis

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import peer_harness as h  # noqa: E402

_PEER_LOOP = r'''
import sys, time, json
import dmq_tools as dmq
c = dmq.Client(sys.argv[1]); n = int(sys.argv[2])
c.enqueue(dmq.Task("warm", None))
T = dmq.Task; e = c.enqueue
c0 = time.process_time(); t0 = time.perf_counter()
for i in range(n):
    e(T("bench:noop", {"id": "p%d" % i, "ts": time.time()}))
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}))
'''


def _best(stmt: Any, number: int = 100_000) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6


def parts(url: str) -> list[tuple[str, float]]:
    """µs per piece of a plain enqueue, I/O stubbed (so this runs the Python code only)."""
    import dmq_tools as dmq
    from dmq_tools import client as C
    from dmq_tools._ids import new_task_id, top_up_ids
    from dmq_tools.rdb import lean
    from dmq_tools.rdb.wire import encode_plain_message

    client = dmq.Client(url)
    for _ in range(3):
        client.enqueue(dmq.Task("bench:noop", None))
    task = dmq.Task("bench:noop", {"id": "p1", "ts": time.time()})
    plan, clock, commit = C._DEFAULT_PLAN, client.rdb.clock, client._commit
    out = [
        ("`Task(type, {id, ts})` (JSON payload)",
         _best(lambda: dmq.Task("bench:noop", {"id": "p1", "ts": time.time()}))),
        ("task ID (from the stock; its refill runs in flight)", _best(lambda: (new_task_id(), top_up_ids()))),
        ("message encoding (`encode_plain_message`)", _best(lambda: encode_plain_message(
            "default", 25, 1800, 0, 0, "bench:noop", "0123456789abcdef0123456789abcdef0123", task.payload))),
        ("group commit enter + leave (uncontended)",
         _best(lambda: (commit.enter(plan, "x", "y", None), commit.leave()))),
        ("`TaskInfo` of the result (in flight)", _best(lambda: C._plain_info("x", task, plan, clock.now()))),
    ]
    canned = [b"OK"] + [b"QUEUED"] * 5 + [[1, 1, b"1-1", 1, b"OK"]]
    send, read_many = lean.Wire.send, lean.Wire.read_many
    lean.Wire.send = staticmethod(lambda conn, data, direct: None)  # type: ignore[method-assign]
    lean.Wire.read_many = staticmethod(lambda conn, direct, count: list(canned))  # type: ignore[method-assign]
    try:
        out.append(("whole `enqueue` of a built Task, socket I/O stubbed", _best(lambda: client.enqueue(task))))
    finally:
        lean.Wire.send, lean.Wire.read_many = send, read_many  # type: ignore[method-assign]
    client.close()
    return out


def _cmd(*args: Any) -> bytes:
    return hiredis.pack_command(args)


_GO_SCRIPT = """if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "pending", "pending_since", ARGV[3])
redis.call("LPUSH", KEYS[2], ARGV[2])
return 1"""


def redis_side(url: str, n: int, rounds: int) -> dict[str, tuple[float, float, float]]:
    """Client CPU, Redis CPU and wall µs per call of raw variants of the enqueue's writes."""
    r = redis.Redis.from_url(url)
    sha = r.script_load(_GO_SCRIPT)
    msg = b"x" * 95

    def variant(name: str, tid: bytes) -> tuple[bytes, int]:
        key = b"asynq:{default}:t:" + tid
        hset = _cmd("HSET", key, "msg", msg, "state", "pending", "pending_since", "1700000000000000000")
        lpush = _cmd("LPUSH", "asynq:{default}:pending", tid)
        xadd = _cmd("XADD", "dmq:{default}:events", "MAXLEN", "~", "100000", "*", "e", "enqueued", "id", tid,
                    "t", "bench:noop")
        wake = _cmd("LPUSH", "dmq:{default}:wake", "1") + _cmd("LTRIM", "dmq:{default}:wake", 0, 0)
        multi, exec_ = _cmd("MULTI"), _cmd("EXEC")
        return {
            "dmq: MULTI HSET LPUSH XADD LPUSH LTRIM EXEC": (multi + hset + lpush + xadd + wake + exec_, 7),
            "  without the event (XADD)": (multi + hset + lpush + wake + exec_, 6),
            "  without the wake token (LPUSH+LTRIM)": (multi + hset + lpush + xadd + exec_, 5),
            "  asynq's records only (HSET LPUSH)": (multi + hset + lpush + exec_, 4),
            "Go asynq: EVALSHA enqueueCmd (EXISTS HSET LPUSH)": (
                _cmd("EVALSHA", sha, 2, key, "asynq:{default}:pending", msg, tid, "1700000000000000000"), 1),
            "one LPUSH (the redis-py floor's write)": (lpush, 1),
        }[name]

    names = ["dmq: MULTI HSET LPUSH XADD LPUSH LTRIM EXEC", "  without the event (XADD)",
             "  without the wake token (LPUSH+LTRIM)", "  asynq's records only (HSET LPUSH)",
             "Go asynq: EVALSHA enqueueCmd (EXISTS HSET LPUSH)", "one LPUSH (the redis-py floor's write)"]
    host, port = r.connection_pool.connection_kwargs["host"], r.connection_pool.connection_kwargs["port"]
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(5)   # as redis-py's default: CPython polls before each recv
    reader, buf = hiredis.Reader(), bytearray(65536)

    def server_cpu() -> float:
        info = r.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    samples: dict[str, list[tuple[float, float, float]]] = {k: [] for k in names}
    for _ in range(rounds):
        for name in names:
            r.flushdb()
            reqs = [variant(name, str(uuid.uuid4()).encode()) for _ in range(n)]
            s0, c0, t0 = server_cpu(), time.process_time(), time.perf_counter()
            for data, want in reqs:
                sock.sendall(data)
                got = 0
                while got < want:
                    reader.feed(buf, 0, sock.recv_into(buf))
                    while reader.gets() is not False:
                        got += 1
            wall, cpu, srv = time.perf_counter() - t0, time.process_time() - c0, server_cpu() - s0
            samples[name].append((cpu / n * 1e6, srv / n * 1e6, wall / n * 1e6))
    sock.close()
    r.flushdb()
    return {k: tuple(statistics.median(s[i] for s in v) for i in range(3)) for k, v in samples.items()}  # type: ignore[misc]


def against(url: str, commit: str, rounds: int, block: int = 2000) -> dict[str, Any]:
    """This tree vs COMMIT's dmq_tools in one process, alternating blocks."""
    tmp = tempfile.mkdtemp(prefix="dmq-ab-")
    archive = subprocess.run(["git", "archive", commit, "dmq_tools"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
    os.rename(os.path.join(tmp, "dmq_tools"), os.path.join(tmp, "dmq_ab_base"))
    sys.path.insert(0, tmp)
    import dmq_ab_base.client as base_client  # type: ignore[import-not-found]
    import dmq_ab_base.task as base_task  # type: ignore[import-not-found]

    import dmq_tools as dmq

    r = redis.Redis.from_url(url)
    r.flushdb()
    sides = {"before": (base_client.Client(url), base_task.Task), "after": (dmq.Client(url), dmq.Task)}
    for c, task_cls in sides.values():
        for _ in range(3):
            c.enqueue(task_cls("bench:noop", None))
    res: dict[str, list[tuple[float, float]]] = {k: [] for k in sides}
    now = time.time
    for rnd in range(rounds):
        for name in (list(sides) if rnd % 2 == 0 else list(sides)[::-1]):
            c, task_cls = sides[name]
            enqueue = c.enqueue
            c0, t0 = time.process_time(), time.perf_counter()
            for i in range(block):
                enqueue(task_cls("bench:noop", {"id": f"p{i}", "ts": now()}))
            res[name].append(((time.process_time() - c0) / block * 1e6, (time.perf_counter() - t0) / block * 1e6))
        if rnd % 10 == 9:
            r.flushdb()
    r.flushdb()
    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in res.items()}
    speed = statistics.median(b[1] / a[1] for b, a in zip(res["before"], res["after"]))
    cpu = statistics.median(b[0] / a[0] for b, a in zip(res["before"], res["after"]))
    return {"median": med, "wall_speedup": speed, "cpu_ratio": cpu}


def go_vs_dmq(url: str, n: int, rounds: int) -> dict[str, list[tuple[float, float, float]]]:
    """Go asynq's peer and this tree's one-by-one loop, interleaved subprocess runs."""
    import go_peer

    binary = go_peer.ensure_built()
    r = redis.Redis.from_url(url)

    def server_cpu() -> float:
        info = r.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    out: dict[str, list[tuple[float, float, float]]] = {"Go asynq v0.26": [], "dmq_tools": []}
    for _ in range(rounds):
        for name in out:
            env = dict(os.environ, BENCH_REDIS_URL=url, PYTHONPATH=str(REPO))
            cmd = [str(binary), "enqueue", "--n", str(n), "--prefix", "g", "--kind", "noop", "--mode", "one"] \
                if name.startswith("Go") else [sys.executable, "-c", _PEER_LOOP, url, str(n)]
            r.flushdb()
            ru0, s0 = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu()
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            s1, ru1 = server_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
            d = json.loads(res.stdout.strip().splitlines()[-1])
            # Go: its process's whole CPU (threads included); dmq: the loop's process_time
            cpu = d.get("cpu", ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime)
            out[name].append((n / d["seconds"], cpu / n * 1e6, (s1 - s0) / n * 1e6))
    r.flushdb()
    return out


def placement(url: str, server_pid: int, n: int, rounds: int) -> dict[str, list[float]]:
    """tasks/s of Go's peer and dmq's loop with the producer on Redis's CPU or on another CPU."""
    import go_peer

    binary = go_peer.ensure_built()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--placement needs two CPUs")
    r = redis.Redis.from_url(url)
    before = os.sched_getaffinity(server_pid)
    out: dict[str, list[float]] = {}
    try:
        os.sched_setaffinity(server_pid, {cpus[0]})
        for _ in range(rounds):
            for where, cpu in (("same CPU as Redis", cpus[0]), ("another CPU", cpus[1])):
                for name in ("Go asynq v0.26", "dmq_tools"):
                    env = dict(os.environ, BENCH_REDIS_URL=url, PYTHONPATH=str(REPO))
                    cmd = [str(binary), "enqueue", "--n", str(n), "--prefix", "g", "--kind", "noop", "--mode", "one"] \
                        if name.startswith("Go") else [sys.executable, "-c", _PEER_LOOP, url, str(n)]
                    r.flushdb()
                    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True,
                                         preexec_fn=lambda cpu=cpu: os.sched_setaffinity(0, {cpu}))
                    d = json.loads(res.stdout.strip().splitlines()[-1])
                    out.setdefault(f"{name}, {where}", []).append(n / d["seconds"])
    finally:
        os.sched_setaffinity(server_pid, before)
        r.flushdb()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", default=None, help="a commit to compare this tree with (in one process)")
    ap.add_argument("--rounds", type=int, default=40, help="alternating blocks per side for --against")
    ap.add_argument("--go", action="store_true", help="also run Go asynq's peer against this tree")
    ap.add_argument("--go-rounds", type=int, default=7)
    ap.add_argument("--placement", action="store_true", help="Go and dmq pinned to Redis's CPU or another")
    ap.add_argument("--n", type=int, default=20000, help="calls per raw variant / per Go comparison run")
    args = ap.parse_args(argv)
    binary, version = h.find_redis_server()
    server = h.RedisServer(binary).start()
    try:
        url = server.url
        print(f"Redis {'.'.join(map(str, version))}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"load average {os.getloadavg()[0]:.2f}\n")
        print("| piece of a plain `enqueue` (Python only) | µs |\n|---|---:|")
        for name, us in parts(url):
            print(f"| {name} | {us:.2f} |")
        print("\n| raw writes, one round trip each (no dmq code) | client CPU µs | Redis CPU µs | wall µs |")
        print("|---|---:|---:|---:|")
        for name, (cpu, srv, wall) in redis_side(url, args.n // 2, 5).items():
            print(f"| {name} | {cpu:.1f} | {srv:.1f} | {wall:.1f} |")
        if args.against:
            ab = against(url, args.against, args.rounds)
            print(f"\n`{args.against}` vs this tree, one process, {args.rounds} alternating blocks of 2,000 "
                  f"`enqueue(Task(...))` each:\n\n| side | client CPU µs/call | wall µs/call |\n|---|---:|---:|")
            for side, (cpu, wall) in ab["median"].items():
                print(f"| {side} | {cpu:.2f} | {wall:.2f} |")
            print(f"\npaired: this tree {ab['wall_speedup']:.3f}x as fast, CPU ratio before/after "
                  f"{ab['cpu_ratio']:.3f}")
        if args.go:
            g = go_vs_dmq(url, args.n, args.go_rounds)
            print(f"\nGo asynq vs dmq_tools one by one, {args.go_rounds} interleaved runs of {args.n:,}:\n")
            print("| peer | tasks/s (median) | per run | client CPU µs | Redis CPU µs |\n|---|---:|---|---:|---:|")
            for name, v in g.items():
                print(f"| {name} | {statistics.median(x[0] for x in v):,.0f} | "
                      f"{', '.join(f'{x[0]:,.0f}' for x in v)} | {statistics.median(x[1] for x in v):.1f} | "
                      f"{statistics.median(x[2] for x in v):.1f} |")
            ratios = [d[0] / go[0] for d, go in zip(g["dmq_tools"], g["Go asynq v0.26"])]
            print(f"\ndmq / Go per run: {', '.join(f'{x:.2f}' for x in ratios)}; "
                  f"median {statistics.median(ratios):.2f}")
        if args.placement:
            assert server.proc is not None
            pl = placement(url, server.proc.pid, args.n, 3)
            print("\nOne by one, producer pinned (3 runs each, tasks/s):\n")
            print("| producer | median | per run |\n|---|---:|---|")
            for name, v in pl.items():
                print(f"| {name} | {statistics.median(v):,.0f} | {', '.join(f'{x:,.0f}' for x in v)} |")
    finally:
        server.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
