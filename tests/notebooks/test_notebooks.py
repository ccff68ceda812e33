"""Run every notebook with nbclient against the session Redis (small sizes), as CI does.

`REDIS_URL` points the notebooks' `dmq.connect()` at the session server and `DMQ_NB_SMOKE=1`
picks small sizes; the kernel inherits both. nbclient does not fail on errors raised inside
widget callbacks, so the tests also assert that no cell has an `error` output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.notebook

NB_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NB_DIR.glob("[0-9][0-9]_*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


def _run(name: str, redis_url: str, monkeypatch) -> "nbformat.NotebookNode":
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("DMQ_NB_SMOKE", "1")
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, startup_timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()
    return nb


def _outputs(nb, kind: str | None = None) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if kind is None or o.output_type == kind]


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


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_without_errors(name, r, redis_url, monkeypatch):
    nb = _run(name, redis_url, monkeypatch)
    errors = _outputs(nb, "error")
    assert not errors, "\n".join(e.ename + ": " + e.evalue for e in errors)
    if name in ("01_quickstart", "06_explore_an_asynq_service"):  # the Dashboard was displayed
        assert any(WIDGET in o.get("data", {}) for o in _outputs(nb, "display_data")
                   + _outputs(nb, "execute_result"))
    if name == "04_monitoring_and_export":  # charts rendered as images
        assert sum("image/png" in o.get("data", {}) for o in _outputs(nb)) >= 4
    # every worker a notebook started was stopped: no live server left in Redis
    assert r.zcard("asynq:servers") == 0
