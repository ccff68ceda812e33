"""Render the peers.json document as markdown tables (results/peers.md, README section).

`python benchmarks/peer_report.py [peers.json]` re-renders peers.md from the JSON.
"""

from __future__ import annotations

from typing import Any


def _num(v: float | None, digits: int = 0) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def _cell(peer: dict[str, Any], metric: str, digits: int = 0, notes: list[str] | None = None) -> str:
    failed = peer["failed"]
    reason = failed.get(metric) or failed.get("install")
    if reason:
        word = "skipped" if reason.startswith("skipped") else "failed"
        if notes is not None:
            whole = "install" in failed or word == "skipped"  # a reason shared by many cells: one note
            text = f"{peer['title']}: {reason}" if whole else f"{peer['title']} {metric}: {reason}"
            if text not in notes:
                notes.append(text)
            return f"{word} [{notes.index(text) + 1}]"
        return word
    return _num(peer["medians"].get(metric), digits)


def _one_process(doc: dict[str, Any], name: str) -> float | None:
    p, cfg = doc["peers"][name], doc["configs"][name]
    values = [p["medians"].get(f"noop:{label}") for label in cfg["one_process"]]
    values = [v for v in values if v is not None]
    return max(values) if values else None


#: Not one of the Python peers issue 6's targets compare against.
NOT_PYTHON_PEERS = ("dmq", "floor", "go")
Row = tuple[str, str, "bool | None"]


def per_run(doc: dict[str, Any], a: tuple[str, str], b: tuple[str, str]) -> list[float]:
    """Each run's own ratio of peer a's metric to peer b's, when every run has both (else [])."""
    ours = doc["peers"][a[0]]["samples"].get(a[1], [])
    theirs = doc["peers"].get(b[0], {}).get("samples", {}).get(b[1], [])
    if len(ours) == len(theirs) > 1 and all(theirs):  # runs pair up only when neither side failed one
        return [x / y for x, y in zip(ours, theirs)]
    return []


def _with_runs(shown: str, ratios: list[float]) -> str:
    return shown + (" (per run: " + ", ".join(f"{x:.2f}" for x in ratios) + ")" if ratios else "")


def goals(doc: dict[str, Any]) -> list[Row]:
    """Issue 6's targets for dmq_tools, as (goal, measured ratio, met?) rows; None = not measurable."""
    peers = doc["peers"]
    if "dmq" not in peers:
        return []
    med = {n: p["medians"] for n, p in peers.items()}
    others = [n for n in peers if n not in NOT_PYTHON_PEERS]
    dmq, floor, rq = med["dmq"], med.get("floor", {}), med.get("rq", {})
    rows: list[tuple[str, str, bool | None]] = []

    def ratio(goal: str, a: float | None, b: float | None, target: float, label: str, paired: str = "") -> None:
        """The verdict compares the medians; with `paired` (a metric measured for dmq and the
        floor in every run) each run's own ratio is shown too, to show how far the box moved."""
        if a is None or not b:
            rows.append((goal, "not measured", None))
            return
        runs = per_run(doc, ("dmq", paired), ("floor", paired)) if paired else []
        rows.append((goal, _with_runs(f"{a / b:.2f}x {label}", runs), a / b >= target))

    best_peer = max((v for n in others if (v := _one_process(doc, n)) is not None), default=None)
    ratio("no-op, 1 process >= 2x the fastest peer's", _one_process(doc, "dmq"), best_peer, 2, "fastest peer")
    ratio("batch enqueue >= 3x RQ enqueue_many", dmq.get("enqueue_batch"), rq.get("enqueue_batch"), 3, "RQ")
    ratio("batch enqueue >= 0.5x pipelined floor", dmq.get("enqueue_batch"), floor.get("enqueue_batch"), 0.5,
          "floor", "enqueue_batch")
    best_enq = max((med[n].get("enqueue_one", 0.0) for n in others), default=0.0)
    ratio("enqueue 1-by-1 faster than every peer", dmq.get("enqueue_one"), best_enq, 1.0000001, "fastest peer")
    ratio("enqueue 1-by-1 >= the 1-by-1 floor", dmq.get("enqueue_one"), floor.get("enqueue_one"), 1, "floor",
          "enqueue_one")
    lat = dmq.get("lat_p50")
    best_lat = min((med[n]["lat_p50"] for n in others if "lat_p50" in med[n]), default=None)
    if lat is None or best_lat is None:
        rows.append(("idle pickup p50 lowest of all peers", "not measured", None))
    else:
        rows.append(("idle pickup p50 lowest of all peers", f"{lat:.2f} ms vs best peer {best_lat:.2f} ms",
                     lat < best_lat))
    rows.append(("idle pickup p50 < 0.8 ms", "not measured" if lat is None else f"{lat:.2f} ms",
                 None if lat is None else lat < 0.8))
    return rows


