"""Run every notebook with nbclient against the session Redis (small sizes), as CI does.

All six run in a shuffled order, then again in another order against the same Redis: the outputs
of the cells tagged `check` must be the same both times (each notebook works in its own queues
and resets them), no cell may have an error, and no notebook may write more than a few lines to
stderr (failed tasks log one short, rate-limited line each). `REDIS_URL` points `dmq.connect()`
at the session server, `DMQ_NB_SMOKE=1` picks small sizes; the kernel inherits both. nbclient
does not fail on errors raised inside widget callbacks, so the tests look for `error` outputs.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.notebook

NB_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NB_DIR.glob("[0-9][0-9]_*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
MAX_STDERR_LINES = 8


def _execute(name: str, redis_url: str) -> nbformat.NotebookNode:
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    old = {k: os.environ.get(k) for k in ("REDIS_URL", "DMQ_NB_SMOKE", "REDIS_PASSWORD")}
    os.environ.update(REDIS_URL=redis_url, DMQ_NB_SMOKE="1")
    os.environ.pop("REDIS_PASSWORD", None)
    try:
        client = nbclient.NotebookClient(nb, timeout=180, startup_timeout=60, kernel_name="python3",
                                         resources={"metadata": {"path": str(NB_DIR)}})
        client.execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _outputs(nb, kind: str | None = None) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if kind is None or o.output_type == kind]


def _checked(nb) -> list[str]:
    """The text of every output of the cells tagged `check`, in order."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "check" not in cell.metadata.get("tags", []):
            continue
        for o in cell.outputs:
            if o.output_type == "stream" and o.name == "stdout":
                out.append(o.text)
            elif o.output_type in ("execute_result", "display_data"):
                out.append(o.get("data", {}).get("text/plain", ""))
    return out


def _stderr_lines(nb) -> list[str]:
    return [line for o in _outputs(nb, "stream") if o.name == "stderr" for line in o.text.splitlines()]


@pytest.fixture(scope="module")
def two_rounds(redis_url):
    """{name: (first run, second run)}: all notebooks in a shuffled order, then in another."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    seed = int(os.environ.get("DMQ_NB_ORDER_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    first, second = NOTEBOOKS[:], NOTEBOOKS[:]
    rng.shuffle(first)
    rng.shuffle(second)
    print(f"notebook order seed {seed}: {first} then {second}")
    runs: dict[str, list] = {n: [] for n in NOTEBOOKS}
    for order in (first, second):
        for name in order:
            runs[name].append(_execute(name, redis_url))
    return {n: tuple(v) for n, v in runs.items()}


def test_notebooks_are_committed_stripped():
    assert NOTEBOOKS == ["01_quickstart", "02_priorities_retries_timeouts", "03_scheduling",
                         "04_monitoring_and_export", "05_custom_tasks", "06_explore_an_asynq_service"]
    for name in NOTEBOOKS:
        nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        assert _outputs(nb) == [] and all(c.get("execution_count") is None
                                          for c in nb.cells if c.cell_type == "code")
        assert nb.cells[0].cell_type == "markdown"  # each tells a story
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "assert " not in code and "def wait_for" not in code  # no test scaffolding
        assert f'dmq.Sandbox("nb{name[:2]}"' in code and "app.reset()" in code  # own queues, cleaned
        assert any("check" in c.metadata.get("tags", []) for c in nb.cells)


def test_notebooks_are_generated_from_the_script():
    import subprocess
    import sys

    script = NB_DIR / "_make_notebooks.py"
    before = {p.name: p.read_bytes() for p in NB_DIR.glob("*.ipynb")}
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, cwd=NB_DIR)
    after = {p.name: p.read_bytes() for p in NB_DIR.glob("*.ipynb")}
    assert after == before, "notebooks differ from notebooks/_make_notebooks.py: regenerate them"


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_quietly_and_the_same_twice(name, two_rounds, r):
    runs = two_rounds[name]
    for nb in runs:
        errors = _outputs(nb, "error")
        assert not errors, "\n".join(e.ename + ": " + e.evalue for e in errors)
        stderr = _stderr_lines(nb)
        assert len(stderr) <= MAX_STDERR_LINES, "\n".join(stderr)
    first, second = (_checked(nb) for nb in runs)
    assert first and first == second
    if name in ("01_quickstart", "04_monitoring_and_export", "06_explore_an_asynq_service"):
        assert any(WIDGET in o.get("data", {}) for o in _outputs(runs[1], "display_data")
                   + _outputs(runs[1], "execute_result"))  # the Dashboard was displayed
    if name == "04_monitoring_and_export":  # charts rendered as images, tables as HTML
        assert sum("image/png" in o.get("data", {}) for o in _outputs(runs[1])) >= 5
        assert sum("text/html" in o.get("data", {}) for o in _outputs(runs[1])) >= 3
    # every worker a notebook started was stopped and every queue it made was dropped
    assert r.zcard("asynq:servers") == 0
    assert not [q for q in r.smembers("asynq:queues") if q.decode().startswith(f"nb{name[:2]}-")]
