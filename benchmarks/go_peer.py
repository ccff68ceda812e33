"""Build the Go asynq v0.26 peer (benchmarks/peers/go_asynq) once, cached by its sources.

The program speaks the same command line as the Python peer scripts (see peers/_common.py), so
the harness runs it like any peer; its binary lives in benchmarks/.venvs/go_asynq/ and is rebuilt
only when go.mod, go.sum, a .go file or the Go version changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "peers" / "go_asynq"
CACHE = HERE / ".venvs" / "go_asynq"
BINARY_NAME = "go_asynq_peer"


class GoUnavailable(Exception):
    """Go is not installed or the build failed; the message is the reason shown in the report."""


def go_command() -> str | None:
    """`go` on PATH, else the standard install location."""
    found = shutil.which("go")
    if found:
        return found
    default = "/usr/local/go/bin/go"
    return default if os.access(default, os.X_OK) else None


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    env.setdefault("CGO_ENABLED", "0")
    return env


def _stamp(go: str) -> str:
    h = hashlib.sha256()
    for path in sorted([*SOURCE.glob("*.go"), SOURCE / "go.mod", SOURCE / "go.sum"]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    version = subprocess.run([go, "version"], capture_output=True, text=True, timeout=60).stdout
    h.update(version.encode())
    return h.hexdigest()


def ensure_built(log=print, cache: Path = CACHE) -> Path:
    """The peer's binary, built with `go build` into `cache` when its sources changed."""
    go = go_command()
    if go is None:
        raise GoUnavailable("skipped: go is not installed (Go >= 1.24 builds the asynq v0.26 peer)")
    binary, stamp_file = cache / BINARY_NAME, cache / ".sources.sha256"
    stamp = _stamp(go)
    if binary.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return binary
    log(f"  building the Go asynq peer into {cache} ...")
    t0 = time.monotonic()
    cache.mkdir(parents=True, exist_ok=True)
    res = subprocess.run([go, "build", "-o", str(binary), "."], cwd=SOURCE, env=_go_env(),
                         capture_output=True, text=True, timeout=600)
    if res.returncode:
        raise GoUnavailable(f"go build failed in {SOURCE}: {(res.stderr or res.stdout).strip()[-300:]}")
    stamp_file.write_text(stamp)
    log(f"  Go peer ready in {time.monotonic() - t0:.0f}s")
    return binary
