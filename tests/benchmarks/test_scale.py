"""benchmarks/scale.py end to end at tiny sizes: every figure produced, every task accounted for.

Starts its own redis-server per size (as the benchmark does); the Go comparison runs when Go is
installed and is reported as skipped otherwise. Asserts correctness only, never speed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import go_peer  # noqa: E402
import scale  # noqa: E402


def test_scale_runs_small_sizes_and_accounts_for_every_task(tmp_path):
    chart = tmp_path / "scale.svg"
    assert scale.main(["--sizes", "300,1500", "--m", "400", "--latency", "3", "--out", str(tmp_path),
                       "--chart", str(chart)]) == 0
    doc = json.loads((tmp_path / "scale.json").read_text())
    assert [row["n"] for row in doc["rows"]] == [300, 1500]
    for row in doc["rows"]:
        for key in ("enqueue_one_per_s", "processed_tasks_per_s", "pickup_p50_ms", "page_first_ms",
                    "page_last_ms", "queue_info_ms", "worker_rss_mib"):
            assert row[key] > 0, key
        assert row["pickup_p99_ms"] >= row["pickup_p50_ms"] and row["events_bytes_per_enqueue"] > 0
        # no task lost or run twice: each is either still pending or was recorded once
        assert row["processed_checked"] >= 400
        assert row["pending_after"] + row["processed_checked"] == row["n"] + 400
        mem = row["memory"]
        assert mem["records"] > 0 and mem["events"] > 0
        assert abs(mem["records"] + mem["events"] + mem["other"] - mem["total"]) < 1e-6
        if go_peer.go_command() is None:
            assert row["go"] == {"skipped": "go is not installed"}
        else:
            assert row["go"]["memory"]["records"] > 0 and row["go"]["memory"]["events"] == 0
    md = (tmp_path / "scale.md").read_text()
    assert "| 1,500 |" in md
    assert chart.read_text().lstrip().startswith("<?xml") and "<svg" in chart.read_text()


def test_merge_adds_a_size_measured_once_and_keeps_both_commands():
    old = {"command": "python benchmarks/scale.py --sizes 1000,100000", "date": "d1",
           "rows": [{"n": 1000, "x": 1}, {"n": 100000, "x": 2}]}
    new = {"command": "python benchmarks/scale.py --sizes 100000,10000000", "date": "d2", "m": 20000,
           "rows": [{"n": 10000000, "x": 3}, {"n": 100000, "x": 4}]}
    merged = scale.merge(old, new)
    assert [(row["n"], row["x"]) for row in merged["rows"]] == [(1000, 1), (100000, 4), (10000000, 3)]
    assert merged["rows"][2]["date"] == "d2" and "date" not in merged["rows"][0]
    assert merged["command"] == ("python benchmarks/scale.py --sizes 1000,100000` then "
                                 "`python benchmarks/scale.py --sizes 100000,10000000 --merge")
    assert merged["date"] == "d1; d2" and merged["m"] == 20000
