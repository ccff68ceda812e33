"""The embedded server across processes: shared, outlives its starter, one winner of a race."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import redis

from dmq_tools import embedded
from tests.helpers.embedded_procs import (
    REPO_ROOT, pid_alive, redis_pids_for_socket, run_python, spawn_python, wait_dead)

def _start_code(data_dir) -> str:
    return f"from dmq_tools import embedded\nprint(embedded.ensure_running({str(data_dir)!r}).pid)\n"

def test_server_outlives_the_process_that_started_it(data_dir):
    done = run_python(_start_code(data_dir))
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())
    # the starter has exited; the server is still there and serves us
    server = embedded.status(data_dir)
    assert server is not None and server.pid == pid and pid_alive(pid)
    r = redis.Redis.from_url(server.url)
    assert r.ping()
    r.close()

def test_server_survives_a_killed_kernel_process_group(data_dir):
    """Jupyter stops a kernel by killing its process group; the server is in its own session."""
    code = _start_code(data_dir) + "import sys, time\nsys.stdout.flush()\ntime.sleep(60)\n"
    kernel = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, start_new_session=True)
    try:
        pid = int(kernel.stdout.readline())
    finally:
        os.killpg(kernel.pid, signal.SIGKILL)  # the group of the process we started
        kernel.wait()
        kernel.stdout.close()
    assert not wait_dead(pid, timeout=0.3)  # still alive after the group was killed
    server = embedded.status(data_dir)
    assert server is not None and server.pid == pid


def test_two_processes_share_one_server(data_dir):
    first = run_python(_start_code(data_dir) + "import redis\n"
                       f"redis.Redis.from_url(embedded.status({str(data_dir)!r}).url).set('who', 'first')\n")
    assert first.returncode == 0, first.stderr
    here = embedded.ensure_running(data_dir)
    assert here.pid == int(first.stdout.split()[0])  # attached to the first one's server
    second = run_python(_start_code(data_dir))
    assert second.returncode == 0, second.stderr
    assert int(second.stdout.strip()) == here.pid
    assert redis.Redis.from_url(here.url).get("who") == b"first"
    assert redis_pids_for_socket(here.socket) == [here.pid]

def test_racing_starters_end_with_one_server(data_dir, tmp_path):
    go = tmp_path / "go"
    code = (
        "import os, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.002)\n"
        + _start_code(data_dir)
    )
    procs = [spawn_python(code) for _ in range(3)]
    go.write_text("now")  # release them together
    pids = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        pids.append(int(out.strip()))
    assert len(set(pids)) == 1
    server = embedded.status(data_dir)
    assert server is not None and server.pid == pids[0]
    assert redis_pids_for_socket(server.socket) == [server.pid]
