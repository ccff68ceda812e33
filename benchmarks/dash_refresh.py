"""`dmq dash` on 50 queues holding 1,000,000 tasks: one refresh, and key-to-screen latency.

Starts its own redis-server, seeds raw asynq records (tests/helpers/seed.py, like a Go producer),
then times (a) `dmq_tools.tui.data.load` (what one refresh reads, in the worker thread) and
(b) headless with Textual's pilot, how long after a key's action (`n`, next page; `s`, next state)
the page it asked for is applied to the widgets (the thread's read included, the terminal's
paint not), while the 1 s auto-refresh keeps running. Also `dmq doctor` and one
alert evaluation and one /metrics collection on the same data.

Usage: python benchmarks/dash_refresh.py [TOTAL_TASKS] [QUEUES] [RUNS]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from benchmarks.dashboard_refresh import _seed
from dmq_tools.inspector import Inspector
from tests.helpers.redis_server import RedisProcess, redis_server_binary


def _ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1e3:7.1f} ms, max {max(samples) * 1e3:7.1f} ms"


def measure(url: str, runs: int) -> dict[str, str]:
    from dmq_tools.alerts import AlertEvaluator, parse_rules
    from dmq_tools.doctor import run_doctor
    from dmq_tools.metrics import QueueMetricsCollector
    from dmq_tools.tui import DashApp
    from dmq_tools.tui.data import load

    insp = Inspector(url)
    out: dict[str, str] = {}
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        load(insp, "queue-25", "pending", 1000, 50)
        samples.append(time.perf_counter() - t0)
    out["one refresh (load: 50 queues, sparklines, page 1000)"] = _ms(samples)

    class Timed(DashApp):
        """Records when a key's action ran and when the page it asked for was applied."""

        pressed = 0.0
        waits: list[float] = []  # noqa: RUF012 - replaced per run

        def action_page(self, step: int) -> None:
            self.pressed = time.perf_counter()
            super().action_page(step)

        def action_next_state(self) -> None:
            self.pressed = time.perf_counter()
            super().action_next_state()

        def _apply(self, data, asked) -> None:
            super()._apply(data, asked)
            if self.pressed and self.data is data:
                self.waits.append(time.perf_counter() - self.pressed)
                self.pressed = 0.0

    async def keys() -> tuple[list[float], list[float]]:
        app = Timed(insp, interval=1.0, page_size=50)
        async with app.run_test(size=(170, 48)) as pilot:
            while not (app.data and app.data.page):
                await pilot.pause(0.02)
            for _ in range(runs):
                await pilot.press("n" if app.page < app.data.page.pages else "b")
                while app.pressed:
                    await pilot.pause(0.01)
            nexts, app.waits = app.waits, []
            for _ in range(6):
                await pilot.press("s")
                while app.pressed:
                    await pilot.pause(0.01)
            return nexts, app.waits

    nexts, states = asyncio.run(keys())
    out["key `n`: action to the next page applied"] = _ms(nexts)
    out["key `s`: action to the next state's page applied"] = _ms(states)
    t0 = time.perf_counter()
    report = run_doctor(insp)
    out["dmq doctor (all checks)"] = _ms([time.perf_counter() - t0]) + f" -> {report.worst}"
    rf = parse_rules({"rules": [{"name": "depth", "kind": "queue_depth", "queue": "*", "threshold": 1e9},
                                {"name": "fail", "kind": "failure_rate", "queue": "*", "threshold": 0.5},
                                {"name": "nw", "kind": "no_worker", "queue": "*"}]})
    ev = AlertEvaluator(insp, rf, [])
    t0 = time.perf_counter()
    ev.run_once()
    out["one alert evaluation (150 rule instances)"] = _ms([time.perf_counter() - t0])
    t0 = time.perf_counter()
    list(QueueMetricsCollector(insp).collect())
    out["one /metrics collection"] = _ms([time.perf_counter() - t0])
    insp.close()
    return out


def main(total: int = 1_000_000, queues: int = 50, runs: int = 10) -> None:
    binary = redis_server_binary()
    if binary is None:
        sys.exit("redis-server not found")
    server = RedisProcess(binary, persist=False).start()
    try:
        r = redis.Redis.from_url(server.url)
        seeded = _seed(r, total, queues)
        print(f"seeded {queues} queues x {total // queues} tasks = {total:,} in {seeded:.1f} s "
              f"(redis used_memory {r.info('memory')['used_memory_human']})")
        for k, v in measure(server.url, runs).items():
            print(f"{k:55s} {v}")
        r.close()
    finally:
        server.cleanup()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
