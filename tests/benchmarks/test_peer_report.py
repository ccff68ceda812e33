"""The peer report's issue 19 logic: verdicts against Go asynq and the concurrent-producers table.

Pure functions over hand-made peers.json documents; no Redis, no timing.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from peer_report import go_goals, goals, producers_table, render_markdown  # noqa: E402


def _peer(title: str, samples: dict[str, list[float]], failed: dict[str, str] | None = None) -> dict:
    return {"title": title, "note": "", "samples": samples, "failed": failed or {},
            "medians": {k: statistics.median(v) for k, v in samples.items() if k not in (failed or {})}}


def _doc(dmq: dict, go: dict, runs: int = 3) -> dict:
    return {
        "command": "python benchmarks/run_peers.py", "date": "d", "seconds": {"bench": 1},
        "sizes": {"runs": runs, "noop": 20000, "sleep": 2000, "latency": 100, "gap": 0.02, "budget": 4,
                  "producers": [1, 10, 100]},
        "machine": {"nproc": 2, "cpu": "c", "redis_version": "7", "python": "3", "loadavg_start": 0.0,
                    "loadavg_end": 0.0},
        "peers": {"dmq": dmq, "go": go},
        "configs": {
            "dmq": {"one_process": ["c=10"], "best": "c=10 x2 proc", "sleep": None, "latency": "c=10",
                    "producers": [["threads", "threads, one Client"], ["async", "coroutines, one AsyncClient"]]},
            "go": {"one_process": ["1 server c=10", "1 server c=50"], "best": None, "sleep": None,
                   "latency": "1 server c=10", "producers": [["goroutines", "goroutines, one Client"]]},
        },
    }


GO = {"noop:1 server c=10": [10000.0, 9000.0, 11000.0], "noop:1 server c=50": [12000.0, 12000.0, 12000.0],
      "enqueue_one": [15000.0, 14000.0, 16000.0], "enqueue_conc:goroutines:100": [60000.0, 70000.0, 65000.0],
      "lat_p50": [950.0, 960.0, 970.0], "lat_p99": [1400.0, 1500.0, 1450.0]}


def test_go_goals_judge_each_goal_on_the_medians_and_show_each_run():
    dmq = _peer("dmq_tools", {"noop:c=10": [31000.0, 27000.0, 30000.0], "enqueue_one": [13000.0, 14000.0, 15000.0],
                              "enqueue_conc:threads:100": [13000.0, 13000.0, 13000.0],
                              "enqueue_conc:async:100": [70000.0, 64000.0, 66000.0],
                              "lat_p50": [0.6, 0.7, 0.65], "lat_p99": [2.0, 2.5, 1.5]})
    rows = {goal: (measured, met) for goal, measured, met in go_goals(_doc(dmq, _peer("Go", GO)))}
    # 30,000 / 10,000 = 3.00x (the verdict), each run's own ratio beside it, and against Go's c=50
    assert rows["no-op, 1 worker process >= 3x Go's one server (1 server c=10)"] == (
        "3.00x Go (per run: 3.10, 3.00, 2.73); 2.50x Go's fastest one server (1 server c=50)", True)
    # the best of dmq's two ways to share a client decides: 66,000 / 65,000
    assert rows["enqueue, 100 concurrent producers >= 1.0x Go's goroutines"] == (
        "threads 0.20x Go, async 1.02x Go", True)
    assert rows["enqueue 1-by-1, one thread >= 0.9x Go"] == ("0.93x Go (per run: 0.87, 1.00, 0.94)", True)
    assert rows["idle pickup p50 < 1 ms and p99 < 3 ms"] == ("0.65 / 2.00 ms (Go 960 / 1,450 ms)", True)


def test_go_goals_not_met_and_not_measured():
    dmq = _peer("dmq_tools", {"noop:c=10": [25000.0, 24000.0, 23000.0], "enqueue_one": [9000.0, 9500.0, 9300.0],
                              "enqueue_conc:threads:100": [13000.0, 12000.0, 14000.0],
                              "lat_p50": [0.6, 0.7, 0.65], "lat_p99": [2.0, 3.5, 3.1]},
                failed={"enqueue_conc:async:100": "skipped: this dmq_tools has no AsyncClient"})
    rows = {goal: (measured, met) for goal, measured, met in go_goals(_doc(dmq, _peer("Go", GO)))}
    assert rows["no-op, 1 worker process >= 3x Go's one server (1 server c=10)"][1] is False
    assert rows["enqueue, 100 concurrent producers >= 1.0x Go's goroutines"] == (
        "threads 0.20x Go, async not measured", False)
    assert rows["enqueue 1-by-1, one thread >= 0.9x Go"][1] is False
    assert rows["idle pickup p50 < 1 ms and p99 < 3 ms"] == ("0.65 / 3.10 ms (Go 960 / 1,450 ms)", False)
    # Go not installed: the ratios are "not measured" (never met); the pickup goal is absolute
    go = _peer("Go", {}, failed={"install": "skipped: go is not installed"})
    without_go = go_goals(_doc(dmq, go))
    assert [(measured, met) for _, measured, met in without_go[:3]] == [("not measured", None)] * 3
    assert without_go[3][1:] == ("0.65 / 3.10 ms", False)


def test_go_is_not_one_of_issue_6s_python_peers():
    dmq = _peer("dmq_tools", {"noop:c=10": [100.0], "enqueue_one": [100.0], "lat_p50": [0.7]})
    go = _peer("Go", {"noop:1 server c=10": [1000.0], "enqueue_one": [1000.0], "lat_p50": [0.1]})
    rows = {goal: (measured, met) for goal, measured, met in goals(_doc(dmq, go))}
    assert rows["no-op, 1 process >= 2x the fastest peer's"] == ("not measured", None)
    assert rows["enqueue 1-by-1 faster than every peer"] == ("not measured", None)


def test_producers_table_and_skip_notes_in_the_markdown():
    dmq = _peer("dmq_tools", {"enqueue_conc:threads:1": [9000.0], "enqueue_conc:threads:10": [12000.0],
                              "enqueue_conc:threads:100": [13000.0]},
                failed={f"enqueue_conc:async:{k}": "skipped: this dmq_tools has no AsyncClient" for k in (1, 10, 100)})
    go = _peer("Go", {"enqueue_conc:goroutines:1": [15000.0], "enqueue_conc:goroutines:10": [50000.0],
                      "enqueue_conc:goroutines:100": [67000.0]})
    doc = _doc(dmq, go, runs=1)
    notes: list[str] = []
    table = producers_table(doc, notes)
    assert "| dmq_tools | threads, one Client | 9,000 | 12,000 | 13,000 |" in table
    assert "| dmq_tools | coroutines, one AsyncClient | skipped [1] | skipped [1] | skipped [1] |" in table
    assert "| Go | goroutines, one Client | 15,000 | 50,000 | 67,000 |" in table
    assert notes == ["dmq_tools: skipped: this dmq_tools has no AsyncClient"]
    md = render_markdown(doc)
    assert "issue 19's goals" in md and "Only 1 run(s): indicative" in md
    assert "1. dmq_tools: skipped: this dmq_tools has no AsyncClient" in md


def test_a_go_peer_that_could_not_install_shows_one_skip_note():
    dmq = _peer("dmq_tools", {"enqueue_one": [100.0]})
    go = _peer("Go asynq v0.26", {}, failed={"install": "skipped: go is not installed"})
    md = render_markdown(_doc(dmq, go))
    assert md.count("skipped: go is not installed") == 1
    assert "| Go asynq v0.26 | skipped [1] |" in md
