"""`dmq redis start|stop|status` through click's CliRunner and through the installed entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import redis
from click.testing import CliRunner

from dmq_tools import embedded
from dmq_tools.cli.main import main
from tests.helpers.embedded_procs import REPO_ROOT, wait_dead
from tests.helpers.redis_server import free_port


def test_start_status_stop(data_dir):
    runner = CliRunner()
    result = runner.invoke(main, ["redis", "status", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "not running" in result.output

    port = free_port()
    result = runner.invoke(main, ["redis", "start", "--port", str(port), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    server = embedded.status(data_dir)
    assert server is not None
    assert f"pid:      {server.pid}" in result.output
    assert f"REDIS_URL=127.0.0.1:{port}" in result.output
    assert redis.Redis(host="127.0.0.1", port=port).ping()

    result = runner.invoke(main, ["redis", "status", "--data-dir", str(data_dir)])
    assert result.exit_code == 0
    for expected in (str(server.pid), server.url, str(port), server.version):
        assert expected in result.output
    # names the server it runs (Redis or Valkey), its version and the executable
    assert server.server in ("Redis", "Valkey") and server.binary
    assert f"server:   {server.server} {server.version}  ({server.binary})" in result.output

    result = runner.invoke(main, ["redis", "status", "--json", "--data-dir", str(data_dir)])
    data = json.loads(result.output)
    assert data["running"] and data["pid"] == server.pid and data["port"] == port
    assert data["server"] == server.server and data["version"] == server.version

    result = runner.invoke(main, ["redis", "stop", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "stopped" in result.output
    assert wait_dead(server.pid)
    result = runner.invoke(main, ["redis", "status", "--data-dir", str(data_dir)])
    assert result.exit_code == 1


def test_start_on_a_port_the_running_server_lacks_is_an_error(data_dir):
    embedded.ensure_running(data_dir)
    result = CliRunner().invoke(main, ["redis", "start", "--port", str(free_port()),
                                       "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "dmq redis stop" in result.output


def test_module_entry_point_uses_dmq_data_dir(data_dir):
    full = {**os.environ, "DMQ_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO_ROOT)}

    def dmq(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dmq_tools.cli.main", *args], env=full,
                              capture_output=True, text=True, timeout=60, check=False)

    start = dmq("redis", "start")
    assert start.returncode == 0, start.stderr
    status = dmq("redis", "status")
    assert status.returncode == 0 and str(data_dir / "redis.sock") in status.stdout


def test_start_with_a_chosen_binary(data_dir):
    from dmq_tools.embedded import binaries

    found = binaries.candidates()
    if not found:
        pytest.skip("no server binary here")
    chosen = found[-1]
    result = CliRunner().invoke(main, ["redis", "start", "--binary", chosen.path, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert f"server:   {chosen.label}  ({chosen.path})" in result.output