def go_goals(doc: dict[str, Any]) -> list[Row]:
    """Issue 19's goals for dmq_tools against Go asynq v0.26 in the same run, as goals() rows."""
    peers, configs = doc["peers"], doc["configs"]
    if "dmq" not in peers or "go" not in peers:
        return []
    dmq, go = peers["dmq"]["medians"], peers["go"]["medians"]
    rows: list[Row] = []

    def ratio_row(goal: str, a: float | None, b: float | None, target: float, label: str,
                  runs: list[float], extra: str = "") -> None:
        if a is None or not b:
            rows.append((goal, "not measured", None))
        else:
            rows.append((goal, _with_runs(f"{a / b:.2f}x {label}", runs) + extra, a / b >= target))

    go_one = configs["go"]["one_process"]
    dmq_first = configs["dmq"]["one_process"][0]
    go_fastest = _one_process(doc, "go")
    extra = ""
    if go_fastest and len(go_one) > 1 and _one_process(doc, "dmq"):
        fastest = max((lbl for lbl in go_one if f"noop:{lbl}" in go), key=lambda lbl: go[f"noop:{lbl}"])
        if fastest != go_one[0]:
            extra = f"; {_one_process(doc, 'dmq') / go_fastest:.2f}x Go's fastest one server ({fastest})"
    ratio_row(f"no-op, 1 worker process >= 3x Go's one server ({go_one[0]})", _one_process(doc, "dmq"),
              go.get(f"noop:{go_one[0]}"), 3, "Go",
              per_run(doc, ("dmq", f"noop:{dmq_first}"), ("go", f"noop:{go_one[0]}")), extra)

    k = max(doc["sizes"].get("producers") or [100])
    go_modes = [m for m, _ in configs["go"].get("producers", [])]
    theirs = go.get(f"enqueue_conc:{go_modes[0]}:{k}") if go_modes else None
    goal = f"enqueue, {k} concurrent producers >= 1.0x Go's goroutines"
    ours = {m: dmq.get(f"enqueue_conc:{m}:{k}") for m, _ in configs["dmq"].get("producers", [])}
    measured = {m: v for m, v in ours.items() if v is not None}
    if not theirs or not measured:
        rows.append((goal, "not measured", None))
    else:
        parts = [f"{m} {v / theirs:.2f}x Go" if v is not None else f"{m} not measured" for m, v in ours.items()]
        rows.append((goal, ", ".join(parts), max(measured.values()) / theirs >= 1.0))

    ratio_row("enqueue 1-by-1, one thread >= 0.9x Go", dmq.get("enqueue_one"), go.get("enqueue_one"), 0.9, "Go",
              per_run(doc, ("dmq", "enqueue_one"), ("go", "enqueue_one")))

    p50, p99 = dmq.get("lat_p50"), dmq.get("lat_p99")
    goal = "idle pickup p50 < 1 ms and p99 < 3 ms"
    if p50 is None or p99 is None:
        rows.append((goal, "not measured", None))
    else:
        shown = f"{p50:.2f} / {p99:.2f} ms"
        if "lat_p50" in go and "lat_p99" in go:
            shown += f" (Go {go['lat_p50']:,.0f} / {go['lat_p99']:,.0f} ms)"
        rows.append((goal, shown, p50 < 1 and p99 < 3))
    return rows


def _verdicts(title: str, rows: list[Row], first: str = "goal") -> list[str]:
    out = ["", title, "", f"| {first} | measured | met |", "|---|---|---|"]
    return out + [f"| {goal} | {measured} | {'-' if met is None else ('yes' if met else 'NO')} |"
                  for goal, measured, met in rows]


def producers_table(doc: dict[str, Any], notes: list[str]) -> list[str]:
    """Enqueue rates with 1/10/100 producers sharing one client, for the peers that measure it."""
    counts = doc["sizes"].get("producers") or []
    rows = [(name, mode, label) for name, cfg in doc["configs"].items() for mode, label in cfg.get("producers", [])]
    if not rows or not counts:
        return []
    out = ["", "Enqueue with concurrent producers sharing one client (one call per task, tasks/s; "
           "the tasks are then run and pass the exactly-once check):", "",
           "| peer | producers | " + " | ".join(f"{k}" for k in counts) + " |",
           "|---|---|" + "---:|" * len(counts)]
    for name, mode, label in rows:
        p = doc["peers"][name]
        cells = [_cell(p, f"enqueue_conc:{mode}:{k}", 0, notes) for k in counts]
        out.append(f"| {p['title']} | {label} | " + " | ".join(cells) + " |")
    return out


