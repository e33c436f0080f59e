"""Which versions are installed, read from the packages' metadata without importing them.

A host set up next year must be able to say what it runs (DuckDB 2.0 removed a result method
that 1.x code used), and the recorder must say it without loading DuckDB or Arrow (design
invariant 3): :func:`importlib.metadata.version` reads the installed files only.
"""

from __future__ import annotations

import platform
from importlib import metadata


def installed_version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``"not installed"``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def bondtape_version() -> str:
    """bondtape's own version; ``0+unknown`` when run from a checkout that was never installed."""
    found = installed_version("bondtape")
    return "0+unknown" if found == "not installed" else found


def version_line() -> str:
    """``bondtape 0.1.0 (duckdb 2.0.1, pyarrow 26.0.1, python 3.11.7)``: what `--version`
    prints and the daemon logs, the engines that decide what a lake file looks like."""
    engines = ", ".join(f"{name} {installed_version(name)}" for name in ("duckdb", "pyarrow"))
    return f"bondtape {bondtape_version()} ({engines}, python {platform.python_version()})"
