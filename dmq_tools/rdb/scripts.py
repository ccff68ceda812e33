"""Lua scripts: one `lua/<name>.lua` file per script, loaded once, run by EVALSHA.

Every file starts with a header naming its KEYS, ARGV, return values and asynq counterpart.
Scripts are registered once per server: EVALSHA first, SCRIPT LOAD and retry on NOSCRIPT, also
for script calls batched in one round trip (`execute`), where only the calls that did not run are
sent again.
"""

from __future__ import annotations

import hashlib
import threading
from importlib import resources
from typing import Any, NamedTuple
from collections.abc import Iterable, Iterator, Sequence

import redis
from redis.exceptions import NoScriptError

from .lean import Answered, InFlight, LeanExecutor, StreamBrokenError
from .topology import is_cluster

__all__ = ["SOURCES", "Scripts", "ScriptCall", "script_names"]


def _load_sources() -> dict[str, str]:
    """Every script of lua/, with the functions of lua/lib/ it calls prepended (Redis scripts
    cannot import: a helper shared by several scripts lives once, in lib/)."""
    root = resources.files(__package__).joinpath("lua")
    lib = {e.name[:-4]: e.read_text(encoding="utf-8") for e in root.joinpath("lib").iterdir()
           if e.name.endswith(".lua")}
    out: dict[str, str] = {}
    for entry in root.iterdir():
        if entry.name.endswith(".lua"):
            body = entry.read_text(encoding="utf-8")
            used = [src for name, src in sorted(lib.items()) if f"{name}(" in body]
            out[entry.name[:-4]] = "".join(used) + body
    return out


SOURCES: dict[str, str] = _load_sources()
_SHAS: dict[str, str] = {n: hashlib.sha1(s.encode()).hexdigest() for n, s in SOURCES.items()}


def script_names() -> list[str]:
    return sorted(SOURCES)


class ScriptCall(NamedTuple):
    """One script invocation inside `Scripts.execute` (other items are raw command tuples)."""

    name: str
    keys: Sequence[Any]
    args: Sequence[Any]


class Scripts:
    """The scripts of one Redis client, run over its lean command path (rdb/lean.py)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self.lean = LeanExecutor(client)
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
            if is_cluster(self._client):   # SCRIPT LOAD goes to every primary, one script at a time
                for src in SOURCES.values():
                    self._client.script_load(src)
            else:
                for reply in self.lean.execute_many([("SCRIPT", "LOAD", src) for src in SOURCES.values()]):
                    if isinstance(reply, Exception):
                        raise reply
            self._loaded = True

    def run(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run a script now: EVALSHA, falling back to SCRIPT LOAD + EVALSHA on NOSCRIPT."""
        sha = _SHAS[name]
        try:
            return self.lean.execute("EVALSHA", sha, len(keys), *keys, *args)
        except NoScriptError:
            self.ensure_loaded(force=True)
            return self.lean.execute("EVALSHA", sha, len(keys), *keys, *args)

    def send(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> InFlight:
        """`run` in two steps: the call is sent now, its `reply()` read later (see
        LeanExecutor.send); NOSCRIPT is handled as in `run`."""
        try:
            return _ScriptInFlight(self, self.lean.send("EVALSHA", _SHAS[name], len(keys), *keys, *args),
                                   name, keys, args)
        except NoScriptError:   # redis-py's own path answers at once
            return Answered(self.run(name, keys, args))

    def execute(self, commands: Sequence[ScriptCall | Sequence[Any]]) -> list[Any]:
        """Run script calls and raw commands in one round trip, in order; errors come back as values.

        A script call answered NOSCRIPT (server restarted, SCRIPT FLUSH) did not run: the scripts
        are loaded and only those calls are sent again. Raw commands are never repeated.
        """
        wire = [_as_command(c) for c in commands]
        results = self.lean.execute_many(wire)
        return self._rerun_noscript(wire, results)

    def stream(self, chunks: Iterable[Sequence[ScriptCall | Sequence[Any]]]) -> list[Any]:
        """`execute` for a lazily built sequence of chunks, each sent as soon as it is built."""
        wire: list[Sequence[Any]] = []

        def encoded() -> Iterator[list[Sequence[Any]]]:
            for chunk in chunks:
                out = [_as_command(c) for c in chunk]
                wire.extend(out)
                yield out

        gen = encoded()
        try:
            results = self.lean.stream(gen)
        except StreamBrokenError as exc:
            if exc.replies_read:
                raise
            # a stale socket (server restarted) before any reply: send everything once more on a
            # fresh connection, as redis-py retries a pipeline
            for _ in gen:
                pass
            results = self.lean.execute_many(wire)
        return self._rerun_noscript(wire, results)

    def _rerun_noscript(self, wire: list[Sequence[Any]], results: list[Any]) -> list[Any]:
        """Load the scripts and send again only the calls answered NOSCRIPT (they did not run)."""
        again = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if again:
            self.ensure_loaded(force=True)
            for i, value in zip(again, self.lean.execute_many([wire[i] for i in again])):
                results[i] = value
        return results

    def close(self) -> None:
        self.lean.close()


def _as_command(call: ScriptCall | Sequence[Any]) -> Sequence[Any]:
    if isinstance(call, ScriptCall):
        return ("EVALSHA", _SHAS[call.name], len(call.keys), *call.keys, *call.args)
    return call


class _ScriptInFlight(InFlight):
    """A script call on its way (see Scripts.send)."""

    __slots__ = ("_scripts", "_sent", "_call")

    def __init__(self, scripts: Scripts, sent: InFlight, name: str, keys: Sequence[Any],
                 args: Sequence[Any]) -> None:
        self._scripts, self._sent, self._call = scripts, sent, (name, keys, args)

    def reply(self) -> Any:
        try:
            return self._sent.reply()
        except NoScriptError:
            name, keys, args = self._call
            self._scripts.ensure_loaded(force=True)
            return self._scripts.lean.execute("EVALSHA", _SHAS[name], len(keys), *keys, *args)
