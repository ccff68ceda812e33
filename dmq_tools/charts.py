"""matplotlib figures from the DataFrames of `dmq_tools.export`.

Every function is a pure function of a DataFrame: it returns a new `Figure` (built without
pyplot, so nothing leaks into pyplot's global figure list and a notebook shows it exactly once)
or draws into the `ax` it is given. Colours come from the tab10 palette, which stays readable on
the light box Jupyter puts behind images in dark themes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from .errors import MissingDependencyError

try:
    import matplotlib.dates as mdates
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("pip install dmq_tools[jupyter]") from exc

__all__ = [
    "throughput",
    "throughput_by_queue",
    "fit_window",
    "failure_rate",
    "latency_distribution",
    "queue_sizes",
    "daily_history",
    "to_png",
    "to_svg",
    "STATE_COLORS",
]

PROCESSED_COLOR = "tab:blue"
FAILED_COLOR = "tab:red"
RATE_COLOR = "tab:orange"
# asynqmon's stacked "Queue Size" chart order, one tab10 colour per state.
STATE_COLORS: dict[str, str] = {
    "active": "tab:blue",
    "pending": "tab:cyan",
    "aggregating": "tab:purple",
    "scheduled": "tab:olive",
    "retry": "tab:orange",
    "archived": "tab:red",
    "completed": "tab:green",
}
_TIME_COLUMNS = ("time", "bucket", "minute", "timestamp", "date")


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _time_axis(df: pd.DataFrame) -> pd.Index:
    """The bucket times: a DatetimeIndex, else the first time-like column."""
    if isinstance(df.index, pd.DatetimeIndex):
        return df.index
    for name in _TIME_COLUMNS:
        if name in df.columns:
            return pd.Index(pd.to_datetime(df[name], utc=True))
    raise ValueError(f"no time index or column ({', '.join(_TIME_COLUMNS)}) in {list(df.columns)}")


def _empty(ax: Axes, text: str = "no data yet") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#9D9D9D")
    ax.set_xticks([])
    ax.set_yticks([])


def _date_ticks(ax: Axes) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _rate(df: pd.DataFrame) -> pd.Series:
    if "failure_rate" in df.columns:
        return df["failure_rate"].astype(float).fillna(0.0)
    processed = df["processed"].astype(float)
    return (df["failed"].astype(float) / processed.where(processed > 0)).fillna(0.0)


def _bucket_width(times: pd.Index) -> pd.Timedelta:
    if len(times) > 1:
        return pd.Series(times).diff().dropna().min()
    return pd.Timedelta(minutes=1)


def fit_window(df: pd.DataFrame, keep: int = 10) -> pd.DataFrame:
    """Drop the leading buckets with nothing processed, keeping at least `keep` buckets, so an
    hour-long window over five busy minutes does not draw 55 empty ones."""
    if df is None or df.empty or "processed" not in df.columns:
        return df
    busy = (df["processed"].to_numpy() > 0).nonzero()[0]
    if len(busy) == 0:
        return df
    start = max(0, min(int(busy[0]), len(df) - keep))
    return df.iloc[start:]


def throughput(df: pd.DataFrame, ax: Axes | None = None, title: str | None = "Throughput") -> Figure:
    """Succeeded and failed tasks per bucket as stacked bars (`export.throughput_frame` or
    `history_frame`): an idle bucket is a gap, the current bucket is a full-width bar."""
    fig, ax = _axes(ax, (7, 3))
    if df is None or df.empty:
        _empty(ax)
    else:
        times = _time_axis(df)
        width = _bucket_width(times)
        failed = df["failed"].to_numpy()
        ok = (df["processed"].to_numpy() - failed).clip(min=0)
        x = (times + width / 2).to_pydatetime() if hasattr(times, "to_pydatetime") else times
        ax.bar(x, ok, width=width * 0.85, color=PROCESSED_COLOR, label="succeeded")
        ax.bar(x, failed, width=width * 0.85, bottom=ok, color=FAILED_COLOR, label="failed")
        ax.set_xlim(times[0], times[-1] + width)
        ax.set_ylabel("tasks per bucket")
        ax.set_ylim(0, max(float((ok + failed).max()) * 1.1, 1.0))
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False, fontsize="small")
        ax.grid(alpha=0.3, axis="y")
        _date_ticks(ax)
    if title:
        ax.set_title(title, loc="left", fontsize="medium")
    return fig


def throughput_by_queue(df: pd.DataFrame, ax: Axes | None = None, top: int = 8,
                        title: str | None = "Processed per queue") -> Figure:
    """Processed per bucket stacked by queue (`throughput_frame(..., by_queue=True)`); the
    `top` busiest queues get their own colour, the rest are summed as "other"."""
    fig, ax = _axes(ax, (7, 3))
    if df is None or df.empty or "queue" not in df.columns or not df["processed"].sum():
        _empty(ax)
    else:
        wide = df.pivot_table(index="time", columns="queue", values="processed", aggfunc="sum",
                              fill_value=0, observed=True)
        wide = wide.loc[:, wide.sum() > 0]
        busy = (wide.sum(axis=1).to_numpy() > 0).nonzero()[0]
        wide = wide.iloc[max(0, min(int(busy[0]), len(wide) - 10)):]  # the window fits the data
        order = wide.sum().sort_values(ascending=False).index.tolist()
        if len(order) > top:
            wide["other"] = wide[order[top:]].sum(axis=1)
            order = order[:top] + ["other"]
        wide = wide[order]
        times = pd.DatetimeIndex(wide.index)
        width = _bucket_width(times)
        bottom = None
        for i, q in enumerate(order):
            vals = wide[q].to_numpy()
            ax.bar((times + width / 2).to_pydatetime(), vals, width=width * 0.85, bottom=bottom,
                   label=str(q), color=f"C{i % 10}")
            bottom = vals if bottom is None else bottom + vals
        ax.set_xlim(times[0], times[-1] + width)
        ax.set_ylim(0, max(float(wide.sum(axis=1).max()) * 1.1, 1.0))
        ax.set_ylabel("processed per bucket")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
        ax.grid(alpha=0.3, axis="y")
        _date_ticks(ax)
    if title:
        ax.set_title(title, loc="left", fontsize="medium")
    return fig


def failure_rate(df: pd.DataFrame, ax: Axes | None = None, title: str | None = "Failure rate") -> Figure:
    """failed / processed per bucket, in percent; buckets where nothing ran are gaps, not 0 %."""
    fig, ax = _axes(ax, (7, 2.5))
    if df is None or df.empty:
        _empty(ax)
    else:
        times = _time_axis(df)
        width = _bucket_width(times)
        if "failure_rate" in df.columns:
            rate = df["failure_rate"].astype(float)
            if "processed" in df.columns:
                rate = rate.where(df["processed"].to_numpy() > 0)
        else:
            processed = df["processed"].astype(float)
            rate = df["failed"].astype(float) / processed.where(processed > 0)
        pct = (rate * 100).to_numpy()
        ax.plot((times + width / 2).to_pydatetime(), pct, label="failure rate", color=RATE_COLOR, marker=".")
        ax.set_xlim(times[0], times[-1] + width)
        ax.set_ylabel("% failed")
        _date_ticks(ax)
        finite = pd.Series(pct).dropna()
        ax.set_ylim(0, max(5.0, float(finite.max()) * 1.1) if len(finite) else 5.0)
        ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def _durations_ms(data: pd.DataFrame | pd.Series, column: str) -> pd.Series:
    series = data[column] if isinstance(data, pd.DataFrame) else data
    series = series.dropna()
    if pd.api.types.is_timedelta64_dtype(series):
        return series.dt.total_seconds() * 1000.0
    return series.astype(float)


def latency_distribution(
    data: pd.DataFrame | pd.Series,
    ax: Axes | None = None,
    column: str = "duration",
    bins: int = 30,
    title: str | None = "Task duration",
) -> Figure:
    """Histogram of durations in ms (the `duration` column of `export.events_frame`, or a Series).

    Only rows that carry a duration count (finished tasks); p50 and p99 are marked.
    """
    fig, ax = _axes(ax, (6, 3))
    values = _durations_ms(data, column) if data is not None and len(data) else pd.Series([], dtype=float)
    if values.empty:
        _empty(ax)
    else:
        ax.hist(values.to_numpy(), bins=bins, color=PROCESSED_COLOR, alpha=0.8)
        for q, style in ((0.5, "--"), (0.99, ":")):
            v = float(values.quantile(q))
            ax.axvline(v, color=FAILED_COLOR, linestyle=style, label=f"p{int(q * 100)} = {v:.1f} ms")
        ax.set_xlabel("ms")
        ax.set_ylabel("tasks")
        ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    return fig


def queue_sizes(
    df: pd.DataFrame,
    ax: Axes | None = None,
    states: Sequence[str] | None = None,
    title: str | None = "Queue size by state",
) -> Figure:
    """Stacked bars, one per queue, of the task counts by state (`export.queues_frame`)."""
    fig, ax = _axes(ax, (7, 3))
    if df is None or df.empty:
        _empty(ax)
        if title:
            ax.set_title(title)
        return fig
    names = df["queue"].astype(str).tolist() if "queue" in df.columns else [str(i) for i in df.index]
    wanted = [s for s in (states or STATE_COLORS) if s in df.columns]
    bottom = [0.0] * len(names)
    for state in wanted:
        values = df[state].astype(float).tolist()
        ax.bar(names, values, bottom=bottom, label=state, color=STATE_COLORS.get(state))
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("tasks")
    ax.legend(loc="upper right", frameon=False, fontsize="small")
    if len(names) > 6:
        ax.tick_params(axis="x", labelrotation=45)
    if title:
        ax.set_title(title)
    return fig


def daily_history(df: pd.DataFrame, ax: Axes | None = None, title: str | None = "Daily history") -> Figure:
    """Processed and failed per day, summed over queues (`export.history_frame`)."""
    if df is None or df.empty:
        return throughput(df, ax=ax, title=title)
    column = "date" if "date" in df.columns else None
    frame = df.groupby(column)[["processed", "failed"]].sum() if column else df
    frame.index = pd.to_datetime(frame.index, utc=True)
    fig, ax = _axes(ax, (7, 3))
    ax.bar(frame.index, frame["processed"], color=PROCESSED_COLOR, label="processed", width=0.8)
    ax.bar(frame.index, frame["failed"], color=FAILED_COLOR, label="failed", width=0.5)
    ax.legend(frameon=False)
    ax.set_ylabel("tasks per day")
    if title:
        ax.set_title(title)
    return fig


def to_svg(fig: Figure, **kwargs: Any) -> str:
    """SVG text of a figure: crisp at any zoom (what the Charts tab shows)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, selectable
        fig.savefig(buf, format="svg", **kwargs)
    text = buf.getvalue()
    return text[text.find("<svg"):]  # drop the XML prolog and DOCTYPE: it is inlined in HTML


def to_png(fig: Figure, dpi: int = 96, **kwargs: Any) -> bytes:
    """PNG bytes of a figure (what the widgets put into `ipywidgets.Image`)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **kwargs)
    return buf.getvalue()
