"""Hand-built SVG: sparklines, the stacked queue-size chart, bar series with gaps. Pure strings.

Vectors stay crisp at any zoom and need no matplotlib round trip (a PNG per refresh is slow and
soft). Colours: asynqmon's state order with colour-blind-safe hues readable on light and dark.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

__all__ = ["STATE_COLORS", "sparkline", "stacked_bars", "legend", "bar_series"]

STATE_COLORS: dict[str, str] = {
    "active": "#1f77b4", "pending": "#17becf", "aggregating": "#9467bd", "scheduled": "#bcbd22",
    "retry": "#ff7f0e", "archived": "#d62728", "completed": "#2ca02c",
}
PROCESSED = "#1f77b4"
FAILED = "#d62728"
_TEXT = "var(--jp-ui-font-color2, #777)"


def sparkline(ok: Sequence[int], failed: Sequence[int] | None = None, width: int = 84,
              height: int = 20, title: str = "") -> str:
    """Tiny bars per minute: processed (blue) with failed (red) on top; empty minutes are gaps."""
    n = len(ok)
    if n == 0:
        return ""
    failed = list(failed or [0] * n)
    top = max((a + b for a, b in zip(ok, failed)), default=0) or 1
    w = width / n
    parts = []
    for i, (a, b) in enumerate(zip(ok, failed)):
        x = i * w
        if a:
            h = max(1.0, a / top * (height - 1))
            parts.append(f"<rect x='{x:.1f}' y='{height - h:.1f}' width='{max(w - 1, 1):.1f}' height='{h:.1f}' fill='{PROCESSED}'/>")
        if b:
            hb = max(1.0, b / top * (height - 1))
            y = height - (a / top * (height - 1) if a else 0) - hb
            parts.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{max(w - 1, 1):.1f}' height='{hb:.1f}' fill='{FAILED}'/>")
    base = f"<line x1='0' y1='{height - 0.5}' x2='{width}' y2='{height - 0.5}' stroke='{_TEXT}' stroke-width='0.5' opacity='.5'/>"
    tip = f"<title>{html.escape(title)}</title>" if title else ""
    return (f"<svg class='dmq-spark' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"xmlns='http://www.w3.org/2000/svg'>{tip}{base}{''.join(parts)}</svg>")


def legend(colors: Mapping[str, str], present: Sequence[str]) -> str:
    items = "".join(
        f"<span class='dmq-legend-item'><span class='dmq-swatch' style='background:{colors[k]}'></span>{html.escape(k)}</span>"
        for k in present)
    return f"<div class='dmq-legend'>{items}</div>"


def stacked_bars(rows: Sequence[tuple[str, Mapping[str, int]]], width: int = 560, bar: int = 16,
                 label_width: int = 130) -> str:
    """Horizontal bars, one per queue, stacked by state (asynqmon's "Queue Size")."""
    if not rows:
        return ""
    top = max((sum(c.values()) for _, c in rows), default=0) or 1
    plot = width - label_width - 60
    height = len(rows) * (bar + 6) + 4
    parts = []
    for i, (name, counts) in enumerate(rows):
        y = 2 + i * (bar + 6)
        label = name if len(name) <= 18 else name[:17] + "…"
        parts.append(f"<text x='{label_width - 6}' y='{y + bar - 4}' text-anchor='end' class='dmq-svg-label'>"
                     f"{html.escape(label)}<title>{html.escape(name)}</title></text>")
        x = float(label_width)
        total = 0
        for state, color in STATE_COLORS.items():
            v = int(counts.get(state, 0))
            if not v:
                continue
            w = max(v / top * plot, 1.5)
            parts.append(f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{bar}' fill='{color}'>"
                         f"<title>{html.escape(name)} · {state}: {v:,}</title></rect>")
            x += w
            total += v
        parts.append(f"<text x='{x + 4:.1f}' y='{y + bar - 4}' class='dmq-svg-num'>{total:,}</text>")
    return (f"<svg class='dmq-stacked' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"xmlns='http://www.w3.org/2000/svg'>{''.join(parts)}</svg>")


def bar_series(labels: Sequence[str], ok: Sequence[int], failed: Sequence[int], width: int = 620,
               height: int = 150, title: str = "") -> str:
    """Vertical bars per bucket (processed with failed stacked on top), a gap for empty buckets,
    y-axis ticks and first/middle/last time labels."""
    n = len(labels)
    if n == 0:
        return "<p class='dmq-muted'>no data yet</p>"
    left, bottom, topm = 40, 18, 14
    plot_w, plot_h = width - left - 6, height - bottom - topm
    top = max((a + b for a, b in zip(ok, failed)), default=0) or 1
    w = plot_w / n
    parts = [f"<text x='{left}' y='10' class='dmq-svg-title'>{html.escape(title)}</text>"] if title else []
    for frac in (0, 0.5, 1):
        y = topm + plot_h * (1 - frac)
        parts.append(f"<line x1='{left}' x2='{width - 6}' y1='{y:.1f}' y2='{y:.1f}' stroke='{_TEXT}' "
                     f"stroke-width='0.5' opacity='.4'/>")
        parts.append(f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end' class='dmq-svg-num'>"
                     f"{_tick(top * frac)}</text>")
    for i, (a, b) in enumerate(zip(ok, failed)):
        x = left + i * w + (0.5 if w > 3 else 0)
        bw = max(w - (1.5 if w > 3 else 0.3), 0.6)
        ha = a / top * plot_h
        hb = b / top * plot_h
        tip = f"<title>{html.escape(labels[i])}: {a} ok, {b} failed</title>"
        if a:
            parts.append(f"<rect x='{x:.1f}' y='{topm + plot_h - ha:.1f}' width='{bw:.1f}' height='{ha:.1f}' fill='{PROCESSED}'>{tip}</rect>")
        if b:
            parts.append(f"<rect x='{x:.1f}' y='{topm + plot_h - ha - hb:.1f}' width='{bw:.1f}' height='{hb:.1f}' fill='{FAILED}'>{tip}</rect>")
    for i in sorted({0, n // 2, n - 1}):
        anchor = "start" if i == 0 else ("end" if i == n - 1 else "middle")
        x = left + i * w + (w / 2 if anchor == "middle" else (w if anchor == "end" else 0))
        parts.append(f"<text x='{x:.1f}' y='{height - 4}' text-anchor='{anchor}' class='dmq-svg-num'>"
                     f"{html.escape(labels[i])}</text>")
    return (f"<svg class='dmq-bars' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"xmlns='http://www.w3.org/2000/svg'>{''.join(parts)}</svg>")


def _tick(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.1f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"
