"""Lua scripts: one `lua/<name>.lua` file per script, loaded once, run by EVALSHA.

Every file starts with a header naming its KEYS, ARGV, return values and asynq counterpart.
Scripts are registered once per connection: EVALSHA first, SCRIPT LOAD and retry on NOSCRIPT.
Pipelines cannot fall back mid-flight, so they call `ensure_loaded()` first (asynq's
BatchEnqueue does the same with SCRIPT LOAD).
"""

from __future__ import annotations

import hashlib
import threading
from importlib import resources
from typing import Any, Sequence

import redis
from redis.exceptions import NoScriptError

__all__ = ["SOURCES", "Scripts", "script_names"]


def _load_sources() -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in resources.files(__package__).joinpath("lua").iterdir():
        if entry.name.endswith(".lua"):
            out[entry.name[:-4]] = entry.read_text(encoding="utf-8")
    return out


SOURCES: dict[str, str] = _load_sources()
_SHAS: dict[str, str] = {n: hashlib.sha1(s.encode()).hexdigest() for n, s in SOURCES.items()}


def script_names() -> list[str]:
    return sorted(SOURCES)


class Scripts:
    """The scripts of one Redis connection."""

    def __init__(self, client: "redis.Redis[Any]") -> None:
        self._client = client
        self._loaded = False
        self._lock = threading.Lock()

    def sha(self, name: str) -> str:
        return _SHAS[name]

    def ensure_loaded(self, force: bool = False) -> None:
        """SCRIPT LOAD every script once (one pipelined round trip)."""
        if self._loaded and not force:
            return
        with self._lock:
            if self._loaded and not force:
                return
            pipe = self._client.pipeline(transaction=False)
            for source in SOURCES.values():
                pipe.script_load(source)
            pipe.execute()
            self._loaded = True

    def run(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run a script now: EVALSHA, falling back to SCRIPT LOAD + EVALSHA on NOSCRIPT."""
        sha = _SHAS[name]
        try:
            return self._client.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            self.ensure_loaded(force=True)
            return self._client.evalsha(sha, len(keys), *keys, *args)

    def queue(self, pipe: Any, name: str, keys: Sequence[Any], args: Sequence[Any]) -> None:
        """Add a script call to a pipeline (call `ensure_loaded()` before executing it)."""
        pipe.evalsha(_SHAS[name], len(keys), *keys, *args)

    def mark_unloaded(self) -> None:
        self._loaded = False
