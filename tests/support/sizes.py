"""Size limits for the product packages (issue #11): modules and functions that grew too long.

A module may hold at most ``MAX_MODULE_LINES`` lines and a function at most
``MAX_FUNCTION_LINES``; a function may be longer where a ``# long-ok: <why>`` comment sits on
the line above its ``def`` (or above its decorators). Run ``python -m tests.support.sizes`` to
list what is over; ``tests/test_structure.py`` asserts there is nothing.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("streamer", "engines", "detectors", "reports", "storage", "vigil")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
WAIVER = "# long-ok:"


@dataclass(frozen=True)
class Oversize:
    """One module or function over its limit."""

    path: str
    name: str
    lines: int
    limit: int

    def __str__(self) -> str:
        return f"{self.path}: {self.name} has {self.lines} lines (limit {self.limit})"


def _waived(source_lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    above = source_lines[first - 2].strip() if first >= 2 else ""
    return above.startswith(WAIVER)


def check_file(path: Path, root: Path) -> list[Oversize]:
    """Return what is over its limit in one Python file."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    rel = str(path.relative_to(root))
    found: list[Oversize] = []
    if len(lines) > MAX_MODULE_LINES:
        found.append(Oversize(rel, "module", len(lines), MAX_MODULE_LINES))
    for node in ast.walk(ast.parse(text, filename=rel)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > MAX_FUNCTION_LINES and not _waived(lines, node):
            found.append(Oversize(rel, f"{node.name}()", length, MAX_FUNCTION_LINES))
    return found


def check_tree(root: Path) -> list[Oversize]:
    """Return everything over its limit in the product packages under ``root``."""
    found: list[Oversize] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found.extend(check_file(path, root))
    return found


def main() -> int:
    """List what is over its limit; exit 1 if anything is."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    found = check_tree(root)
    for item in found:
        sys.stdout.write(f"{item}\n")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
