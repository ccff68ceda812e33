"""asynq's cron dialect (robfig/cron's standard parser), pure: spec string + time -> next fire.

Forms: five fields (minute hour day-of-month month day-of-week, no seconds), the descriptors
`@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`, `@every <Go
duration>` (at least 1 s, truncated to whole seconds), and a `CRON_TZ=<zone> ` or `TZ=<zone> `
prefix. Fields are validated with robfig's rules (bounds, names, steps, `?`); croniter does the
calendar arithmetic. Every returned time is a timezone-aware UTC datetime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterBadDateError

from ..errors import CronSpecError
from .gofmt import parse_duration
from ..clock import utc as UTC

__all__ = ["Schedule", "CronSchedule", "EverySchedule", "parse", "resolve_tz", "tz_name"]


_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTH_NAMES = {n: i + 1 for i, n in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DOW_NAMES = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


@dataclass(frozen=True)
class _Bounds:
    name: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)


_FIELDS = (
    _Bounds("minute", 0, 59),
    _Bounds("hour", 0, 23),
    _Bounds("day of month", 1, 31),
    _Bounds("month", 1, 12, _MONTH_NAMES),
    _Bounds("day of week", 0, 6, _DOW_NAMES),
)


class Schedule(Protocol):
    spec: str

    def next(self, after: datetime) -> datetime:
        """The first fire time strictly after `after` (UTC)."""


def resolve_tz(tz: tzinfo | str | None) -> tzinfo:
    """A tzinfo from a zone name, a tzinfo, or None (UTC)."""
    if tz is None:
        return UTC
    if isinstance(tz, str):
        if tz.upper() in ("UTC", "Z", ""):
            return UTC
        if tz == "Local":
            local = datetime.now().astimezone().tzinfo
            return local or UTC
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CronSpecError(f"unknown time zone {tz!r}") from exc
    return tz


def tz_name(tz: tzinfo) -> str:
    """A stable name for a tzinfo (the IANA key where there is one)."""
    if tz is UTC:
        return "UTC"
    key = getattr(tz, "key", None)
    return str(key) if key else str(tz)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime")
    return when.astimezone(UTC)


@dataclass(frozen=True)
class CronSchedule:
    """A five-field schedule evaluated in `tz`; `expr` is the normalized croniter expression."""

    spec: str
    expr: str
    tz: tzinfo

    def next(self, after: datetime) -> datetime:
        start = _utc(after).replace(microsecond=0).astimezone(self.tz)
        minutes, hours = _values(self.expr, 0), _values(self.expr, 1)
        for _ in range(1000):
            try:
                found = croniter(self.expr, start).get_next(datetime)
            except CroniterBadDateError as exc:
                raise CronSpecError(f"cron spec {self.spec!r} never fires after {after}") from exc
            # A wall time skipped by a DST jump does not fire that day (robfig); croniter
            # would shift it to the first valid time, which then does not match the fields.
            local = found.astimezone(self.tz)
            if local.minute in minutes and local.hour in hours:
                return found.astimezone(UTC)
            start = found
        raise CronSpecError(f"cron spec {self.spec!r}: no valid fire time after {after}")


@dataclass(frozen=True)
class EverySchedule:
    """`@every <d>`: fires every `delay` after the previous fire (robfig ConstantDelaySchedule).

    Unanchored, `next(t)` is `t` truncated to the second plus the delay (asynq: measured from
    registration). Anchored (`anchored(t0)`), the ticks are `t0 + k*delay`, the same for every
    replica that shares the anchor, which is what lets replicas agree on the fire times.
    """

    spec: str
    delay: timedelta
    anchor: datetime | None = None

    def next(self, after: datetime) -> datetime:
        after = _utc(after)
        if self.anchor is None:
            return after.replace(microsecond=0) + self.delay
        if after < self.anchor:
            return self.anchor
        periods = (after - self.anchor) // self.delay + 1
        return self.anchor + periods * self.delay

    def anchored(self, anchor: datetime) -> EverySchedule:
        return EverySchedule(self.spec, self.delay, _utc(anchor).replace(microsecond=0))


def _values(expr: str, index: int) -> frozenset[int]:
    """The allowed values of a normalized field ("*" or a comma list)."""
    text = expr.split()[index]
    if text == "*":
        return frozenset(range(_FIELDS[index].low, _FIELDS[index].high + 1))
    return frozenset(int(v) for v in text.split(","))


def _parse_value(text: str, b: _Bounds, spec: str) -> int:
    lowered = text.lower()
    if lowered in b.names:
        return b.names[lowered]
    if not text.isdigit():
        raise CronSpecError(f"cron spec {spec!r}: bad {b.name} value {text!r}")
    return int(text)


def _parse_range(part: str, b: _Bounds, spec: str) -> tuple[set[int], bool]:
    """One comma item: `*`, `?`, `N`, `N-M`, each optionally `/step`; robfig's rules."""
    range_and_step = part.split("/")
    if len(range_and_step) > 2:
        raise CronSpecError(f"cron spec {spec!r}: too many slashes in {b.name} {part!r}")
    low_high = range_and_step[0].split("-")
    if len(low_high) > 2:
        raise CronSpecError(f"cron spec {spec!r}: too many hyphens in {b.name} {part!r}")
    star = low_high[0] in ("*", "?")
    if star:
        if len(low_high) > 1:
            raise CronSpecError(f"cron spec {spec!r}: bad {b.name} range {part!r}")
        start, end = b.low, b.high
    else:
        start = _parse_value(low_high[0], b, spec)
        end = _parse_value(low_high[1], b, spec) if len(low_high) == 2 else start
    step = 1
    if len(range_and_step) == 2:
        if not range_and_step[1].isdigit() or int(range_and_step[1]) == 0:
            raise CronSpecError(f"cron spec {spec!r}: step of {b.name} {part!r} must be a positive number")
        step = int(range_and_step[1])
        if len(low_high) == 1 and not star:  # "N/step" means "N-max/step"
            end = b.high
        if step > 1:
            star = False
    if start < b.low:
        raise CronSpecError(f"cron spec {spec!r}: {b.name} {start} below minimum {b.low}")
    if end > b.high:
        raise CronSpecError(f"cron spec {spec!r}: {b.name} {end} above maximum {b.high}")
    if start > end:
        raise CronSpecError(f"cron spec {spec!r}: {b.name} range {part!r} starts after it ends")
    return set(range(start, end + 1, step)), star


