"""Import boundaries of DESIGN.md §2 / anchors-style.md §4.2, checked on the source with `ast`.

Every import counts, including lazy ones inside functions. Rules are data: a module that does
not exist yet simply has nothing to check.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

PKG = "dmq_tools"
ROOT = Path(__file__).resolve().parent.parent / PKG


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


@functools.cache
def imports_of(module: str) -> frozenset[str]:
    """Every dotted name the module imports (for `from a import b`: both `a` and `a.b`)."""
    path = modules()[module]
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            if node.module is not None:  # `from . import x` imports x, not the package's name space
                out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "import_module" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            out.add(_resolve(module, is_package, len(node.args[0].value) - len(node.args[0].value.lstrip(".")),
                             node.args[0].value.lstrip(".") or None) if node.args[0].value.startswith(".")
                    else node.args[0].value)
    return frozenset(out)


def matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def in_scope(module: str, scopes: tuple[str, ...]) -> bool:
    return any(matches(module, s) for s in scopes)


@dataclass(frozen=True)
class Rule:
    """Modules outside `allowed_in` must not import `target` (a dotted prefix)."""

    target: str
    allowed_in: tuple[str, ...]
    why: str


RULES = [
    Rule("redis", ("dmq_tools.rdb", "dmq_tools.embedded"), "only the storage layer talks to Redis"),
    Rule("hiredis", ("dmq_tools.rdb",), "only the storage layer talks to Redis"),
    Rule("google.protobuf", ("dmq_tools.rdb",), "only rdb knows the wire format"),
    Rule("pandas", ("dmq_tools.export", "dmq_tools.charts", "dmq_tools.widgets"), "pandas is optional"),
    Rule("pyarrow", ("dmq_tools.export", "dmq_tools.charts", "dmq_tools.widgets"), "pyarrow is optional"),
    Rule("ipywidgets", ("dmq_tools.widgets",), "ipywidgets is optional and only for views"),
    Rule("dmq_tools.cli", ("dmq_tools.cli", "dmq_tools.__main__"), "nothing imports the CLI but `python -m dmq_tools`"),
    Rule("dmq_tools.widgets", ("dmq_tools.widgets",), "nothing imports the widgets"),
    Rule("dmq_tools.api", ("dmq_tools.api", "dmq_tools.cli.api_cmd"), "only `dmq api` imports the HTTP API"),
    Rule("starlette", ("dmq_tools.api",), "starlette is optional (the api extra)"),
    Rule("pickle", (), "no pickle: payloads are JSON or bytes"),
    Rule("cPickle", (), "no pickle"),
    Rule("dill", (), "no pickle"),
    Rule("cloudpickle", (), "no pickle"),
    Rule("marshal", (), "no marshal"),
    Rule("shelve", (), "no pickle-backed storage"),
]

#: rdb may import from dmq_tools only these (anchors-style.md §4.2: rdb uses errors, clock, config).
RDB_MAY_IMPORT = ("dmq_tools.errors", "dmq_tools.clock", "dmq_tools.config", "dmq_tools.embedded",
                  "dmq_tools.rdb")
#: The bottom row imports nothing above it (stdlib only, plus each other).
BOTTOM = ("dmq_tools.errors", "dmq_tools.clock", "dmq_tools.models", "dmq_tools.task", "dmq_tools.config",
          "dmq_tools.limits")
BOTTOM_MAY_IMPORT = BOTTOM + ("dmq_tools._html", "dmq_tools._json", "dmq_tools._payload_text")
#: Views and exports never touch the storage layer.
NO_RDB = ("dmq_tools.widgets", "dmq_tools.export", "dmq_tools.charts", "dmq_tools.models", "dmq_tools.task")

ALL = sorted(modules())


def test_package_found():
    assert "dmq_tools.rdb.producer" in ALL and "dmq_tools.client" in ALL


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.target)
def test_rule(rule: Rule):
    bad = {m: sorted(i for i in imports_of(m) if matches(i, rule.target))
           for m in ALL if not in_scope(m, rule.allowed_in)}
    bad = {m: v for m, v in bad.items() if v}
    assert not bad, f"{rule.why}: {bad}"


def test_rdb_imports_nothing_above_it():
    bad = {}
    for m in ALL:
        if not in_scope(m, ("dmq_tools.rdb",)):
            continue
        above = sorted(i for i in imports_of(m)
                       if matches(i, PKG) and i != PKG and not in_scope(i, RDB_MAY_IMPORT))
        if PKG in imports_of(m):
            above.append(PKG)
        if above:
            bad[m] = above
    assert not bad, f"rdb must only import {RDB_MAY_IMPORT}: {bad}"


def test_bottom_layer_is_stdlib_only():
    bad = {}
    for m in ALL:
        if not in_scope(m, BOTTOM):
            continue
        inner = sorted(i for i in imports_of(m) if matches(i, PKG) and not in_scope(i, BOTTOM_MAY_IMPORT))
        if inner:
            bad[m] = inner
    assert not bad, f"errors/clock/models/task/config import only each other: {bad}"


def test_views_do_not_touch_rdb():
    bad = {m: sorted(i for i in imports_of(m) if matches(i, "dmq_tools.rdb"))
           for m in ALL if in_scope(m, NO_RDB)}
    bad = {m: v for m, v in bad.items() if v}
    assert not bad, f"widgets/export/charts/models/task go through the inspector: {bad}"


def test_no_eval_or_exec():
    bad = []
    for m, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("eval", "exec", "compile", "__import__"):
                bad.append(f"{m}:{node.lineno} {node.func.id}()")
    assert not bad, f"no eval/exec in the package: {bad}"


def test_resolver_handles_relative_imports():
    # the checker itself: `from ..errors import X` in dmq_tools/rdb/base.py is dmq_tools.errors
    assert _resolve("dmq_tools.rdb.base", False, 2, "errors") == "dmq_tools.errors"
    assert _resolve("dmq_tools.rdb", True, 1, "keys") == "dmq_tools.rdb.keys"
    assert "dmq_tools.errors" in imports_of("dmq_tools.rdb.wire")
    assert "dmq_tools.rdb.keys" in imports_of("dmq_tools.rdb.base")
    assert "redis" in imports_of("dmq_tools.rdb.base")
