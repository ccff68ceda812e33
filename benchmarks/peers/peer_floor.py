"""The floor: what one Python process can do with plain redis-py and a list, no task queue at all.

Enqueue = LPUSH one by one, or pipelined LPUSH (1,000 commands per round trip). Workers: BRPOP one
message at a time, or BLMPOP COUNT 100 (Redis >= 7; on older servers RPOP key 100 with a BRPOP
fallback when the list is empty, reported as emulated). `blmpop100-pool10` hands each message to a
10-thread pool (the 1 ms sleeping task with concurrency 10).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SLEEP_S, Item, main, record  # noqa: E402

QUEUE = "floor:q"
CHUNK = 1000


def _encode(task_id: str, kind: str) -> str:
    return f"{task_id}|{time.time()!r}|{kind}"


def handle(raw: bytes) -> None:
    task_id, ts, kind = raw.decode().split("|")
    started = time.time()
    if kind == "sleep":
        time.sleep(SLEEP_S)
    record(task_id, float(ts), started)


def enqueue_one(todo: list[Item], gap: float) -> None:
    r = redis.Redis.from_url(_url())
    for task_id, kind in todo:
        r.lpush(QUEUE, _encode(task_id, kind))
        if gap:
            time.sleep(gap)


def enqueue_batch(todo: list[Item]) -> None:
    r = redis.Redis.from_url(_url())
    for i in range(0, len(todo), CHUNK):
        pipe = r.pipeline(transaction=False)
        for task_id, kind in todo[i:i + CHUNK]:
            pipe.lpush(QUEUE, _encode(task_id, kind))
        pipe.execute()


def _url() -> str:
    from _common import redis_url

    return redis_url()


def has_blmpop(r: redis.Redis) -> bool:
    return int(str(r.info("server")["redis_version"]).split(".")[0]) >= 7


def pop_many(r: redis.Redis, native: bool, count: int = 100) -> list[bytes]:
    if native:
        got = r.execute_command("BLMPOP", 1, 1, QUEUE, "RIGHT", "COUNT", count)
        return list(got[1]) if got else []
    got = r.rpop(QUEUE, count)
    if got:
        return list(got)
    one = r.brpop([QUEUE], timeout=1)
    return [one[1]] if one else []


def worker_brpop(url: str) -> None:
    r = redis.Redis.from_url(url)
    while True:
        got = r.brpop([QUEUE], timeout=1)
        if got:
            handle(got[1])


def worker_blmpop(url: str) -> None:
    r = redis.Redis.from_url(url)
    native = has_blmpop(r)
    while True:
        for raw in pop_many(r, native):
            handle(raw)


def worker_blmpop_pool(url: str) -> None:
    r = redis.Redis.from_url(url)
    native = has_blmpop(r)
    with ThreadPoolExecutor(10) as pool:
        while True:
            batch = pop_many(r, native, 10)
            list(pool.map(handle, batch))


if __name__ == "__main__":
    main(
        enqueue_one=enqueue_one,
        enqueue_batch=enqueue_batch,
        workers={"brpop": worker_brpop, "blmpop100": worker_blmpop, "blmpop100-pool10": worker_blmpop_pool},
    )
