"""One `async def` handler that blocks its event loop (time.sleep) costs only its own slot: the
other async tasks run on time, and the blocking handler is logged once, naming its task type."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta

import dmq_tools as dmq
from dmq_tools.rdb import keys
from dmq_tools.worker import ServeMux, Worker
from tests.worker.conftest import fast_config, wait_until


def test_a_blocking_async_handler_does_not_stall_the_others(r, client, caplog):
    caplog.set_level(logging.WARNING, logger="dmq_tools")
    done: list[str] = []
    lock = threading.Lock()
    mux = ServeMux()

    @mux.handle("hog")
    async def hog(task):
        time.sleep(3.0)                  # blocks its loop: the mistake under test

    @mux.handle("nice")
    async def nice(task):
        await asyncio.sleep(0.1)
        with lock:
            done.append(task.id)

    [client.enqueue(dmq.Task("hog"), timeout=timedelta(seconds=30), max_retry=0) for _ in range(2)]
    w = Worker(r, mux, config=fast_config(concurrency=4, prefetch=0)).start()
    try:
        assert wait_until(lambda: r.llen(keys.active("default")) == 2, timeout=10)
        nice_infos = [client.enqueue(dmq.Task("nice"), timeout=timedelta(seconds=2), max_retry=0)
                      for _ in range(10)]
        assert wait_until(lambda: len(done) == 10 or r.zcard(keys.archived("default")) > 0, timeout=15)
        assert wait_until(lambda: r.llen(keys.active("default")) == 0, timeout=15)
    finally:
        w.stop()
    assert sorted(done) == sorted(i.id for i in nice_infos)
    assert r.zcard(keys.archived("default")) == 0       # nobody hit "context deadline exceeded"
    blocked = [rec.getMessage() for rec in caplog.records if "blocked its event loop" in rec.getMessage()]
    assert len(blocked) == 1 and "'hog'" in blocked[0]


def test_async_handlers_still_run_and_can_be_cancelled_at_the_deadline(r, client):
    mux = ServeMux()
    cancelled = threading.Event()

    @mux.handle("slow")
    async def slow(task):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    @mux.handle("ok")
    async def ok(task):
        await asyncio.sleep(0)
        return {"v": 1}

    client.enqueue(dmq.Task("slow"), timeout=timedelta(seconds=1), max_retry=0)
    info = client.enqueue(dmq.Task("ok"), retention=timedelta(hours=1))
    w = Worker(r, mux, config=fast_config(concurrency=2)).start()
    try:
        assert wait_until(lambda: r.zcard(keys.archived("default")) == 1, timeout=10)
        assert wait_until(lambda: r.zcard(keys.completed("default")) == 1, timeout=10)
    finally:
        w.stop()
    assert cancelled.wait(5)
    assert dmq.Inspector(r).get_task_info("default", info.id).result == b'{"v":1}'
