"""The reports modules import one another without a cycle (lazy imports included)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import reports
from tests.support.graph import find_cycle

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


def test_reports_modules_import_no_cycle() -> None:
    graph = {m: _imports(m) for m in MODULES}
    assert "reports.llm_base" in graph["reports.llm_openai"]  # the parse sees imports
    assert "reports.llm_openai" in graph["reports.backends"]  # lazy ones too
    assert find_cycle(graph) is None


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
