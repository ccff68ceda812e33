"""memory_usage equals asynq v0.26's figure exactly, also for a queue with groups; what dmq
counts beyond it (the group sorted sets, the groups set) is reported apart."""

from __future__ import annotations

import random
from datetime import timedelta

import dmq_tools as dmq
from dmq_tools.rdb import keys

Q = "mem"


def asynq_formula(r, q: str, sample: int = 20, group_sample: int = 5) -> int:
    """asynq's memoryUsage, restated from its documented steps: per container, the average
    MEMORY USAGE of the first `sample` task hashes times the container's length, plus the
    container's own usage (active, pending, scheduled, retry, archived, completed, in that order);
    then the average over the tasks of the first `group_sample` groups times all grouped tasks.
    Summed as doubles, truncated once at the end."""
    prefix = keys.task_prefix(q)
    total = 0.0
    for key, ids, n in (
        (keys.active(q), r.lrange(keys.active(q), 0, sample - 1), r.llen(keys.active(q))),
        (keys.pending(q), r.lrange(keys.pending(q), 0, sample - 1), r.llen(keys.pending(q))),
        *((k, r.zrange(k, 0, sample - 1), r.zcard(k))
          for k in (keys.scheduled(q), keys.retry(q), keys.archived(q), keys.completed(q))),
    ):
        if ids:
            total = total + sum(r.memory_usage(prefix + i.decode()) for i in ids) / len(ids) * n
        own = r.memory_usage(key)
        if own:
            total = total + own
    # SMEMBERS in the order a script sees it (it can differ from a plain call's order)
    groups = r.eval("return redis.call('SMEMBERS', KEYS[1])", 1, keys.groups(q))
    if groups:
        count, sampled, size = 0, 0, 0
        for i, g in enumerate(groups, 1):
            gkey = keys.group(q, g.decode())
            count += r.zcard(gkey)
            if i <= group_sample:
                for tid in r.zrange(gkey, 0, sample - 1):
                    sampled += r.memory_usage(prefix + tid.decode())
                    size += 1
        total = total + sampled / size * count
    return int(total)


def _fill(client) -> None:
    rnd = random.Random(7)
    for i in range(37):
        client.enqueue(dmq.Task("p", {"i": i, "pad": "x" * rnd.randrange(1, 300)}), queue=Q)
    for _ in range(23):
        client.enqueue(dmq.Task("s", "y" * rnd.randrange(1, 500)), queue=Q, process_in=timedelta(hours=1))
    for g in range(7):
        for _ in range(rnd.randrange(1, 30)):
            client.enqueue(dmq.Task("g", "z" * rnd.randrange(1, 900)), queue=Q, group=f"grp{g}")


def test_memory_usage_with_groups_is_asynqs_figure(r, client):
    _fill(client)
    info = dmq.Inspector(r).get_queue_info(Q)
    assert info.groups == 7 and info.aggregating > 0
    assert info.memory_usage == asynq_formula(r, Q)
    group_keys = [keys.group(Q, f"grp{g}") for g in range(7)]
    extra = sum(r.memory_usage(k) for k in group_keys) + r.memory_usage(keys.groups(Q))
    assert info.memory_usage_extra == extra


def test_memory_usage_without_groups_has_no_extra(r, client):
    for i in range(50):
        client.enqueue(dmq.Task("p", {"i": i}), queue=Q)
    info = dmq.Inspector(r).get_queue_info(Q)
    assert info.memory_usage == asynq_formula(r, Q) > 0
    assert info.memory_usage_extra == 0


def test_memory_usage_of_a_corrupt_container_is_a_number(r, client):
    """A container of the wrong type (a string where pending should be) does not break the
    figure: its own size counts, nothing is sampled from it."""
    _fill(client)
    before = dmq.Inspector(r).rdb.memory_usage(Q)
    r.delete(keys.pending(Q))
    r.set(keys.pending(Q), "garbage")
    after = dmq.Inspector(r).rdb.memory_usage(Q)
    assert 0 < after < before
