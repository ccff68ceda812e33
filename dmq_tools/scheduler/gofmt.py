"""Go's text formats that asynq's tools parse back: durations, `time.UnixDate`, `%q` quoting.

asynq stores each enqueue option of a scheduler entry as Go's `Option.String()`
(asynq-protocol.md §8.1, trap T17); its CLI and asynqmon parse them with `time.ParseDuration`
and `time.Parse(time.UnixDate, ...)`, and silently drop what they cannot parse. Pure stdlib.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from collections.abc import Callable
from typing import Any

__all__ = [
    "format_duration", "parse_duration", "format_unix_date", "go_quote", "option_strings",
]

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_PART = re.compile(r"(\d*)(?:\.(\d*))?([a-z\u00b5\u03bc]+)")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _frac(v: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of v/10**prec without trailing zeros, and v // 10**prec."""
    digits: list[str] = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    if not printed:
        return "", v
    return "." + "".join(reversed(digits)), v


def format_duration(d: timedelta | int | float) -> str:
    """Go's `Duration.String()`: `1h0m0s`, `30m0s`, `1.5s`, `500ms`, `0s` (timedelta or seconds)."""
    if isinstance(d, timedelta):
        ns = (d.days * 86400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000
    else:
        ns = int(round(float(d) * 1_000_000_000))
    if ns == 0:
        return "0s"
    sign, u = ("-", -ns) if ns < 0 else ("", ns)
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        prec, unit = (3, "\u00b5s") if u < 1_000_000 else (6, "ms")
        frac, whole = _frac(u, prec)
        return f"{sign}{whole}{frac}{unit}"
    frac, secs = _frac(u, 9)
    out = f"{secs % 60}{frac}s"
    mins = secs // 60
    if mins:
        out = f"{mins % 60}m{out}"
        hours = mins // 60
        if hours:
            out = f"{hours}h{out}"
    return sign + out


def parse_duration(text: str) -> timedelta:
    """Go's `time.ParseDuration` (`1h30m`, `30s`, `1.5h`, `-2m`, `0`); ValueError if malformed."""
    s = text
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    sign = 1
    if s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return timedelta(0)
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total_ns = 0.0
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"invalid duration {text!r}")
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise ValueError(f"invalid duration {text!r}")
        if unit not in _UNITS_NS:
            raise ValueError(f"unknown unit {unit!r} in duration {text!r}")
        value = float(f"{whole or 0}.{frac or 0}")
        total_ns += value * _UNITS_NS[unit]
        pos = m.end()
    return timedelta(microseconds=sign * round(total_ns / 1000))


def format_unix_date(when: datetime) -> str:
    """Go's `time.UnixDate` layout (`Mon Jan _2 15:04:05 MST 2006`), written in UTC."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime")
    t = when.astimezone(timezone.utc)
    return (f"{_WEEKDAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:2d} "
            f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} UTC {t.year}")


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(s: str) -> str:
    """Go's `%q` / `strconv.Quote`: printable runes kept, others escaped the way Go does."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():  # same set as Go's unicode.IsPrint (letters..symbols + ASCII space)
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _as_timedelta(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=float(value))


#: asynq's `Option.String()` form of each dmq enqueue option but headers (one Header per pair).
_FORMS: dict[str, Callable[[Any], str]] = {
    "queue": lambda v: f"Queue({go_quote(str(v))})",
    "max_retry": lambda v: f"MaxRetry({int(v)})",
    "task_id": lambda v: f"TaskID({go_quote(str(v))})",
    "timeout": lambda v: f"Timeout({format_duration(_as_timedelta(v))})",
    "deadline": lambda v: f"Deadline({format_unix_date(v)})",
    "unique": lambda v: f"Unique({format_duration(_as_timedelta(v))})",
    "process_at": lambda v: f"ProcessAt({format_unix_date(v)})",
    "process_in": lambda v: f"ProcessIn({format_duration(_as_timedelta(v))})",
    "retention": lambda v: f"Retention({format_duration(_as_timedelta(v))})",
    "group": lambda v: f"Group({go_quote(str(v))})",
}


def _header_strings(headers: Any) -> list[str]:
    out = []
    for key, val in dict(headers).items():
        pair = json.dumps([str(key), str(val)], separators=(",", ":"), ensure_ascii=False)
        for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            pair = pair.replace(raw, esc)  # Go's json.Marshal HTML-escapes these
        out.append(f"Header({pair})")
    return out


def option_strings(options: dict[str, Any]) -> list[str]:
    """asynq's `Option.String()` forms for dmq enqueue options, in the order given.

    Unset (None) options are left out; unknown names raise ValueError.
    """
    out: list[str] = []
    for name, value in options.items():
        if value is None:
            continue
        if name == "headers":
            out.extend(_header_strings(value))
            continue
        form = _FORMS.get(name)
        if form is None:
            raise ValueError(f"unknown enqueue option {name!r}")
        out.append(form(value))
    return out
