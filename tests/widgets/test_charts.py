"""charts.py on DataFrames shaped like dmq_tools.export's (no Redis needed)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from matplotlib.figure import Figure

from dmq_tools import charts

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def _throughput_frame(n: int = 10) -> pd.DataFrame:
    times = pd.DatetimeIndex([T0 + timedelta(minutes=i) for i in range(n)], name="time")
    processed = [10 * i for i in range(n)]
    failed = [i % 3 for i in range(n)]
    return pd.DataFrame({"processed": processed, "failed": failed}, index=times)


def test_throughput_draws_succeeded_and_failed_stacked_bars():
    df = _throughput_frame()
    fig = charts.throughput(df)
    (ax,) = fig.axes
    assert [c.get_label() for c in ax.containers] == ["succeeded", "failed"]
    ok = [p.get_height() for p in ax.containers[0]]
    bad = [p.get_height() for p in ax.containers[1]]
    assert [a + b for a, b in zip(ok, bad)] == df["processed"].tolist()
    # the x range ends one bucket after the last start: the current bucket is a whole bar
    assert ax.get_xlim()[1] - ax.get_xlim()[0] == pytest.approx(10 / 1440)
    assert charts.to_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    svg = charts.to_svg(fig)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


def test_throughput_accepts_a_time_column_instead_of_an_index():
    df = _throughput_frame().reset_index()
    fig = charts.throughput(df)
    assert len(fig.axes[0].containers) == 2


def test_failure_rate_is_a_gap_where_nothing_ran():
    df = _throughput_frame(4)  # processed 0,10,20,30 failed 0,1,2,0
    fig = charts.failure_rate(df)
    y = list(fig.axes[0].get_lines()[0].get_ydata())
    assert y[0] != y[0] and y[1:] == pytest.approx([10.0, 10.0, 0.0])  # NaN: no 0 % for idle buckets


def test_failure_rate_uses_an_existing_column():
    df = _throughput_frame(3).assign(failure_rate=[0.5, 0.25, 0.0])
    ydata = charts.failure_rate(df).axes[0].get_lines()[0].get_ydata()
    assert list(ydata)[1:] == pytest.approx([25.0, 0.0])


def test_fit_window_drops_leading_idle_buckets():
    df = _throughput_frame(30)
    df.iloc[:25, 0] = 0
    assert len(charts.fit_window(df, keep=10)) == 10
    assert len(charts.fit_window(_throughput_frame(30))) == 29  # bucket 0 had nothing processed


def test_throughput_by_queue_stacks_the_busiest_queues():
    rows = [{"time": T0 + timedelta(minutes=m), "queue": q, "processed": n, "failed": 0}
            for m in range(3) for q, n in (("critical", 5), ("low", 2), ("default", 0))]
    ax = charts.throughput_by_queue(pd.DataFrame(rows), top=1).axes[0]
    assert [c.get_label() for c in ax.containers] == ["critical", "other"]


def test_latency_distribution_marks_p50_and_p99():
    durations = pd.Series([timedelta(milliseconds=m) for m in range(1, 101)])
    events = pd.DataFrame({"event": ["succeeded"] * 100, "duration": durations})
    ax = charts.latency_distribution(events).axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels[0].startswith("p50 = 50.5") and labels[1].startswith("p99")
    assert sum(p.get_height() for p in ax.patches) == 100


def test_queue_sizes_stacks_states_per_queue():
    df = pd.DataFrame({"queue": ["a", "b"], "pending": [3, 1], "retry": [2, 0], "archived": [1, 4]})
    ax = charts.queue_sizes(df).axes[0]
    tops = {}
    for patch in ax.patches:
        x = round(patch.get_x() + patch.get_width() / 2)
        tops[x] = max(tops.get(x, 0), patch.get_y() + patch.get_height())
    assert tops == {0: 6, 1: 5}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pending", "retry", "archived"]


def test_empty_frames_give_a_placeholder_not_an_error():
    empty = pd.DataFrame({"processed": [], "failed": []})
    for fig in (charts.throughput(empty), charts.failure_rate(empty),
                charts.latency_distribution(pd.Series([], dtype=float)),
                charts.queue_sizes(pd.DataFrame())):
        assert isinstance(fig, Figure)
        assert "no data yet" in [t.get_text() for t in fig.axes[0].texts]


def test_draws_into_a_given_axes():
    fig = Figure()
    ax1, ax2 = fig.subplots(2, 1)
    assert charts.throughput(_throughput_frame(), ax=ax1) is fig
    assert charts.failure_rate(_throughput_frame(), ax=ax2) is fig
    assert len(fig.axes) == 2


def test_daily_history_sums_queues_per_day():
    df = pd.DataFrame({"date": [T0.date(), T0.date(), (T0 + timedelta(days=1)).date()],
                       "queue": ["a", "b", "a"], "processed": [5, 7, 1], "failed": [1, 0, 1]})
    ax = charts.daily_history(df).axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [12, 1, 1, 1]
