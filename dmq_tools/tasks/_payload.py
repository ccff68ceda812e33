"""Strict readers of built-in task payloads: a wrong payload is a SkipRetry naming the field.

A payload that is not JSON, not an object, or has a field of the wrong type can never succeed,
so retrying it 25 times only delays the operator seeing it; these helpers say what was wrong.
"""

from __future__ import annotations

from typing import Any

from ..errors import SkipRetry
from ..task import Task

__all__ = ["payload_object", "require_str", "require_int", "no_crlf"]

_MISSING = object()


def payload_object(task: Task, kind: str) -> dict[str, Any]:
    """The payload as a JSON object."""
    try:
        data = task.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise SkipRetry(f"invalid {kind} payload: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SkipRetry(f"invalid {kind} payload: expected a JSON object, got {type(data).__name__}")
    return data


def require_str(data: dict[str, Any], field: str, *, default: Any = _MISSING, max_len: int = 1_000_000) -> Any:
    value = data.get(field, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise SkipRetry(f"invalid payload: field {field!r} is missing")
        return default
    if not isinstance(value, str):
        raise SkipRetry(f"invalid payload: field {field!r} must be a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise SkipRetry(f"invalid payload: field {field!r} is longer than {max_len} characters")
    return value


def require_int(data: dict[str, Any], field: str, low: int, high: int, *, default: Any = _MISSING) -> int:
    value = data.get(field, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise SkipRetry(f"invalid payload: field {field!r} is missing")
        return int(default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SkipRetry(f"invalid payload: field {field!r} must be an integer, got {value!r:.40}")
    if not low <= value <= high:
        raise SkipRetry(f"invalid payload: field {field!r} must be between {low} and {high}, got {value}")
    return value


def no_crlf(value: str, field: str) -> str:
    """Header values must not carry line breaks (header injection)."""
    if "\r" in value or "\n" in value or "\x00" in value:
        raise SkipRetry(f"invalid payload: field {field!r} contains a line break or NUL (header injection)")
    return value
