"""Issue #11: no product module over 450 lines and no function over 60 (see tests/support/sizes)."""

from __future__ import annotations

from pathlib import Path

from tests.support.sizes import check_tree


def test_no_module_or_function_over_its_size_limit() -> None:
    found = check_tree(Path(__file__).resolve().parents[1])
    assert not found, "over the size limits (split them, or waive with '# long-ok: <why>'):\n" + (
        "\n".join(str(item) for item in found)
    )
