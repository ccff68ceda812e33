"""`dmq dashboard` starts Voilà and serves the Dashboard page; the API token rules apply.

No browser: Voilà renders the executed notebook server-side, so one GET shows what the kernel
built (the widget state carries the dashboard's CSS hooks and the read-only badge).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

pytest.importorskip("voila")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _served(redis_url: str, tmp_path, *args: str, token: str | None = None):
    port = _free_port()
    env = dict(os.environ, REDIS_URL=redis_url, JUPYTER_PLATFORM_DIRS="1")
    env.pop("REDIS_PASSWORD", None)
    env.pop("DMQ_API_TOKEN", None)
    if token:
        env["DMQ_API_TOKEN"] = token
    log = open(tmp_path / f"dashboard-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "dmq_tools", "dashboard", "--port", str(port), *args],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:  # TCP probe: a GET would start a kernel
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.close()
                    pytest.fail((tmp_path / f"dashboard-{port}.log").read_text()[-3000:])
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect to /login is the answer itself
        return None


def _get(url: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=120) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@pytest.mark.timeout(300)
def test_without_a_token_the_dashboard_is_served_read_only(r, redis_url, tmp_path):
    from tests.helpers import seed

    seed.seed_pending(r, [seed.msg("email:deliver", queue="critical")], "critical")
    with _served(redis_url, tmp_path) as url:
        status, page = _get(url)
    assert status == 200
    assert "application/vnd.jupyter.widget-view+json" in page  # the kernel displayed the widget
    assert "Dashboard refreshed 1x" in page and "read-only" in page  # the widget's text/plain


@pytest.mark.timeout(300)
def test_with_a_token_the_page_needs_it_and_actions_are_on(r, redis_url, tmp_path):
    with _served(redis_url, tmp_path, token="s3cret-token") as url:
        denied, _ = _get(url)
        status, page = _get(url + "?token=s3cret-token")
    assert denied in (302, 401, 403)
    assert status == 200 and "application/vnd.jupyter.widget-view+json" in page
    assert "Dashboard refreshed 1x" in page and "read-only" not in page
    assert "s3cret-token" not in (tmp_path.glob("dashboard-*.log").__next__()).read_text()
