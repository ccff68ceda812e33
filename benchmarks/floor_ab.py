"""dmq's enqueue against the redis-py floor, paired round by round: a quick, steadier check.

    python benchmarks/floor_ab.py [--rounds 9] [--n 3000] [--redis-url URL]

The full peer harness (run_peers.py) takes each figure as a median of 3 separate runs, so on a
shared VM a ratio can swing by ±25 % between runs. Here one process alternates, in every round:
the floor's one-by-one LPUSH, dmq's `Client.enqueue` one by one, the floor's pipelined LPUSH
(1,000 per round trip) and dmq's `enqueue_many` (batches of 1,000), with the same payloads as the
harness (an id and time.time()). A fifth measure, "redis-py records", writes what dmq's enqueue
writes (asynq's task hash and pending entry, dmq's event and wake token, one MULTI/EXEC per task)
with redis-py's own transaction pipeline: it separates what the records cost the server from
what each client spends. Each round gives a paired ratio; the median of those ratios
is reported with the medians of the raw rates, and the CPU each side spends per task (this
process: time.process_time; Redis: INFO cpu), which moves far less with the box than rates do.
~40 s. Starts its own redis-server unless --redis-url is given. Prints markdown; writes
benchmarks/results/floor_ab.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path
from collections.abc import Callable

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import dmq_tools as dmq  # noqa: E402
import peer_harness as h  # noqa: E402
from dmq_tools.rdb import keys  # noqa: E402
from dmq_tools.rdb.wire import encode_plain_message  # noqa: E402

RESULTS = HERE / "results" / "floor_ab.json"
BATCH = 1000


def measures(url: str, n: int) -> dict[str, Callable[[], tuple[float, float, float]]]:
    r = redis.Redis.from_url(url)
    client = dmq.Client(url)

    def redis_cpu() -> float:
        info = r.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def rate(fn: Callable[[], None]) -> tuple[float, float, float]:
        """tasks/s, and this process's and the server's CPU per task (µs, system time included)."""
        s0, c0, t0 = redis_cpu(), time.process_time(), time.perf_counter()
        fn()
        t1, c1, s1 = time.perf_counter(), time.process_time(), redis_cpu()
        return n / (t1 - t0), (c1 - c0) / n * 1e6, (s1 - s0) / n * 1e6

    def floor_one() -> None:
        for i in range(n):
            r.lpush("floor:q", f"id{i}|{time.time()!r}|noop")

    def dmq_one() -> None:
        for i in range(n):
            client.enqueue(dmq.Task("bench:noop", {"id": f"id{i}", "ts": time.time()}))

    def same_records_one() -> None:
        """dmq's plain enqueue, its records written by redis-py (no queue library at all)."""
        q = "default"
        pending, events, wake = keys.pending(q), keys.events(q), keys.wake(q)
        r.sadd(keys.ALL_QUEUES, q)   # once, as dmq registers a queue once in a while
        for i in range(n):
            tid = str(uuid.uuid4())
            payload = json.dumps({"id": f"id{i}", "ts": time.time()}, separators=(",", ":")).encode()
            msg = encode_plain_message(q, 25, 1800, 0, 0, "bench:noop", tid, payload)
            pipe = r.pipeline(transaction=True)
            pipe.hset(keys.task(q, tid), mapping={"msg": msg, "state": "pending", "pending_since": time.time_ns()})
            pipe.lpush(pending, tid)
            pipe.xadd(events, {"e": "enqueued", "id": tid, "t": "bench:noop"}, maxlen=100_000, approximate=True)
            pipe.lpush(wake, "1")
            pipe.ltrim(wake, 0, 0)
            pipe.execute()

    def floor_batch() -> None:
        for start in range(0, n, BATCH):
            pipe = r.pipeline(transaction=False)
            for i in range(start, min(start + BATCH, n)):
                pipe.lpush("floor:q", f"id{i}|{time.time()!r}|noop")
            pipe.execute()

    def dmq_batch() -> None:
        for start in range(0, n, BATCH):
            client.enqueue_many([dmq.Task("bench:noop", {"id": f"id{i}", "ts": time.time()})
                                 for i in range(start, min(start + BATCH, n))])

    return {name: (lambda fn=fn: rate(fn)) for name, fn in
            [("floor one", floor_one), ("dmq one", dmq_one), ("redis-py records", same_records_one),
             ("floor batch", floor_batch), ("dmq batch", dmq_batch)]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--n", type=int, default=3000, help="tasks per measurement")
    ap.add_argument("--redis-url", default=None)
    args = ap.parse_args(argv)

    server = None
    url = args.redis_url
    if url is None:
        binary, _ = h.find_redis_server()
        server = h.RedisServer(binary).start()
        url = server.url
    try:
        r = redis.Redis.from_url(url)
        m = measures(url, args.n)
        r.flushdb()
        m["dmq one"](), m["dmq batch"]()            # warm up: scripts loaded, queue registered
        rates: dict[str, list[float]] = {k: [] for k in m}
        client_cpu: dict[str, list[float]] = {k: [] for k in m}
        server_cpu: dict[str, list[float]] = {k: [] for k in m}
        for _ in range(args.rounds):
            r.flushdb()
            for name, fn in m.items():
                tps, client_us, server_us = fn()
                rates[name].append(tps)
                client_cpu[name].append(client_us)
                server_cpu[name].append(server_us)
        version = r.info("server")["redis_version"]
        r.flushdb()
    finally:
        if server is not None:
            server.stop()

    one = [d / f for d, f in zip(rates["dmq one"], rates["floor one"])]
    batch = [d / f for d, f in zip(rates["dmq batch"], rates["floor batch"])]
    records = [d / f for d, f in zip(rates["dmq one"], rates["redis-py records"])]
    out = {
        "command": "python benchmarks/floor_ab.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": {"python": platform.python_version(), "redis": version},
        "rounds": args.rounds, "n": args.n,
        "rates": rates,
        "median_rates": {k: statistics.median(v) for k, v in rates.items()},
        "paired_ratio_one": statistics.median(one), "paired_ratio_batch": statistics.median(batch),
        "paired_ratio_same_records": statistics.median(records),
        "client_cpu_us": {k: statistics.median(v) for k, v in client_cpu.items()},
        "redis_cpu_us": {k: statistics.median(v) for k, v in server_cpu.items()},
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    med = out["median_rates"]
    print(f"### dmq vs the redis-py floor, {args.rounds} paired rounds of {args.n} tasks (Redis {version})\n")
    print("| measure | floor /s | dmq /s | dmq / floor (median of paired rounds) |")
    print("|---|---:|---:|---:|")
    print(f"| one by one | {med['floor one']:,.0f} | {med['dmq one']:,.0f} | {out['paired_ratio_one']:.2f}x |")
    print(f"| one by one, the same records via redis-py | {med['redis-py records']:,.0f} | {med['dmq one']:,.0f} "
          f"| {out['paired_ratio_same_records']:.2f}x |")
    print(f"| batch (1,000) | {med['floor batch']:,.0f} | {med['dmq batch']:,.0f} | {out['paired_ratio_batch']:.2f}x |")
    print("\nCPU per task, medians of the rounds (µs, system time included; Redis: INFO cpu):\n")
    print("| measure | client CPU | Redis CPU |")
    print("|---|---:|---:|")
    for name in m:
        print(f"| {name} | {out['client_cpu_us'][name]:.1f} | {out['redis_cpu_us'][name]:.1f} |")
    print(f"\n(JSON: {RESULTS})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
