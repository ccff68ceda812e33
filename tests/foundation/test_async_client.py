"""AsyncClient against a real Redis: Client's records byte for byte, shared round trips for
concurrent calls, errors kept to their caller."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from datetime import datetime, timedelta, timezone

import pytest

import dmq_tools as dmq
from dmq_tools.errors import ConfigurationError, ConnectionFailedError, DuplicateTaskError, TaskIDConflictError
from dmq_tools.rdb.wire import decode_task_message


def run(coro):
    return asyncio.run(coro)


async def _with(url, fn):
    ac = dmq.AsyncClient(url)
    try:
        return await fn(ac)
    finally:
        await ac.aclose()


def _record(r, queue, task_id):
    h = r.hgetall(f"asynq:{{{queue}}}:t:{task_id}")
    return {k: v for k, v in h.items() if k not in (b"pending_since",)}


CASES = [
    ("plain with options", {"max_retry": 3, "timeout": 60, "retention": timedelta(hours=1)}),
    ("scheduled", {"process_in": 3600}),
    ("unique", {"unique": 600}),
    ("group", {"group": "g1"}),
    ("headers", {"headers": {"k": "v"}}),
    ("deadline", {"deadline": datetime(2030, 1, 1, tzinfo=timezone.utc)}),
]


@pytest.mark.parametrize("name,options", CASES, ids=[c[0] for c in CASES])
def test_records_are_byte_identical_to_clients(r, redis_url, name, options):
    task = dmq.Task("email:deliver", {"to": "a@example.com"})
    dmq.Client(r).enqueue(task, queue="q", task_id="same-id", **options)
    sync_record = _record(r, "q", "same-id")
    sync_keys = sorted(r.keys("asynq:*"))
    r.flushdb()
    info = run(_with(redis_url, lambda ac: ac.enqueue(task, queue="q", task_id="same-id", **options)))
    assert _record(r, "q", "same-id") == sync_record
    assert sorted(r.keys("asynq:*")) == sync_keys
    assert info.id == "same-id" and info.queue == "q"


def test_plain_fast_path_message_matches_clients(r, redis_url):
    task = dmq.Task("image:resize", {"src": "a.jpg"})
    sync_info = dmq.Client(r).enqueue(task, queue="low", max_retry=4)
    async_info = run(_with(redis_url, lambda ac: ac.enqueue(task, queue="low", max_retry=4)))
    a = decode_task_message(r.hget(f"asynq:{{low}}:t:{sync_info.id}", "msg"))
    b = decode_task_message(r.hget(f"asynq:{{low}}:t:{async_info.id}", "msg"))
    assert a.id != b.id and dataclasses.replace(a, id="") == dataclasses.replace(b, id="")
    assert r.lrange("asynq:{low}:pending", 0, -1) == [async_info.id.encode(), sync_info.id.encode()]
    assert async_info.state == dmq.TaskState.PENDING and async_info.max_retry == 4


def test_methods_mirror_client_and_are_coroutines():
    for name in ("enqueue", "enqueue_in", "enqueue_at", "enqueue_many"):
        assert inspect.iscoroutinefunction(getattr(dmq.AsyncClient, name)), name
        assert list(inspect.signature(getattr(dmq.AsyncClient, name)).parameters) == \
            list(inspect.signature(getattr(dmq.Client, name)).parameters), name
    assert inspect.iscoroutinefunction(dmq.AsyncClient.aclose)


def test_concurrent_calls_share_round_trips(r, redis_url):
    r.config_resetstat()

    async def many(ac):
        await ac.enqueue(dmq.Task("warm"))
        r.config_resetstat()
        return await asyncio.gather(*(ac.enqueue(dmq.Task("t", {"i": i})) for i in range(300)))

    infos = run(_with(redis_url, many))
    assert len({i.id for i in infos}) == 300 and r.llen("asynq:{default}:pending") == 301
    calls = r.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    assert 1 <= calls <= 10, calls          # 300 tasks in a few script calls, not 300
    ids = [i.decode() for i in r.lrange("asynq:{default}:pending", 0, -1)]
    assert ids[:300][::-1] == [i.id for i in infos]   # LPUSH order: the order of the calls


def test_producers_alternating_queues_share_one_call_per_queue(r, redis_url):
    queues = ["qa", "qb", "qc"]

    async def alternating(ac):
        await ac.enqueue(dmq.Task("warm"), queue="qa", task_id="taken-b")
        await ac.enqueue(dmq.Task("warm"), queue="qb", task_id="taken-b")
        r.config_resetstat()
        calls = []
        for i in range(300):
            task_id = "taken-b" if i == 151 else None   # 151 % 3 == 1: a conflict in qb, mid-batch
            calls.append(ac.enqueue(dmq.Task("t", {"i": i}), queue=queues[i % 3], task_id=task_id))
        return await asyncio.gather(*calls, return_exceptions=True)

    out = run(_with(redis_url, alternating))
    assert isinstance(out[151], TaskIDConflictError)
    assert all(isinstance(o, dmq.TaskInfo) and o.queue == queues[i % 3] for i, o in enumerate(out) if i != 151)
    calls = r.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    assert 1 <= calls <= 15, calls     # one script call per queue per flush, not one per task
    for k, q in enumerate(queues):      # each queue's tasks in the order of their calls
        ids = [i.decode() for i in r.lrange(f"asynq:{{{q}}}:pending", 0, -1)][::-1][1 if q != "qc" else 0:]
        assert ids == [o.id for i, o in enumerate(out) if i % 3 == k and i != 151]


def test_errors_stay_with_their_caller(r, redis_url):
    async def mixed(ac):
        await ac.enqueue(dmq.Task("t"), task_id="taken")
        return await asyncio.gather(
            ac.enqueue(dmq.Task("t", {"n": 1})),
            ac.enqueue(dmq.Task("t"), task_id="taken"),
            ac.enqueue(dmq.Task("t"), queue=""),
            ac.enqueue(dmq.Task("t", {"u": 1}), unique=60),
            ac.enqueue(dmq.Task("t", {"u": 1}), unique=60),
            ac.enqueue(dmq.Task("t", {"n": 2})),
            return_exceptions=True)

    out = run(_with(redis_url, mixed))
    kinds = [type(o).__name__ for o in out]
    assert kinds == ["TaskInfo", "TaskIDConflictError", "ConfigurationError", "TaskInfo", "DuplicateTaskError",
                     "TaskInfo"]
    assert r.llen("asynq:{default}:pending") == 4


def test_enqueue_in_at_and_many(r, redis_url):
    async def go(ac):
        a = await ac.enqueue_in(dmq.Task("t"), timedelta(minutes=5))
        b = await ac.enqueue_at(dmq.Task("t"), datetime.now(timezone.utc) + timedelta(hours=1))
        c = await ac.enqueue_many([dmq.Task("m", {"i": i}) for i in range(1200)], queue="bulk")
        d = await ac.enqueue_many([dmq.Task("m")], task_id=c[0].id, queue="bulk")
        with pytest.raises(TaskIDConflictError) as info:
            await ac.enqueue_many([dmq.Task("m"), dmq.Task("m")], task_id=c[0].id, queue="bulk",
                                  on_conflict="raise")
        return a, b, c, d, info.value

    a, b, c, d, err = run(_with(redis_url, go))
    assert a.state == b.state == dmq.TaskState.SCHEDULED and r.zcard("asynq:{default}:scheduled") == 2
    assert len(c) == 1200 == r.llen("asynq:{bulk}:pending") and d == [] and err.enqueued == []
    with pytest.raises(ConfigurationError):
        run(_with(redis_url, lambda ac: ac.enqueue_many([dmq.Task("m")], on_conflict="maybe")))
    with pytest.raises(DuplicateTaskError):
        async def dup(ac):
            await ac.enqueue(dmq.Task("u", {"x": 1}), unique=60)
            await ac.enqueue(dmq.Task("u", {"x": 1}), unique=60)
        run(_with(redis_url, dup))


def test_unreachable_redis_raises_connection_failed_without_the_password():
    from tests.helpers.redis_server import free_port

    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConnectionFailedError) as info:
        run(_with(url, lambda ac: ac.enqueue(dmq.Task("t"))))
    assert "127.0.0.1" in str(info.value) and "hunter2" not in str(info.value)


def test_a_sync_redis_client_is_accepted_and_closing_waits_for_writes(r):
    async def go():
        ac = dmq.AsyncClient(r)
        pending = [asyncio.ensure_future(ac.enqueue(dmq.Task("t", {"i": i}))) for i in range(50)]
        await asyncio.sleep(0)
        await asyncio.gather(*pending)
        await ac.aclose()
        with pytest.raises(ConfigurationError, match="closed"):
            await ac.enqueue(dmq.Task("t"))

    run(go())
    assert r.llen("asynq:{default}:pending") == 50


def test_one_event_loop_per_client(redis_url):
    ac = dmq.AsyncClient(redis_url)
    run(ac.enqueue(dmq.Task("t")))
    with pytest.raises(ConfigurationError, match="event loop"):
        run(ac.enqueue(dmq.Task("t")))


def test_recovers_after_a_redis_restart(make_redis_process):
    server = make_redis_process(persist=True)

    async def go():
        ac = dmq.AsyncClient(server.url)
        first = await ac.enqueue(dmq.Task("t", {"n": 1}))
        server.stop()
        with pytest.raises(ConnectionFailedError):
            await ac.enqueue(dmq.Task("t", {"n": 2}))
        server.restart()
        again = await ac.enqueue(dmq.Task("t", {"n": 3}))   # a fresh connection, no error
        server.restart()                                      # the kept connection goes stale
        after = await ac.enqueue(dmq.Task("t", {"n": 4}))   # sent again on a new one, once
        many = await asyncio.gather(*(ac.enqueue(dmq.Task("t", {"m": i})) for i in range(20)))
        await ac.aclose()
        return first, again, after, many

    first, again, after, many = run(go())
    import redis

    pending = redis.Redis.from_url(server.url).lrange("asynq:{default}:pending", 0, -1)
    assert set(pending) >= {first.id.encode(), again.id.encode(), after.id.encode()}
    assert len(pending) == len(set(pending)) == 23 and {i.id.encode() for i in many} <= set(pending)


def test_a_tls_sync_client_gives_a_tls_async_client():
    import redis

    from dmq_tools.rdb.async_producer import open_async_redis

    sync = redis.Redis.from_url("rediss://:pw@db.example.com:6390/3?ssl_cert_reqs=none")
    client, owned, address = open_async_redis(sync)
    kw = client.connection_pool.connection_kwargs
    assert owned and address == "rediss://db.example.com:6390/3" and "pw" not in address
    assert "SSL" in client.connection_pool.connection_class.__name__ and kw["ssl_cert_reqs"] == "none"
    assert (kw["host"], kw["port"], kw["db"], kw["password"]) == ("db.example.com", 6390, 3, "pw")


def test_remembered_options_still_apply_per_call(r, redis_url):
    async def go(ac):
        infos = [await ac.enqueue(dmq.Task("t"), queue=q, max_retry=n) for q, n in
                 (("a", 1), ("b", 2), ("a", 1), ("a", 3))]
        for _ in range(2):
            with pytest.raises(ConfigurationError):
                await ac.enqueue(dmq.Task("t"), queue="")
        own = await ac.enqueue(dmq.Task("t", queue="c"), max_retry=5)   # the task's own options merge
        return infos, own

    infos, own = run(_with(redis_url, go))
    assert [(i.queue, i.max_retry) for i in infos] == [("a", 1), ("b", 2), ("a", 1), ("a", 3)]
    assert (own.queue, own.max_retry) == ("c", 5)
    assert r.llen("asynq:{a}:pending") == 3 and r.llen("asynq:{b}:pending") == 1


def test_a_corrupt_queue_is_a_dmq_error_naming_the_key(r, redis_url):
    """A pending key of the wrong type: the same CorruptStateError as Client's, nothing written."""
    from dmq_tools.errors import CorruptStateError

    r.set("asynq:{bent}:pending", "not a list")

    async def go():
        ac = dmq.AsyncClient(redis_url)
        try:
            with pytest.raises(CorruptStateError, match=r"asynq:\{bent\}:pending") as info:
                await ac.enqueue(dmq.Task("t", {"n": 1}), queue="bent")
            assert info.value.key == "asynq:{bent}:pending"
        finally:
            await ac.aclose()

    asyncio.run(go())
    assert r.keys("asynq:{bent}:t:*") == []


