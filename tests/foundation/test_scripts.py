"""Every Lua script loads, documents its KEYS/ARGV/returns, and has exactly its callers.

anchors-style.md §4.4: one file per script, a header contract, every file has a caller and
every caller has a file.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest

import dmq_tools
from dmq_tools.rdb import scripts as scripts_mod

LUA_DIR = resources.files("dmq_tools.rdb").joinpath("lua")
LUA_NAMES = sorted(p.name[:-4] for p in LUA_DIR.iterdir() if p.name.endswith(".lua"))
PACKAGE = Path(dmq_tools.__file__).parent
PRODUCER_SCRIPTS = {"enqueue", "enqueue_unique", "schedule", "schedule_unique", "add_to_group",
                    "add_to_group_unique"}


def header(name: str) -> list[str]:
    lines = LUA_DIR.joinpath(f"{name}.lua").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if not line.startswith("--"):
            break
        out.append(line)
    return out


@functools.lru_cache(maxsize=1)
def string_constants() -> dict[str, set[str]]:
    """Every string literal in the package's Python code -> the modules that contain it."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "asynq_pb2.py":
            continue
        rel = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.setdefault(node.value, set()).add(rel)
    return found


@functools.lru_cache(maxsize=1)
def script_calls() -> list[tuple[str, str]]:
    """(module, name) for every `<x>.scripts.run("name", ...)` / `.queue(pipe, "name", ...)`."""
    calls = []
    for path in PACKAGE.rglob("*.py"):
        rel = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            if not (isinstance(owner, ast.Attribute) and owner.attr == "scripts"):
                continue
            pos = {"run": 0, "queue": 1, "sha": 0}.get(node.func.attr)
            if pos is None or len(node.args) <= pos:
                continue
            arg = node.args[pos]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                calls.append((rel, arg.value))
    return calls


def test_producer_scripts_exist():
    assert PRODUCER_SCRIPTS <= set(LUA_NAMES)
    assert set(scripts_mod.script_names()) == set(LUA_NAMES)


@pytest.mark.parametrize("name", LUA_NAMES)
def test_script_loads_with_its_sha(r, name):
    source = scripts_mod.SOURCES[name]
    sha = r.script_load(source)
    assert sha == hashlib.sha1(source.encode()).hexdigest()
    assert r.script_exists(sha) == [True]


@pytest.mark.parametrize("name", LUA_NAMES)
def test_script_header(name):
    lines = header(name)
    text = "\n".join(lines)
    assert lines and lines[0].startswith(f"-- {name}:"), f"{name}.lua must open with '-- {name}: <what>'"
    source = scripts_mod.SOURCES[name]
    used_keys = {int(n) for n in re.findall(r"KEYS\[(\d+)\]", source[len(text):])}
    used_argv = {int(n) for n in re.findall(r"ARGV\[(\d+)\]", source[len(text):])}
    doc_keys = {int(n) for n in re.findall(r"KEYS\[(\d+)\]\s*->", text)}
    doc_argv = {int(n) for n in re.findall(r"ARGV\[(\d+)\]\s*->", text)}
    assert used_keys <= doc_keys, f"{name}.lua uses KEYS {sorted(used_keys - doc_keys)} without a header line"
    assert used_argv <= doc_argv, f"{name}.lua uses ARGV {sorted(used_argv - doc_argv)} without a header line"
    assert re.search(r"\breturns?\b", text, re.I), f"{name}.lua header must say what it returns"
    assert re.search(r"asynq|dmq", text), f"{name}.lua header must name its asynq counterpart or say dmq-only"


def test_every_script_has_a_caller():
    constants = string_constants()
    orphans = [n for n in LUA_NAMES
               if not {m for m in constants.get(n, set()) if m.startswith("rdb/") and m != "rdb/scripts.py"}]
    assert not orphans, f"Lua files that no storage-layer code names: {orphans}"


def test_scripts_are_called_from_the_storage_layer_only():
    outside = [(m, n) for m, n in script_calls() if not m.startswith("rdb/")]
    assert not outside, f"script calls outside rdb: {outside}"


def test_producer_scripts_are_called_only_by_the_producer():
    constants = string_constants()
    for name in PRODUCER_SCRIPTS:
        in_rdb = {m for m in constants.get(name, set()) if m.startswith("rdb/")}
        assert in_rdb == {"rdb/producer.py"}, f"{name!r} named in {sorted(in_rdb)}"


def test_every_caller_has_a_file():
    missing = [(m, n) for m, n in script_calls() if n not in LUA_NAMES]
    assert not missing, f"script calls without a lua file: {missing}"
