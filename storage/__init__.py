"""Raw to tables: the normalizer turns the raw log into the Parquet lake (design.md, "Lake").

:func:`normalize` (once, or ``rebuild``) and :func:`follow` are the entry points; the table
schemas are :data:`TABLES`. Inside: :mod:`~storage.batch` sorts a batch of raw records,
:mod:`~storage.parser` types frames in DuckDB, :mod:`~storage.lake` writes files and the
checkpoint durably, :mod:`~storage.staging` swaps a rebuilt lake in. :func:`events` and
:func:`event_batches` (:mod:`~storage.history`) read a date range back as one time-ordered
stream of books and trades.
"""

from storage.normalize import NormalizeStats, follow, normalize
from storage.read import EVENT_SCHEMA, Book, Level, Trade, event_batches, events
from storage.schemas import SCHEMA_VERSION, TABLES

__all__ = [
    "EVENT_SCHEMA", "SCHEMA_VERSION", "TABLES", "Book", "Level", "NormalizeStats", "Trade",
    "event_batches", "events", "follow", "normalize",
]  # fmt: skip