def test_enqueue_many_names_the_bad_task_and_writes_nothing(r, redis_url):
    """As Client.enqueue_many: the whole batch is checked first; the error names the task's index."""

    async def go():
        ac = dmq.AsyncClient(redis_url)
        try:
            tasks = [dmq.Task("ok", {"i": i}) for i in range(5)] + [dmq.Task("bad", max_retry=2**31)]
            with pytest.raises(ConfigurationError, match=r"^task 5 \('bad'\): ") as info:
                await ac.enqueue_many(tasks)
            assert info.value.index == 5
        finally:
            await ac.aclose()

    asyncio.run(go())
    assert r.keys("*") == []


def test_wait_replicas_on_a_server_without_replicas(r, redis_url):
    """As Client's: the task is written on the master, the caller hears that no replica has it."""
    async def go():
        async with dmq.AsyncClient(redis_url, wait_replicas=1, wait_timeout=0.1) as ac:
            with pytest.raises(dmq.ReplicationTimeoutError, match="0 of 1 replica"):
                await ac.enqueue(dmq.Task("t", {}))
            got = await asyncio.gather(*(ac.enqueue(dmq.Task("t", {"i": i}), queue="q2") for i in range(5)),
                                       return_exceptions=True)
            assert all(isinstance(g, dmq.ReplicationTimeoutError) for g in got)
            with pytest.raises(dmq.ReplicationTimeoutError):
                await ac.enqueue_many([dmq.Task("t", {"i": i}) for i in range(3)], queue="q3")

    run(go())
    assert (r.llen("asynq:{default}:pending"), r.llen("asynq:{q2}:pending"), r.llen("asynq:{q3}:pending")) == (1, 5, 3)
    for bad in ({"wait_replicas": -1}, {"wait_replicas": True}, {"wait_timeout": 0}):
        with pytest.raises(ConfigurationError):
            dmq.AsyncClient(redis_url, **bad)
