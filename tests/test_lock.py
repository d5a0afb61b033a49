"""requirements.lock agrees with pyproject.toml and the Makefile; when not: `make lock`."""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
FIX = "; change pyproject.toml if need be, then run `make lock`"
#: Installed by the Makefile before the lock, not required by any package.
TOOLS = {canonicalize_name("pip")}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#@]+)$")


def _make_var(name: str) -> str:
    """The value of ``NAME := value`` in the Makefile."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(rf"^{name}\s*:?=\s*(\S+)\s*$", text, re.MULTILINE)
    assert found, f"Makefile: no {name} := ..."
    return found.group(1)


def _project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        project: dict[str, Any] = tomllib.load(f)["project"]
    return project


def _locked() -> dict[NormalizedName, Version]:
    """The lock as name -> pinned version; every line must be ``name==version``."""
    pins: dict[NormalizedName, Version] = {}
    for n, raw in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _PIN.match(line)
        assert m, f"requirements.lock:{n}: {line!r} is not NAME==VERSION{FIX}"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"requirements.lock:{n}: {name} pinned twice"
        pins[name] = Version(m.group(2))
    return pins


def _roots() -> list[Requirement]:
    """Vigil's own requirements with the extras `make` installs (``EXTRAS`` in the Makefile)."""
    project = _project()
    extras = project.get("optional-dependencies", {})
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in _make_var("EXTRAS").split(","):
        assert extra in extras, f"Makefile EXTRAS names {extra!r}, not an extra of pyproject.toml"
        reqs += [Requirement(r) for r in extras[extra]]
    return reqs


def _applies(req: Requirement, extras: Iterable[str] = ()) -> bool:
    """Whether ``req`` applies here, for a package installed with ``extras``."""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in ("", *extras))


def _mismatch(req: Requirement, pins: dict[NormalizedName, Version]) -> str | None:
    """Why the lock does not satisfy ``req`` (None when it does)."""
    name = canonicalize_name(req.name)
    if name not in pins:
        return f"{req} is not in the lock"
    if not req.specifier.contains(pins[name], prereleases=True):
        return f"{req}: the lock has {req.name}=={pins[name]}"
    return None


def test_every_line_is_an_exact_pin() -> None:
    assert len(_locked()) > 10


def test_every_requirement_make_installs_is_locked_in_range() -> None:
    pins = _locked()
    problems = [p for r in _roots() if _applies(r) and (p := _mismatch(r, pins))]
    assert not problems, "\n".join(problems) + FIX


def test_dev_tools_are_pinned_exactly() -> None:
    loose = []
    for raw in _project()["optional-dependencies"]["dev"]:
        spec = list(Requirement(raw).specifier)
        if len(spec) != 1 or spec[0].operator != "==" or spec[0].version.endswith(".*"):
            loose.append(raw)
    assert not loose, f"dev tools not pinned with ==: {loose}"


def test_torch_is_the_version_the_makefile_installs_first() -> None:
    torch = Requirement(_make_var("TORCH"))
    assert str(torch.specifier).startswith("=="), "Makefile TORCH must be an exact pin"
    # no local label (+cpu): `pip install -r` must find it on PyPI or on this machine's disk
    assert str(_locked()[canonicalize_name("torch")]) == str(torch.specifier)[2:]


def _installed(name: str, pinned: Version) -> md.Distribution | None:
    """The installed distribution ``name`` when it is the locked version, else None."""
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        return None
    return dist if SpecifierSet(f"=={pinned}").contains(dist.version, prereleases=True) else None


def test_lock_is_closed_and_has_nothing_stale() -> None:
    """Walk the dependencies of the installed packages from Vigil's requirements: each must be
    locked in range, and each locked package must be reached (else it is stale).

    Only packages installed at their locked version can be walked; the stale check needs
    them all (the venv `make` builds)."""
    pins = _locked()
    dists = {name: _installed(name, version) for name, version in pins.items()}
    missing = sorted(name for name, dist in dists.items() if dist is None)
    problems: list[str] = []
    seen: dict[NormalizedName, set[str]] = {}
    todo = [(r, "vigil") for r in _roots() if _applies(r)]
    while todo:
        req, parent = todo.pop()
        problem = _mismatch(req, pins)
        if problem:
            problems.append(f"{problem} (required by {parent})")
            continue
        name = canonicalize_name(req.name)
        wanted = set(req.extras)
        if name in seen and wanted <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | wanted
        dist = dists[name]
        for raw in (dist.requires or ()) if dist is not None else ():
            sub = Requirement(raw)
            if _applies(sub, seen[name]):
                todo.append((sub, f"{name}=={pins[name]}"))
    stale = sorted(set(pins) - set(seen) - TOOLS)
    if stale and not missing:
        problems.append(f"locked but required by nothing: {', '.join(stale)}")
    assert not problems, "\n".join(problems) + FIX
    if missing:
        pytest.skip(f"not installed at the locked version (`make` installs them): {missing[:5]}")
