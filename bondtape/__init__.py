"""bondtape for Python users: open a data_dir's lake with :class:`Lake` and ask it.

::

    import bondtape

    with bondtape.Lake("data") as lake:
        lake.dates()                                  # the Seoul dates recorded
        lake.quotes("2026-11-26", isins="KR103502GD31").df()
        lake.book("KR103502GD31", "2026-11-26 10:30")

``python -m bondtape`` runs the command line (``bondtape --help``).
"""

from __future__ import annotations

from bondtape.lake import Lake
from capture.errors import BondtapeError, ConfigError, StorageError
from storage.read import EVENT_SCHEMA, Book, Level, Trade
from storage.report import Report, ReportSettings

__all__ = [
    "EVENT_SCHEMA",
    "BondtapeError",
    "Book",
    "ConfigError",
    "Lake",
    "Level",
    "Report",
    "ReportSettings",
    "StorageError",
    "Trade",
]
