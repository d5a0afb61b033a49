"""The packages import only the stages before them, and no modules import each other in a cycle.

Stage order: streamer -> engines -> detectors -> reports -> storage -> vigil. Any import
(lazy ones inside functions included) may only go to the same or an earlier stage. Module-level
imports (what runs when a module is imported) must form no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.graph import find_cycle

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["streamer", "engines", "detectors", "reports", "storage", "vigil"]


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg in STAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _targets(node: ast.stmt, module: str) -> set[str]:
    """The package modules an import statement brings in."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
        assert node.level == 0, f"{module}: relative import (the packages import absolutely)"
        base = node.module
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return {n for n in names if n in MODULES}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(tree: ast.Module) -> list[ast.stmt]:
    """Import statements that run at import time (not in functions, not under TYPE_CHECKING)."""
    out: list[ast.stmt] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            todo.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                todo.extend(handler.body)
        elif isinstance(node, ast.ClassDef):
            todo.extend(node.body)
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_import_goes_to_the_same_or_an_earlier_stage() -> None:
    upward: list[str] = []
    for module, path in MODULES.items():
        stage = STAGES.index(module.split(".")[0])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, module):
                if STAGES.index(target.split(".")[0]) > stage:
                    upward.append(f"{module}:{node.lineno} imports {target}")
    assert not upward, "imports against the stage order:\n" + "\n".join(upward)


def test_no_module_level_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps: set[str] = set()
        for node in _module_level(tree):
            deps |= _targets(node, module)
        deps.discard(module)
        graph[module] = deps
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"
