"""The chart of benchmarks/scale.py's results (docs/scale.svg): one panel per cost, x = pending tasks.

    python benchmarks/scale_chart.py [results/scale.json] [docs/scale.svg]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def write_chart(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "dmq-scale"  # stable ids: the SVG changes only when the data does
    rows = doc["rows"]
    ns = [row["n"] for row in rows]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    panels: list[tuple[str, str, list[tuple[str, list[float | None]]]]] = [
        ("Throughput", "tasks/s", [
            ("no-op, 1 worker process (c=10)", [row["processed_tasks_per_s"] for row in rows]),
            ("enqueue one by one", [row["enqueue_one_per_s"] for row in rows])]),
        ("Idle pickup on another queue", "ms", [
            ("p50", [row["pickup_p50_ms"] for row in rows]),
            ("p99", [row["pickup_p99_ms"] for row in rows])]),
        ("Inspector", "ms", [
            ("page 1 of 30", [row["page_first_ms"] for row in rows]),
            ("last page", [row["page_last_ms"] for row in rows]),
            ("get_queue_info", [row["queue_info_ms"] for row in rows])]),
        ("Redis memory per pending task", "bytes", [
            ("dmq, all", [row["memory"]["total"] for row in rows]),
            ("dmq, task records", [row["memory"]["records"] for row in rows]),
            ("asynq (Go), all", [row["go"]["memory"]["total"] if "memory" in row["go"] else None for row in rows]),
            ("dmq, events stream", [row["memory"]["events"] for row in rows])]),
        ("Redis memory in all", "MiB", [
            ("dmq", [row["memory"]["total"] * row["n"] / 2**20 for row in rows]),
            ("asynq (Go)", [row["go"]["memory"]["total"] * row["n"] / 2**20 if "memory" in row["go"] else None
                            for row in rows])]),
        ("Worker RSS", "MiB", [("1 worker process", [row["worker_rss_mib"] for row in rows])]),
    ]
    for ax, (title, unit, series) in zip(axes.flat, panels):
        for label, values in series:
            points = [(n, v) for n, v in zip(ns, values) if v is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=label)
        ax.set_xscale("log")
        if title == "Redis memory in all":
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.set_title(title)
        ax.set_xlabel("pending tasks")
        ax.set_ylabel(unit)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"dmq_tools as the backlog grows (benchmarks/scale.py, {doc['date']})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "results" / "scale.json"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else here.parent / "docs" / "scale.svg"
    write_chart(json.loads(src.read_text()), dst)
    print(dst)
