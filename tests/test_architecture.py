"""The package structure docs/architecture.md promises: no import loops, one-way layers.

Imports are read from the source (ast), counting those inside functions and under
TYPE_CHECKING, so a loop cannot hide in a lazy import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "kspec"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every module (kspec's, or a third party's top-level name) this file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import sub` imports the submodule; `from pkg import name`, pkg itself.
            subs = [f"{node.module}.{a.name}" for a in node.names]
            names = [s for s in subs if s in MODULES]
            if len(names) < len(subs):
                names.append(node.module)
        else:
            continue
        for name in names:
            if name.startswith("kspec"):
                while name not in MODULES and "." in name:
                    name = name.rpartition(".")[0]
                if name in MODULES:
                    found.add(name)
            else:
                found.add(name.split(".")[0])
    return found


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _packages_of(name: str) -> set[str]:
    """A module's import also runs every enclosing package's __init__."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _reach(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in GRAPH.get(todo.pop(), set()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v] & MODULES.keys():
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read() -> None:
    # A guard against a reader that finds nothing and so finds no loops.
    assert "kspec.check.graph" in GRAPH["kspec.check.spec"]
    assert "tensorflow" in GRAPH["kspec.run.data"] or "keras" in GRAPH["kspec.run.data"]
    assert len(MODULES) > 60


def test_no_import_loops() -> None:
    assert _cycles() == []


def test_a_loop_would_be_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GRAPH, "kspec.source", GRAPH["kspec.source"] | {"kspec.check.spec"})
    assert any("kspec.source" in c for c in _cycles())


def test_codegen_never_imports_the_runtime() -> None:
    for name in MODULES:
        if name.startswith("kspec.codegen"):
            bad = {m for m in _reach(name) if m.startswith(("kspec.run", "kspec.keras"))}
            assert not bad, f"{name} reaches {sorted(bad)}"


FRAMEWORKS = {"tensorflow", "keras", "jax", "torch"}
ALLOWED = ("kspec.keras", "kspec.run")


def test_only_the_builder_and_the_runtime_import_keras() -> None:
    for name, deps in GRAPH.items():
        if not name.startswith(ALLOWED) and name not in ("kspec.api", "kspec.cli"):
            assert not deps & FRAMEWORKS, f"{name} imports {sorted(deps & FRAMEWORKS)}"


@pytest.mark.parametrize(
    "front",
    [
        "kspec.check.spec",
        "kspec.report.summary",
        "kspec.report.graphviz",
        "kspec.syntax.fmt",
        "kspec.syntax.ir",
        "kspec.check.graph",
        "kspec.interop.importer",
        "kspec.codegen.generate",
        "kspec.lsp.server",
        "kspec.report.lexer",
    ],
)
def test_the_front_end_never_reaches_tensorflow(front: str) -> None:
    reach = _reach(front)
    reach |= {p for m in reach for p in _packages_of(m)}
    assert not reach & FRAMEWORKS
    assert not {m for m in reach if m.startswith(ALLOWED)}


def test_every_package_ships_in_the_wheel() -> None:
    """pyproject lists packages by hand (grammars/, templates/ and schema/ are mapped in), so a
    new subpackage must be listed, or an installed kspec fails to import."""
    import tomllib

    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT.parent).parts) for p in ROOT.rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
