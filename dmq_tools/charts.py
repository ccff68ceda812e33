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
    "failure_rate",
    "latency_distribution",
    "queue_sizes",
    "daily_history",
    "to_png",
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


def throughput(df: pd.DataFrame, ax: Axes | None = None, title: str | None = "Throughput") -> Figure:
    """Processed and failed tasks per bucket (`export.throughput_frame` or `history_frame`)."""
    fig, ax = _axes(ax, (7, 3))
    if df is None or df.empty:
        _empty(ax)
    else:
        times = _time_axis(df)
        ax.plot(times, df["processed"].to_numpy(), label="processed", color=PROCESSED_COLOR,
                drawstyle="steps-mid")
        ax.plot(times, df["failed"].to_numpy(), label="failed", color=FAILED_COLOR,
                drawstyle="steps-mid")
        ax.set_ylabel("tasks per bucket")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", frameon=False)
        ax.grid(alpha=0.3)
        _date_ticks(ax)
    if title:
        ax.set_title(title)
    return fig


def failure_rate(df: pd.DataFrame, ax: Axes | None = None, title: str | None = "Failure rate") -> Figure:
    """failed / processed per bucket, in percent (0 where nothing was processed)."""
    fig, ax = _axes(ax, (7, 2.5))
    if df is None or df.empty:
        _empty(ax)
    else:
        ax.plot(_time_axis(df), (_rate(df) * 100).to_numpy(), label="failure rate",
                color=RATE_COLOR, marker=".")
        ax.set_ylabel("% failed")
        _date_ticks(ax)
        ax.set_ylim(0, max(5.0, float((_rate(df) * 100).max()) * 1.1))
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


def to_png(fig: Figure, dpi: int = 96, **kwargs: Any) -> bytes:
    """PNG bytes of a figure (what the widgets put into `ipywidgets.Image`)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **kwargs)
    return buf.getvalue()
