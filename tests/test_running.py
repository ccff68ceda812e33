"""dmq.running() / dmq.stop_all(): what a notebook uses to find and stop ghost workers/schedulers."""

from __future__ import annotations

from datetime import timedelta

import dmq_tools as dmq


def test_running_lists_workers_and_schedulers_and_stop_all_stops_them(r):
    mux = dmq.ServeMux()
    mux.handle("noop", lambda task: None)
    worker = dmq.Worker(r, mux, concurrency=2, queues={"rt": 1}, shutdown_timeout=timedelta(seconds=1))
    sched = dmq.Scheduler(r)
    sched.register("@every 1h", dmq.Task("noop"), queue="rt")
    worker.start()
    sched.start()
    try:
        live = dmq.running()
        assert worker in live and sched in live
        assert dmq.stop_all() == 2
        assert dmq.running() == []
        assert not sched.running
    finally:
        worker.stop()
        sched.stop()


def test_run_until_signal_starts_stops_and_restores_the_handlers():
    """Worker.run and Scheduler.run share this: SIGTERM ends the wait, stop() runs, the previous
    handler comes back."""
    import os
    import signal
    import threading

    from dmq_tools._lifecycle import run_until_signal

    calls = []
    before = signal.getsignal(signal.SIGTERM)
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
    run_until_signal(lambda: calls.append("start"), lambda: False, lambda: calls.append("stop"))
    assert calls == ["start", "stop"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_run_until_signal_returns_when_stopped_elsewhere():
    from dmq_tools._lifecycle import run_until_signal

    stopped = []
    run_until_signal(lambda: stopped.append(True), lambda: bool(stopped), lambda: stopped.append("stop"))
    assert stopped == [True, "stop"]
