"""Naming the key behind a WRONGTYPE error: scripts see only "wrong kind of value", the caller
must be told which key and what it holds (CorruptStateError)."""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping

from redis.exceptions import ResponseError

from ..errors import CorruptStateError

__all__ = ["is_wrongtype", "wrong_types", "corrupt_error"]


def is_wrongtype(exc: BaseException) -> bool:
    return isinstance(exc, ResponseError) and "WRONGTYPE" in str(exc)


def wrong_types(client: Any, expected: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(key, found type, expected type) for each key that exists with another type."""
    pipe = client.pipeline(transaction=False)
    for key in expected:
        pipe.type(key)
    out = []
    for (key, want), found in zip(expected.items(), pipe.execute()):
        found = found.decode() if isinstance(found, bytes) else str(found)
        if found not in ("none", want):
            out.append((key, found, want))
    return out


def corrupt_error(client: Any, exc: BaseException, expected: Mapping[str, str]) -> BaseException:
    """A CorruptStateError naming the first key of the wrong type, else `exc` itself."""
    if not is_wrongtype(exc):
        return exc
    bad = wrong_types(client, expected)
    if not bad:
        return exc
    key, found, want = bad[0]
    return CorruptStateError(key=key, found=found, expected=want)
