"""The Go asynq v0.26 peer of benchmarks/run_peers.py, and dmq's concurrent-producer modes.

Real processes against the session redis-server: the Go program is built with `go build` (skipped
with the reason when Go is absent), dmq's peer script runs with this python. Asserts correctness
only (every task recorded exactly once, every metric produced), never speed.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import go_peer  # noqa: E402
import peer_harness as h  # noqa: E402
import run_peers  # noqa: E402

import dmq_tools as dmq  # noqa: E402


@pytest.fixture(scope="module")
def go_binary(tmp_path_factory) -> Path:
    if go_peer.go_command() is None:
        pytest.skip("go is not installed: the Go asynq peer needs Go >= 1.24")
    return go_peer.ensure_built(log=lambda _msg: None, cache=tmp_path_factory.mktemp("go-peer"))


def _program(binary: Path, url: str, log_dir: Path) -> h.PeerProgram:
    return h.PeerProgram("go", str(binary), url, log_dir, native=True)


def test_go_peer_is_built_once_and_reused(go_binary):
    built_at = go_binary.stat().st_mtime_ns
    assert go_peer.ensure_built(log=lambda _msg: None, cache=go_binary.parent) == go_binary
    assert go_binary.stat().st_mtime_ns == built_at


def test_missing_go_is_a_skip_with_its_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(go_peer, "go_command", lambda: None)
    with pytest.raises(go_peer.GoUnavailable, match="^skipped: go is not installed"):
        go_peer.ensure_built(log=lambda _msg: None, cache=tmp_path)


def test_go_peer_writes_the_task_dmq_reads(go_binary, r, redis_url, tmp_path):
    """The Go peer enqueues the same task as dmq's peer: type, queue and JSON payload."""
    prog = _program(go_binary, redis_url, tmp_path)
    assert prog.info()["modes"] == ["one", "goroutines"]
    assert prog.enqueue(5, "x", "noop", mode="goroutines", producers=3) > 0
    pending = dmq.Inspector(redis_url).list_tasks("default", "pending")
    assert [t.type for t in pending] == ["bench:noop"] * 5
    assert sorted(t.json()["id"] for t in pending) == [f"x{i}" for i in range(5)]


def test_go_peer_quick_run_passes_every_check(go_binary, r, redis_url, tmp_path):
    # one server config, the 2-server config, concurrent producers, and idle pickup (asynq polls
    # once a second when idle, so the few latency samples take a few seconds)
    go = run_peers.PEERS["go"]
    spec = replace(go, noop=go.noop[:1], sleep=None)
    sizes = run_peers.Sizes(runs=1, noop=300, sleep=50, latency=4, gap=0.01, bench_n=0, probe=100,
                            producers=(1, 8))
    result = run_peers.run_peer(r, redis_url, "go", str(go_binary), sizes, tmp_path, spec=spec)
    assert result.failed == {}
    medians = result.medians()
    for metric in ("enqueue_one", "mem_per_task", "noop:1 server c=10", "noop:2 servers c=50",
                   "enqueue_conc:goroutines:1", "enqueue_conc:goroutines:8", "lat_p50", "lat_p99",
                   "rss:1 server c=10"):
        assert medians[metric] > 0, metric
    assert medians["lat_p99"] >= medians["lat_p50"]
    assert r.dbsize() == 0  # every measurement cleans up after itself


def test_go_worker_processes_each_task_exactly_once(go_binary, r, redis_url, tmp_path):
    prog = _program(go_binary, redis_url, tmp_path)
    prog.enqueue(200, "e", "noop", mode="goroutines", producers=10)
    prog.enqueue(20, "s", "sleep", mode="one")
    group = prog.start_workers("c10")
    try:
        h.wait_done(r, 220, timeout=60, group=group)
    finally:
        group.stop()
    expected = {f"e{i}" for i in range(200)} | {f"s{i}" for i in range(20)}
    report = h.check_exactly_once(r, expected, grace=0.2)
    assert report.ok, report.reason
    assert h.throughput(r) > 0 and len(h.latencies_ms(r)) == 220


def test_dmq_concurrent_producers_threads_and_async(r, redis_url, tmp_path):
    """Threads sharing one Client are measured and checked; the AsyncClient row is measured when
    this dmq_tools has AsyncClient and otherwise skipped with the reason."""
    dmq_spec = run_peers.PEERS["dmq"]
    spec = replace(dmq_spec, best=None)
    sizes = run_peers.Sizes(runs=1, noop=200, sleep=10, latency=2, gap=0.01, bench_n=0, probe=100,
                            producers=(1, 4))
    res = run_peers.PeerResult(rates={"enqueue": 500.0, "c=10": 500.0})
    bench = run_peers.Bench(r, h.PeerProgram("dmq", sys.executable, redis_url, tmp_path), spec, sizes, res)
    for mode in ("threads", "async"):
        for k in sizes.producers:
            bench.guarded(f"enqueue_conc:{mode}:{k}", lambda mode=mode, k=k: bench.concurrent(mode, k, 0))
    medians = res.medians()
    assert medians["enqueue_conc:threads:1"] > 0 and medians["enqueue_conc:threads:4"] > 0
    if hasattr(dmq, "AsyncClient"):
        assert medians["enqueue_conc:async:4"] > 0 and "enqueue_conc:async:4" not in res.failed
    else:
        assert res.failed["enqueue_conc:async:4"] == "skipped: this dmq_tools has no AsyncClient"
    assert r.dbsize() == 0
