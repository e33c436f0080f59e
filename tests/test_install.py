"""Installs are reproducible: requirements.lock pins, with hashes, every dependency that
pyproject.toml names, inside its range; each range stops before the next major release; and
the lock names no package index, so it installs the same from PyPI or from any mirror of it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
# Data, not code: the newest release of the IANA zones is always the right one.
UNBOUNDED = {"tzdata"}


def declared() -> list[Requirement]:
    """The runtime and dev requirements of pyproject.toml (what `make test` installs)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(text) for text in texts]


def pins() -> dict[str, tuple[Version, int]]:
    """Package -> (pinned version, how many file hashes the lock gives for it)."""
    found: dict[str, tuple[Version, int]] = {}
    name = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            found[name] = (Version(match[2]), 0)
        elif line.strip().startswith("--hash=sha256:") and name is not None:
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
    return found


def test_the_lock_pins_every_declared_dependency_with_hashes_inside_its_range() -> None:
    locked = pins()
    problems = []
    for req in declared():
        name = canonicalize_name(req.name)
        if name not in locked:
            problems.append(f"{req.name} is not in requirements.lock")
        elif not req.specifier.contains(locked[name][0], prereleases=True):
            problems.append(f"{req.name}=={locked[name][0]} is outside {req.specifier}")
    unhashed = sorted(name for name, (_, hashes) in locked.items() if hashes == 0)
    assert (problems, unhashed) == ([], []), "pyproject.toml changed: run `make lock`"


def test_every_dependency_stops_before_the_next_major_release_after_the_locked_one() -> None:
    # DuckDB 2.0 removed a result method that 1.x code used: a major release may break us.
    locked = pins()
    wrong = {}
    for req in declared():
        if req.name in UNBOUNDED:
            continue
        version = locked[canonicalize_name(req.name)][0]
        next_major = Version(str(version.major + 1))  # 0.x: 1.0 is the first break promised
        uppers = [Version(s.version) for s in req.specifier if s.operator == "<"]
        if uppers != [next_major]:
            wrong[req.name] = f"{req.specifier}, {version} locked: want <{next_major}"
    assert wrong == {}, "each bound is <N, N the major after the locked one (raised: `make lock`)"


def test_the_lock_names_no_package_index_so_any_mirror_of_pypi_installs_it() -> None:
    options = [
        line
        for line in LOCK.read_text(encoding="utf-8").splitlines()
        if line.startswith(("-i", "--index-url", "--extra-index-url", "-f", "--find-links"))
        or "file://" in line
    ]
    assert options == []
