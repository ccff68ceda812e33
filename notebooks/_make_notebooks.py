"""Generate notebooks/*.ipynb (outputs stripped, kernelspec python3): python notebooks/_make_notebooks.py

One story runs through all six, the one of the origin guide: a web application (plain functions
here stand for its HTTP endpoints) enqueues a welcome email (`email:deliver`) to `critical` and an
image resize (`image:resize`) to `low`; workers, delayed tasks, retries, cron, monitoring, a Go
service's Redis and custom task types follow.

Each notebook works in its own queues (`dmq.Sandbox("nbNN")`: nbNN-critical, nbNN-default,
nbNN-low), resets them first and drops them at the end, so notebooks never see each other's tasks
and a second run shows the same results. Cells tagged `check` hold outputs the tests compare
between runs; teaching cells carry no asserts. `DMQ_NB_SMOKE=1` picks small sizes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from _story import CELLS  # noqa: E402 - the notebooks' text lives beside this script

HERE = Path(__file__).resolve().parent
META = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
}


def build(name: str) -> nbformat.NotebookNode:
    cells = []
    for kind, text, tags in CELLS[name]():
        cell = new_markdown_cell(text.strip()) if kind == "md" else new_code_cell(text.strip())
        if tags:
            cell.metadata["tags"] = list(tags)
        cells.append(cell)
    nb = new_notebook(cells=cells, metadata=dict(META))
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating gives no spurious diff
        cell["id"] = f"{name[:2]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def main() -> None:
    for name in CELLS:
        nbformat.write(build(name), HERE / f"{name}.ipynb")
        print("wrote", HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
