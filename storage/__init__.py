"""Raw to tables, one room per stage over the shared schemas (design.md, "Lake"):

- :mod:`storage.lake`: the lake's files and names, the checkpoint, its one-writer lock
  (:meth:`storage.lake.Lake.exclusive`), the rebuild swap, reference data;
- :mod:`storage.normalize`: raw records to the live tier (:func:`normalize`, :func:`follow`);
- :mod:`storage.compact`: closed days to the hist tier, one sorted file per partition;
- :mod:`storage.read`: the catalog, named queries, one book, the time-ordered stream of
  books and trades (:func:`events`, :func:`event_batches`);
- :mod:`storage.report`: the day's integrity report.

The table schemas are :data:`TABLES` (:mod:`storage.schemas`). What needs Arrow or DuckDB
loads on first use (:mod:`storage.lazy`), so ``storage.lake``'s checkpoint reader is light.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from storage.lazy import lazy_names

if TYPE_CHECKING:
    from storage.normalize import NormalizeStats, follow, normalize
    from storage.read import EVENT_SCHEMA, Book, Level, Trade, event_batches, events
    from storage.schemas import SCHEMA_VERSION, TABLES

__getattr__ = lazy_names(
    __name__,
    {
        **dict.fromkeys(["NormalizeStats", "follow", "normalize"], "storage.normalize"),
        **dict.fromkeys(
            ["EVENT_SCHEMA", "Book", "Level", "Trade", "event_batches", "events"], "storage.read"
        ),
        **dict.fromkeys(["SCHEMA_VERSION", "TABLES"], "storage.schemas"),
    },
)


class _Surface(ModuleType):
    """``normalize`` names both this surface's function and the room storage.normalize. The
    import system sets a package's attribute to each subpackage it loads, which would hide
    the function once anything imports the room; here the function stays, as it did when
    this surface imported it eagerly (after the room)."""

    @property
    def normalize(self) -> Any:
        return __getattr__("normalize")

    @normalize.setter
    def normalize(self, room: ModuleType) -> None:
        """The room itself stays reachable as ``sys.modules["storage.normalize"]``."""


sys.modules[__name__].__class__ = _Surface

__all__ = [
    "EVENT_SCHEMA", "SCHEMA_VERSION", "TABLES", "Book", "Level", "NormalizeStats", "Trade",
    "event_batches", "events", "follow", "normalize",
]  # fmt: skip
