"""Run the ``vigil`` command line in a child process, and write the configs it reads.

The child runs ``python -m vigil`` with this checkout first on ``PYTHONPATH``, so a test that
runs it from another folder (``cwd``) still tests this checkout's code, not an installed copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def vigil_command(*args: str) -> list[str]:
    """The argument list that runs ``vigil *args`` with this interpreter."""
    return [sys.executable, "-m", "vigil", *args]


def vigil_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, the checkout first on ``PYTHONPATH``, then ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra or {})
    return env


def run_vigil(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``vigil *args`` to its end; stdout and stderr captured as text.

    ``env`` adds to (or overrides) this process's environment; ``input_text`` is its stdin
    (none given: this process's stdin).
    """
    return subprocess.run(
        vigil_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        cwd=cwd,
        env=vigil_env(env),
    )


def write_config(
    path: Path,
    *,
    db: Path,
    media: Path,
    cameras: Sequence[Mapping[str, object]] = (),
    top: Mapping[str, object] | None = None,
) -> Path:
    """Write a config with a SQLite database at ``db``, media under ``media`` and ``cameras``
    (one flow mapping a line). Returns ``path``.

    ``top`` holds top-level settings written before ``storage`` (``site``, ``timezone``); without
    it the config starts with ``storage:``, so ``storage.media_dir`` is on line 3.
    """
    lines = [f"{key}: {json.dumps(value, default=str)}" for key, value in (top or {}).items()]
    lines += [
        "storage:",
        f"  database_url: {json.dumps(f'sqlite:///{db}')}",
        f"  media_dir: {json.dumps(str(media))}",
        "cameras:" if cameras else "cameras: []",
    ]
    lines += [f"  - {json.dumps(dict(camera), default=str)}" for camera in cameras]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
