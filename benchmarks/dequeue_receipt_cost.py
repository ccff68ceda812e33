"""Server-side cost of the dequeue receipt (the leased ids kept under a per-call token so a call
whose reply was lost in a Redis stall can be given back): dequeue.lua with and without a token.

    python benchmarks/dequeue_receipt_cost.py [--n 6000] [--rounds 9]

Redis's own `INFO commandstats` (usec per EVALSHA) on one redis-server, the two variants
interleaved, best of `rounds` (the least disturbed by other load). Prints markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import redis  # noqa: E402

import dmq_tools as dmq  # noqa: E402
from dmq_tools.rdb import keys  # noqa: E402
from dmq_tools.rdb.scripts import SOURCES  # noqa: E402

Q = "default"


def usec_per_call(r: redis.Redis, sha: str, batch: int, n: int, receipt: bool) -> float:
    r.flushdb()
    client = dmq.Client(r)
    for i in range(0, n, 2000):
        client.enqueue_many([dmq.Task("bench:noop", None) for _ in range(min(2000, n - i))])
    r.config_resetstat()
    ks = [keys.pending(Q), keys.paused(Q), keys.active(Q), keys.lease(Q), keys.wake(Q), keys.events(Q),
          keys.dequeue_receipt(Q, "bench")]
    token = 0
    while True:
        token += 1
        tok, acked = (str(token), str(token - 1)) if receipt else ("", "")
        if not r.evalsha(sha, 7, *ks, int(time.time()) + 30, batch, 100000, "bench", tok, acked, keys.task_prefix(Q)):
            break
    return float(r.info("commandstats")["cmdstat_evalsha"]["usec_per_call"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    from tests.helpers.redis_server import RedisProcess, redis_server_binary

    server = RedisProcess(redis_server_binary()).start()
    try:
        r = redis.Redis.from_url(server.url)
        sha = r.script_load(SOURCES["dequeue"])
        print("| batch | without receipt, µs per task | with receipt, µs per task |")
        print("|---:|---:|---:|")
        for batch in (1, 10, 64):
            best = {False: float("inf"), True: float("inf")}
            for _ in range(args.rounds):
                for receipt in (False, True):
                    best[receipt] = min(best[receipt], usec_per_call(r, sha, batch, args.n, receipt) / batch)
            print(f"| {batch} | {best[False]:.2f} | {best[True]:.2f} |")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
