"""Voilà on 127.0.0.1 serving a dashboard notebook, and Debian's Chromium driven by Playwright.

Module-scoped fixtures (not session): a session-scoped Playwright sync fixture leaves an asyncio
loop running in the main thread, which breaks later `asyncio.run()` tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
NOTEBOOK = """\
from dmq_tools.widgets import Dashboard

dash = Dashboard()  # Inspector(connect()): REDIS_URL points at the test server
dash
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_tools() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")
    for module, hint in (("voila", "pip install voila"), ("playwright.sync_api", "pip install playwright")):
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{module} not installed ({hint}, or pip install dmq_tools[browser])")


@pytest.fixture(scope="module")
def voila_url(redis_url, tmp_path_factory):
    _require_tools()
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder = tmp_path_factory.mktemp("voila")
    nb = new_notebook(cells=[new_code_cell(NOTEBOOK)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, folder / "dashboard.ipynb")
    port = _free_port()
    log = open(folder / "voila.log", "w")
    env = dict(os.environ, REDIS_URL=redis_url, JUPYTER_PLATFORM_DIRS="1")
    env.pop("REDIS_PASSWORD", None)
    proc = subprocess.Popen([sys.executable, "-m", "voila", str(folder / "dashboard.ipynb"), "--no-browser",
                             f"--port={port}", "--Voila.ip=127.0.0.1", "--show_tracebacks=True"],
                            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:  # TCP probe only: an HTTP GET would start a kernel and run the notebook
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail(f"voila did not start:\n{(folder / 'voila.log').read_text()[-3000:]}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser_context():
    _require_tools()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="dmq-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 800})
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)
