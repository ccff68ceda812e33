"""compose.yaml and the Dockerfile: the guide's three services with the project's own commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _env(service: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in service["environment"])


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def test_compose_has_the_guides_three_services(compose):
    services = compose["services"]
    assert set(services) == {"app", "worker", "redis"}
    app, worker, redis = services["app"], services["worker"], services["redis"]
    assert app["build"] == "." and worker["build"] == "."
    assert app["command"] == ["dmq", "serve"] and worker["command"] == ["dmq", "worker"]
    assert "8080:8080" in app["ports"]
    assert _env(app)["QUEUE_WORKER_ENABLED"] == "false" and _env(app)["REDIS_URL"] == "redis:6379"
    assert _env(worker)["QUEUE_WORKER_ENABLED"] == "true" and int(_env(worker)["QUEUE_CONCURRENCY"]) == 10
    assert _env(worker)["REDIS_URL"] == "redis:6379"
    assert redis["image"].startswith("redis") and "redis_data:/data" in redis["volumes"]
    assert "redis_data" in compose["volumes"]
    assert set(app["depends_on"]) == {"redis"} == set(worker["depends_on"])
    # the image paths the app accepts are the files the worker reads: one shared media volume
    assert [v for v in app["volumes"] if v.startswith("media:")] == [v for v in worker["volumes"]
                                                                    if v.startswith("media:")]


def test_compose_commands_and_settings_are_the_projects(compose):
    from click.testing import CliRunner

    from dmq_tools.cli.main import main
    from dmq_tools.config import load_settings

    for name in ("app", "worker"):
        service = compose["services"][name]
        assert service["command"][0] == "dmq" and service["command"][1] in main.commands
        env = {k: v for k, v in _env(service).items() if "${" not in v}
        load_settings(env, dotenv=False)   # every literal value parses
    assert CliRunner().invoke(main, ["serve", "--help"]).exit_code == 0


def _compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) or the standalone `docker-compose`, whichever is here."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_docker_compose_config_is_valid(tmp_path):
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed; the YAML tests above still ran")
    res = subprocess.run([*command, "-f", str(REPO / "compose.yaml"), "config", "--quiet"],
                         capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text((REPO / "compose.yaml").read_text().replace("services:", "servicez:", 1))
    bad = subprocess.run([*command, "-f", str(broken), "config", "--quiet"], capture_output=True, text=True,
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert bad.returncode != 0   # the validator does reject a broken file


def test_dockerfile_copies_only_tracked_files_and_runs_dmq():
    text = (REPO / "Dockerfile").read_text()
    sources = [line.split()[1:-1] for line in text.splitlines() if line.startswith("COPY ")]
    for names in sources:
        for name in names:
            assert (REPO / name).exists(), name
    assert 'CMD ["dmq", "serve"]' in text and "EXPOSE 8080" in text and "USER dmq" in text


def test_the_package_the_dockerfile_installs_builds_from_the_repository_alone(tmp_path):
    """What `pip install .` in the Dockerfile builds, from a copy of the tracked files only."""
    listed = subprocess.run(["git", "ls-files", "pyproject.toml", "README.md", "dmq_tools"], cwd=REPO,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    src = tmp_path / "src"
    for rel in listed.stdout.split():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, src / rel)
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "out"), str(src)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    wheel, = (tmp_path / "out").glob("dmq_tools-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dmq_tools/rdb/lua/enqueue.lua" in names and "dmq_tools/api/queue_routes.py" in names
    assert "dmq_tools/tasks/image.py" in names and "dmq_tools/async_client.py" in names