def render_markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    sizes = doc["sizes"]
    peers: dict[str, dict[str, Any]] = doc["peers"]
    configs: dict[str, dict[str, Any]] = doc["configs"]
    notes: list[str] = []
    out = [
        f"Command: `{doc['command']}` ({doc['date']}, {doc['seconds']['bench']} s of benchmarking)",
        "",
        f"Machine: {m['nproc']} cores, {m['cpu']}; Redis {m['redis_version']} (no persistence, 127.0.0.1); "
        f"floor worker: {m.get('floor_blmpop', 'native BLMPOP')}; Python {m['python']}; "
        f"load average {m['loadavg_start']:.2f} at start, {m['loadavg_end']:.2f} at end "
        "(the box is shared: expect noise).",
        f"Medians of {sizes['runs']} run(s); no-op batches of {sizes['noop']:,} tasks, 1 ms sleeping tasks "
        f"{sizes['sleep']:,}, {sizes['latency']} latency samples {sizes['gap'] * 1000:.0f} ms apart; a peer "
        f"too slow to enqueue or process that many in ~{sizes.get('budget', 0):g} s gets fewer (counts below). "
        "Every number shown passed the exactly-once check (each task recorded once, none missing); a cell "
        "marked failed did not, and its note says how.",
        "",
        "| peer | enqueue 1-by-1 /s | batch enqueue /s | no-op, 1 process /s | no-op, best on 2 cores /s "
        "| 1 ms sleep, c=10 /s | idle pickup p50 / p99 ms | worker RSS MiB | Redis bytes / pending task |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, p in peers.items():
        cfg = configs[name]
        one = [p["medians"].get(f"noop:{label}") for label in cfg["one_process"]]
        one_ok = [v for v in one if v is not None]
        one_cell = _num(max(one_ok)) if one_ok else _cell(p, f"noop:{cfg['one_process'][0]}", 0, notes)
        best_cell = _cell(p, f"noop:{cfg['best']}", 0, notes) if cfg["best"] else "-"
        batch_cell = _cell(p, "enqueue_batch", 0, notes) if "enqueue_batch" in p["samples"] or \
            "enqueue_batch" in p["failed"] else "-"
        lat = (f"{_cell(p, 'lat_p50', 2, notes)} / {_cell(p, 'lat_p99', 2)}")
        rss = _cell(p, f"rss:{cfg['one_process'][0]}", 0)
        out.append(f"| {p['title']} | {_cell(p, 'enqueue_one', 0, notes)} | {batch_cell} | {one_cell} | {best_cell} "
                   f"| {_cell(p, 'sleep', 0, notes) if cfg['sleep'] else '-'} | {lat} | {rss} "
                   f"| {_cell(p, 'mem_per_task', 0)} |")
    out += ["", "No-op throughput by worker configuration:", "",
            "| peer | configuration | tasks/s | tasks per run | worker RSS MiB |", "|---|---|---:|---:|---:|"]
    for name, p in peers.items():
        cfg = configs[name]
        for label in [*cfg["one_process"], *([cfg["best"]] if cfg["best"] else [])]:
            out.append(f"| {p['title']} | {label} | {_cell(p, f'noop:{label}', 0, notes)} "
                       f"| {_cell(p, f'n:noop:{label}', 0)} | {_cell(p, f'rss:{label}', 0)} |")
    out += producers_table(doc, notes)
    goal_rows = goals(doc)
    if goal_rows:
        out += _verdicts("dmq_tools against issue 6's targets (Python peers, same run):", goal_rows, "target")
    go_rows = go_goals(doc)
    if go_rows:
        runs = sizes["runs"]
        out += _verdicts(f"dmq_tools against issue 19's goals (Go asynq v0.26, same run, medians of {runs} "
                         "interleaved run(s)):", go_rows)
        if runs < 3:
            out.append(f"\nOnly {runs} run(s): indicative; the goals are judged on medians of at least 3.")
    limits = doc.get("redis_benchmark") or {}
    if limits:
        out += ["", "The server's limits (redis-benchmark, 50 clients, requests/s):", "",
                "| command | not pipelined | pipelined -P 16 |", "|---|---:|---:|"]
        for cmd in ("SET", "LPUSH", "RPOP"):
            out.append(f"| {cmd} | {_num(limits.get(f'{cmd} P1'))} | {_num(limits.get(f'{cmd} P16'))} |")
    peer_notes = [f"- {p['title']}: {p['note']}" for p in peers.values() if p.get("note")]
    if peer_notes:
        out += ["", "Notes:", *peer_notes]
    if notes:
        out += ["", "Failed or skipped:", *[f"{i}. {text}" for i, text in enumerate(notes, 1)]]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # re-render: python benchmarks/peer_report.py [results/peers.json]
    import json
    import sys
    from pathlib import Path

    src = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results" / "peers.json")
    md = render_markdown(json.loads(src.read_text()))
    src.with_suffix(".md").write_text(md)
    print(md)
