"""Render the peers.json document as markdown tables (results/peers.md, README section)."""

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
        if notes is not None:
            notes.append(f"{peer['title']} {metric}: {reason}")
            return f"failed [{len(notes)}]"
        return "failed"
    return _num(peer["medians"].get(metric), digits)


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
        f"Python {m['python']}; load average {m['loadavg_start']:.2f} at start, {m['loadavg_end']:.2f} at end "
        "(the box is shared: expect noise).",
        f"Medians of {sizes['runs']} run(s); no-op batches of {sizes['noop']:,} tasks, 1 ms sleeping tasks "
        f"{sizes['sleep']:,}, {sizes['latency']} latency samples {sizes['gap'] * 1000:.0f} ms apart; a peer "
        f"too slow to enqueue or process that many in ~{sizes.get('budget', 0):g} s gets fewer (counts below). "
        "Every figure passed the exactly-once check (each task recorded once, none missing).",
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
        out += ["", "Failures:", *[f"{i}. {text}" for i, text in enumerate(notes, 1)]]
    return "\n".join(out) + "\n"