def _normalize_field(text: str, b: _Bounds, spec: str) -> str:
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise CronSpecError(f"cron spec {spec!r}: empty item in {b.name} {text!r}")
        got, is_star = _parse_range(part, b, spec)
        values |= got
        star = star or is_star
    # robfig's star bit decides day-of-month/day-of-week AND vs OR; croniter keys it on "*".
    return "*" if star else ",".join(str(v) for v in sorted(values))


def _split_tz(spec: str, default_tz: tzinfo) -> tuple[str, tzinfo]:
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        space = spec.find(" ")
        if space < 0:
            raise CronSpecError(f"cron spec {spec!r}: time zone prefix without a schedule")
        zone = spec[spec.index("=") + 1:space]
        try:
            tz = resolve_tz(zone)
        except CronSpecError as exc:
            raise CronSpecError(f"cron spec {spec!r}: unknown time zone {zone!r}") from exc
        return spec[space:].strip(), tz
    return spec, default_tz


def parse(spec: str, default_tz: tzinfo | str | None = None) -> CronSchedule | EverySchedule:
    """Parse an asynq cron spec; raises CronSpecError naming the spec."""
    if not isinstance(spec, str) or not spec.strip():
        raise CronSpecError(f"empty cron spec {spec!r}")
    body, tz = _split_tz(spec.strip(), resolve_tz(default_tz))
    if body.startswith("@"):
        if body.startswith("@every "):
            return _parse_every(spec, body[len("@every "):])
        expr = _DESCRIPTORS.get(body)
        if expr is None:
            raise CronSpecError(f"cron spec {spec!r}: unrecognized descriptor {body!r}")
        return CronSchedule(spec, expr, tz)
    parts = body.split()
    if len(parts) != 5:
        raise CronSpecError(
            f"cron spec {spec!r}: expected exactly 5 fields (minute hour day-of-month month "
            f"day-of-week), found {len(parts)}")
    expr = " ".join(_normalize_field(p, b, spec) for p, b in zip(parts, _FIELDS))
    schedule = CronSchedule(spec, expr, tz)
    schedule.next(datetime(2000, 1, 1, tzinfo=UTC))  # fail now on specs that never fire
    return schedule


def _parse_every(spec: str, text: str) -> EverySchedule:
    try:
        delay = parse_duration(text)
    except ValueError as exc:
        raise CronSpecError(f"cron spec {spec!r}: bad @every duration {text!r}") from exc
    delay = timedelta(seconds=int(delay.total_seconds()))  # truncate to whole seconds
    if delay < timedelta(seconds=1):
        delay = timedelta(seconds=1)  # robfig: at least one second
    return EverySchedule(spec, delay)
