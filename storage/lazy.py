"""Surfaces that load their heavy modules on first use (PEP 562), so a light caller pays for
what it uses: `bondtape status` reads the lake's checkpoint through ``storage.lake`` on a
recorder host without loading Arrow or DuckDB (design invariant 3: the recorder's host shares
no weight with the heavy jobs).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_names(
    package: str, homes: Mapping[str, str], modules: Iterable[str] = ()
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``homes[name]`` (a module path)
    the first time ``name`` is asked, and keeps the value in the package for next time; a
    name in ``modules`` is that submodule of ``package`` itself.

    Raises (from the returned function):
        AttributeError: ``name`` is not one of ``homes``.
    """

    submodules = frozenset(modules)

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
