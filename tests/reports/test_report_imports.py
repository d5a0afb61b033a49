"""The reports modules import one another without a cycle (lazy imports included)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import reports

PACKAGE = Path(reports.__file__).parent
MODULES = sorted(f"reports.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _imports(module: str) -> set[str]:
    """The ``reports.*`` modules that ``module`` imports anywhere in its source."""
    path = PACKAGE / f"{module.removeprefix('reports.')}.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "reports":  # from reports import x: the submodule x
                names = [f"reports.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n in MODULES)
    found.discard(module)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as a path that returns to its start), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for dep in sorted(graph[node]):
            if (found := visit(dep, [*path, node])) is not None:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        if (found := visit(start, [])) is not None:
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_reports_modules_import_no_cycle() -> None:
    graph = {m: _imports(m) for m in MODULES}
    assert "reports.llm_base" in graph["reports.llm_openai"]  # the parse sees imports
    assert "reports.llm_openai" in graph["reports.backends"]  # lazy ones too
    assert _cycle(graph) is None


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone(module: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert importlib.import_module(module) is not None
