"""The ranges public arguments must fall in, checked before anything reaches Redis.

Why these bounds: asynq stores durations and times as int64 seconds and max_retry as int32 in
its protobuf message; Go's time.Duration (int64 nanoseconds) overflows past ~292 years; Python's
datetime ends at year 9999; Redis keeps scores as doubles and rejects EXPIRE times that overflow.
One horizon of 100 years for every duration and time keeps all of them far from those edges
(docs/asynq-compat.md, "Validated ranges"). A value outside its range raises ConfigurationError
naming the option and the range; nothing is written.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "MAX_HORIZON_S", "MAX_RETRY", "MAX_PAGE_SIZE", "MAX_HISTORY_DAYS", "MAX_NAME_LENGTH",
    "seconds_in", "when_within", "max_retry", "name", "headers", "page", "positive_int",
]

#: The longest duration and the farthest time ahead any option may name: 100 years.
MAX_HORIZON_S = 100 * 36525 * 864   # 3_155_760_000 s
MAX_RETRY = 2**31 - 1               # asynq: int32 retry
MAX_PAGE_SIZE = 100_000             # Inspector.list_tasks / scheduler_history
MAX_HISTORY_DAYS = 365              # asynq keeps daily counters 90 days
#: Queue, group and task-ID names (bytes of UTF-8): far above any real name, far below Redis's
#: 512 MB key limit, so a runaway string fails here, not in Redis.
MAX_NAME_LENGTH = 1024
_HORIZON = "100 years (3155760000 s)"


def _number(value: Any, option: str) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:     # an int beyond a double's range
            return math.inf if value > 0 else -math.inf
    raise ConfigurationError(f"{option} must be a timedelta or a number of seconds, got {value!r}")


def seconds_in(value: Any, option: str, low: float = 0.0, low_text: str = "0 s") -> float:
    """`value` (timedelta or seconds) as float seconds within [low, 100 years]; rejects
    nan and inf, which compare false with everything."""
    s = _number(value, option)
    if not low <= s <= MAX_HORIZON_S:
        raise ConfigurationError(f"{option} must be between {low_text} and {_HORIZON}, got {value!r}")
    return s


def when_within(value: Any, option: str, earliest_epoch: bool = False) -> datetime:
    """A timezone-aware datetime at most 100 years ahead (and, for a deadline, after 1970)."""
    if not isinstance(value, datetime):
        raise ConfigurationError(f"{option} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError(f"{option} must be timezone-aware (use datetime.now(timezone.utc))")
    try:
        ts = value.timestamp()
    except (OverflowError, ValueError):
        ts = math.inf
    if ts > time.time() + MAX_HORIZON_S or (earliest_epoch and ts < 1):
        low = "1970-01-01T00:00:01Z" if earliest_epoch else "any time"
        raise ConfigurationError(f"{option} must be between {low} and {_HORIZON} from now, got {value!r}")
    return value


def _int(value: Any, option: str) -> int:
    """An int, or an int-like (numpy integers); bools, floats and strings are mistakes here."""
    if type(value) is int:
        return value
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise ConfigurationError(f"{option} must be an int, got {type(value).__name__} {value!r:.80}")


def max_retry(value: Any) -> int:
    """asynq's MaxRetry: an int; negative counts as 0 (as in Go); at most int32's maximum."""
    value = _int(value, "max_retry")
    if value > MAX_RETRY:
        raise ConfigurationError(f"max_retry must be between 0 and {MAX_RETRY} (int32), got {value!r}")
    return value if value > 0 else 0


def name(value: Any, option: str) -> str:
    """A queue, group or task-ID name: a non-blank str of valid UTF-8, at most MAX_NAME_LENGTH bytes."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{option} must be a str, got {type(value).__name__} {value!r:.80}")
    if not value.strip():
        raise ConfigurationError(f"{option} cannot be blank")
    size = len(value) if value.isascii() else len(_utf8(value, option))
    if size > MAX_NAME_LENGTH:
        raise ConfigurationError(f"{option} must be at most {MAX_NAME_LENGTH} bytes, got {size}")
    return value


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode()
    except UnicodeEncodeError:
        raise ConfigurationError(f"{what} must be valid UTF-8 text, got {value!r:.80}") from None


def headers(value: Any, option: str = "headers") -> dict[str, str]:
    """A mapping of str to str (valid UTF-8), copied."""
    if type(value) is not dict and not isinstance(value, Mapping):   # the ABC check costs ~1 µs
        raise ConfigurationError(f"{option} must be a dict of str to str, got {type(value).__name__}")
    out = dict(value)
    for k, v in out.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ConfigurationError(f"header names and values must be str, got {k!r:.80}: {v!r:.80}")
        if not (k.isascii() and v.isascii()):
            _utf8(k, "header name")
            _utf8(v, f"header {k!r}")
    return out


def positive_int(value: Any, option: str, maximum: int) -> int:
    """An int in [1, maximum] (bools and floats refused: they are mistakes here)."""
    value = _int(value, option)
    if not 1 <= value <= maximum:
        raise ConfigurationError(f"{option} must be between 1 and {maximum}, got {value!r}")
    return value


def page(page_no: Any, page_size: Any) -> tuple[int, int]:
    """asynq's pagination arguments: 1 <= page_size <= MAX_PAGE_SIZE, page >= 1 with an offset
    (page - 1) * page_size below 2**53."""
    page_size = positive_int(page_size, "page_size", MAX_PAGE_SIZE)
    page_no = positive_int(page_no, "page", 2**53 // page_size)   # offsets stay exact integers everywhere
    return page_no, page_size
