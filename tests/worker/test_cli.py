import os
import signal
import subprocess
import sys
from datetime import timedelta

import click
import pytest
from click.testing import CliRunner

import dmq_tools as dmq
from dmq_tools.cli.main import main
from dmq_tools.cli.worker_cmd import parse_queues
from dmq_tools.rdb import keys
from tests.worker.conftest import wait_until


def test_parse_queues():
    assert parse_queues("critical=6,default=3,low") == {"critical": 6, "default": 3, "low": 1}
    with pytest.raises(click.BadParameter):
        parse_queues("a=x")


def test_worker_disabled_by_env():
    res = CliRunner().invoke(main, ["worker", "--app", "dmq_tools.tasks.demo:mux"],
                             env={"QUEUE_WORKER_ENABLED": "false"})
    assert res.exit_code == 0 and "QUEUE_WORKER_ENABLED=false" in res.output


def test_worker_bad_app():
    res = CliRunner().invoke(main, ["worker", "--app", "no_such_module_xyz:mux"])
    assert res.exit_code != 0 and "cannot import" in res.output


def test_worker_app_that_is_not_a_handler():
    res = CliRunner().invoke(main, ["worker", "--app", "dmq_tools.tasks.demo:__name__"])
    assert res.exit_code != 0 and "is a str, not a ServeMux or a handler function" in res.output


def test_worker_refuses_a_mux_that_is_neither_a_servemux_nor_callable(r):
    with pytest.raises(dmq.ConfigurationError, match="mux must be a ServeMux or a callable, got int"):
        dmq.Worker(r, 42)


def test_demo_runs_every_outcome(r, redis_url):
    res = CliRunner().invoke(main, ["demo", "--redis-url", redis_url])
    assert res.exit_code == 0, res.output
    assert "completed" in res.output and "archived" in res.output and "always" in res.output
    assert r.zcard(keys.archived("demo")) == 1 and r.zcard(keys.completed("demo")) == 4


def test_worker_command_processes_and_stops_on_sigterm(r, redis_url):
    env = {**os.environ, "QUEUE_CONCURRENCY": "3"}
    p = subprocess.Popen([sys.executable, "-m", "dmq_tools.cli.main", "worker", "--app", "dmq_tools.tasks.demo:mux",
                          "--queues", "demo=2,other=1", "--redis-url", redis_url],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        info = dmq.Client(r).enqueue(dmq.Task("demo:sum", {"numbers": [2, 3]}), queue="demo",
                                     retention=timedelta(minutes=1))
        assert wait_until(lambda: r.hget(keys.task("demo", info.id), "state") == b"completed", timeout=20)
        assert r.hget(keys.task("demo", info.id), "result") == b'{"sum":5,"count":2}'
    finally:
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=20)
    assert p.returncode == 0, out
    assert "concurrency=3" in out and "stopped" in out
    assert r.zcard(keys.ALL_SERVERS) == 0
