"""The read side: the DuckDB catalog of views and macros (catalog), named queries (queries)
and their output formats (results), books and trades as one time-ordered stream (history),
one ISIN's book at an instant (snapshot), its day as chart series (day_series).
"""

from __future__ import annotations

from storage.read.catalog import CATALOG_NAME, build_catalog, commit, view_sql
from storage.read.day_series import DaySeries, day_series
from storage.read.history import (
    BATCH_ROWS,
    EVENT_SCHEMA,
    Book,
    DateLike,
    Event,
    Level,
    Trade,
    event_batches,
    events,
    parse_date,
    parse_isins,
    parse_range,
)
from storage.read.queries import (
    NamedQuery,
    checked,
    named_queries,
    named_query,
    open_catalog,
    parse_assignments,
    run_query,
    run_sql,
)
from storage.read.results import FORMATS, cell_text, json_rows, print_table, write_result
from storage.read.snapshot import bond_name, book_at, nothing_recorded

__all__ = [
    "BATCH_ROWS",
    "CATALOG_NAME",
    "EVENT_SCHEMA",
    "FORMATS",
    "Book",
    "DateLike",
    "DaySeries",
    "Event",
    "Level",
    "NamedQuery",
    "Trade",
    "bond_name",
    "book_at",
    "build_catalog",
    "cell_text",
    "checked",
    "commit",
    "day_series",
    "event_batches",
    "events",
    "json_rows",
    "named_queries",
    "named_query",
    "nothing_recorded",
    "open_catalog",
    "parse_assignments",
    "parse_date",
    "parse_isins",
    "parse_range",
    "print_table",
    "run_query",
    "run_sql",
    "view_sql",
    "write_result",
]
