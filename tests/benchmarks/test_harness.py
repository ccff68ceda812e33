"""Smoke test of the peer benchmark harness: the exactly-once checker and the floor peer (--quick).

Uses the session redis and this python (no venvs); peers that need their own venv are not run.
Asserts correctness only (every task recorded exactly once, every metric produced), never speed.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import peer_harness as h  # noqa: E402
import run_peers  # noqa: E402
from peer_report import render_markdown  # noqa: E402


def test_exactly_once_checker_accepts_each_id_once(r):
    ids = {f"t{i}" for i in range(50)}
    r.rpush(h.KEY_DONE, *sorted(ids))
    report = h.check_exactly_once(r, ids, grace=0)
    assert report.ok and report.seen == 50


def test_exactly_once_checker_reports_missing_duplicated_unexpected(r):
    ids = {f"t{i}" for i in range(10)}
    r.rpush(h.KEY_DONE, *[f"t{i}" for i in range(8)], "t3", "t3", "t5", "stray")
    report = h.check_exactly_once(r, ids, grace=0)
    assert not report.ok
    assert (report.missing, report.duplicated, report.unexpected) == (2, 2, 1)
    assert "2 missing" in report.reason
    with pytest.raises(h.PeerFailed):
        h.require_exactly_once(r, ids)


def test_floor_peer_quick_run_passes_every_check(r, redis_url, tmp_path):
    # The floor's spec minus its duplicate paths (every process start costs ~0.5 s on a busy box):
    # one single-process config, the 2-process config, the sleeping task, and the latency samples
    # taken on the sleeping run's workers (the path most peers use).
    floor = run_peers.PEERS["floor"]
    spec = replace(floor, noop=(run_peers.Config("BRPOP", "brpop"),), latency=floor.sleep)
    sizes = run_peers.Sizes(runs=1, noop=400, sleep=100, latency=8, gap=0.01, bench_n=0)
    result = run_peers.run_peer(r, redis_url, "floor", sys.executable, sizes, tmp_path, spec=spec)
    assert result.failed == {}
    medians = result.medians()
    for metric in ("enqueue_one", "enqueue_batch", "mem_per_task", "noop:BRPOP", "noop:BLMPOP 100 x2 proc",
                   "sleep", "lat_p50", "lat_p99", "rss:BRPOP"):
        assert medians[metric] > 0, metric
    assert medians["lat_p99"] >= medians["lat_p50"]
    assert r.dbsize() == 0  # every measurement cleans up after itself


def test_failed_peer_is_reported_with_its_reason(r, redis_url, tmp_path):
    """A worker that cannot start makes its metrics 'failed' (with the reason), not missing."""
    sizes = run_peers.Sizes(runs=1, noop=20, sleep=10, latency=2, gap=0.01, bench_n=0)
    broken = tmp_path / "python-that-fails"
    broken.write_text("#!/bin/sh\necho 'no such library' >&2\nexit 3\n")
    broken.chmod(0o755)
    result = run_peers.run_peer(r, redis_url, "floor", str(broken), sizes, tmp_path)
    assert "noop:BRPOP" in result.failed and "no such library" in result.failed["noop:BRPOP"]
    doc = {"command": "x", "date": "d", "sizes": sizes.__dict__, "seconds": {"bench": 0},
           "machine": {"nproc": 2, "cpu": "c", "redis_version": "7", "python": "3", "loadavg_start": 0.0,
                       "loadavg_end": 0.0},
           "peers": {"floor": {"title": "floor", "note": "", "medians": result.medians(),
                               "samples": result.samples, "failed": result.failed}},
           "configs": {"floor": {"one_process": ["BRPOP"], "best": None, "sleep": None, "latency": "BRPOP"}}}
    md = render_markdown(doc)
    assert "failed [1]" in md and "no such library" in md


def test_goal_rows_compare_dmq_with_the_peers_and_the_floor():
    from peer_report import goals

    def peer(**medians):
        return {"title": "x", "note": "", "medians": medians, "samples": {}, "failed": {}}

    one = {"one_process": ["a"], "best": None, "sleep": None, "latency": "a"}
    doc = {"peers": {"floor": peer(enqueue_one=5000, enqueue_batch=40000),
                     "dmq": peer(**{"noop:a": 9000, "enqueue_one": 4000, "enqueue_batch": 30000, "lat_p50": 0.7}),
                     "rq": peer(**{"noop:a": 100, "enqueue_one": 500, "enqueue_batch": 4000, "lat_p50": 5.0}),
                     "huey": peer(**{"noop:a": 3000, "enqueue_one": 2500, "lat_p50": 1.5})},
           "configs": {"floor": one, "dmq": one, "rq": one, "huey": one}}
    rows = {goal: (measured, met) for goal, measured, met in goals(doc)}
    assert rows["no-op, 1 process >= 2x the fastest peer's"] == ("3.00x fastest peer", True)
    assert rows["batch enqueue >= 3x RQ enqueue_many"] == ("7.50x RQ", True)
    assert rows["batch enqueue >= 0.5x pipelined floor"] == ("0.75x floor", True)
    assert rows["enqueue 1-by-1 faster than every peer"][1] is True
    assert rows["enqueue 1-by-1 >= the 1-by-1 floor"] == ("0.80x floor", False)
    assert rows["idle pickup p50 < 0.8 ms"] == ("0.70 ms", True)


def test_goal_rows_show_each_runs_own_floor_ratio():
    from peer_report import goals

    def peer(samples):
        return {"title": "x", "note": "", "samples": samples, "failed": {},
                "medians": {k: sorted(v)[len(v) // 2] for k, v in samples.items()}}

    one = {"one_process": ["a"], "best": None, "sleep": None, "latency": "a"}
    doc = {"peers": {"floor": peer({"enqueue_one": [100.0, 200.0, 50.0], "enqueue_batch": [1000.0, 1000.0]}),
                     "dmq": peer({"noop:a": [10.0], "enqueue_one": [90.0, 210.0, 80.0],
                                  "enqueue_batch": [500.0, 700.0, 600.0]})},
           "configs": {"floor": one, "dmq": one}}
    rows = {goal: (measured, met) for goal, measured, met in goals(doc)}
    # the verdict is the ratio of the medians (90 / 100); each run's own ratio is shown beside it
    assert rows["enqueue 1-by-1 >= the 1-by-1 floor"] == ("0.90x floor (per run: 0.90, 1.05, 1.60)", False)
    # runs that do not pair up (a failed floor run) show the medians only
    assert rows["batch enqueue >= 0.5x pipelined floor"] == ("0.60x floor", True)


def test_floor_ab_reference_writes_the_records_dmq_writes(redis_url):
    """floor_ab's "redis-py records" measure writes tasks a dmq inspector and worker accept."""
    import floor_ab
    import redis as redis_py

    import dmq_tools as dmq

    redis_py.Redis.from_url(redis_url).flushdb()
    floor_ab.measures(redis_url, 3)["redis-py records"]()
    insp = dmq.Inspector(redis_url)
    pending = insp.list_tasks("default", "pending")
    assert [t.type for t in pending] == ["bench:noop"] * 3
    assert sorted(t.json()["id"] for t in pending) == ["id0", "id1", "id2"]
    enqueued = [e for e in insp.events("default") if e.event == "enqueued"]
    assert sorted(e.task_id for e in enqueued) == sorted(t.id for t in pending)


def test_floor_ab_pairs_every_round(redis_url, tmp_path, monkeypatch, capsys):
    """benchmarks/floor_ab.py runs end to end on a real server and reports one ratio per round."""
    import json

    import floor_ab

    monkeypatch.setattr(floor_ab, "RESULTS", tmp_path / "floor_ab.json")
    assert floor_ab.main(["--rounds", "2", "--n", "30", "--redis-url", redis_url]) == 0
    out = json.loads((tmp_path / "floor_ab.json").read_text())
    assert set(out["rates"]) == {"floor one", "dmq one", "redis-py records", "floor batch", "dmq batch"}
    assert all(len(v) == 2 and min(v) > 0 for v in out["rates"].values())
    assert out["paired_ratio_one"] > 0 and out["paired_ratio_batch"] > 0 and out["paired_ratio_same_records"] > 0
    assert set(out["redis_cpu_us"]) == set(out["rates"]) and min(out["client_cpu_us"].values()) > 0
    assert "dmq / floor" in capsys.readouterr().out
