"""One ISIN as an operator looks at it: its book at an instant, its name, and which day it
was last seen on when the day asked for holds nothing of it.

Everything reads the catalog's views and macros, so both tiers count; a connection is one
snapshot of the lake, so ``bondtape book --live`` opens the catalog afresh for each look.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from capture.errors import ConfigError
from storage.read.history import Book, batch_events
from storage.read.queries import run_sql

# The same macro as the named query book_asof (sql/views/_quotes_asof.sql), with every
# quotes column, so that the row becomes a storage.read.history.Book.
_BOOK_SQL = """
SELECT 'quote' AS kind, *
FROM bondtape_books_asof(CAST($at AS TIMESTAMPTZ))
WHERE isin = $isin
"""

_LATEST_DATE_SQL = """
SELECT max(date) FROM (
    SELECT date FROM quotes WHERE isin = $isin
    UNION ALL SELECT date FROM trades WHERE isin = $isin
)
"""

# The bond master's name first; else the name the feed sends with each trade.
_NAME_SQL = """
SELECT name FROM (
    SELECT name, 0 AS rank FROM bonds WHERE isin = $isin
    UNION ALL
    SELECT bond_name, 1 FROM (FROM trades_between($date, $date) WHERE isin = $isin LIMIT 1)
)
WHERE name IS NOT NULL AND trim(name) <> ''
ORDER BY rank
LIMIT 1
"""


def book_at(con: duckdb.DuckDBPyConnection, isin: str, at: dt.datetime) -> Book | None:
    """``isin``'s book at ``at`` (an aware datetime): its latest quote of ``at``'s Seoul day
    received at or before it, as ``book_asof`` decides; None if it had none by then.

    Raises:
        StorageError: DuckDB cannot read the lake through the catalog.
    """
    batch = run_sql(con, _BOOK_SQL, {"at": at, "isin": isin})
    if batch.num_rows == 0:
        return None
    (book,) = batch_events(batch.combine_chunks().to_batches()[0])
    assert isinstance(book, Book)  # the rows are all of kind 'quote'
    return book


def bond_name(con: duckdb.DuckDBPyConnection, isin: str, day: dt.date) -> str | None:
    """The bond's name: the saved bond master's (view ``bonds``), else the one the feed sent
    with ``isin``'s trades on ``day``; None when neither is known.

    Raises:
        StorageError: DuckDB cannot read the lake through the catalog.
    """
    rows = run_sql(con, _NAME_SQL, {"isin": isin, "date": day}).column("name").to_pylist()
    return rows[0] if rows else None


def nothing_recorded(
    con: duckdb.DuckDBPyConnection, isin: str, day: dt.date, what: str
) -> ConfigError:
    """The error for ``isin`` having no ``what`` on ``day``, naming the last day it has any
    quote or trade (the likely fix), or saying that the lake never saw it.

    Raises:
        StorageError: DuckDB cannot read the lake through the catalog.
    """
    (latest,) = run_sql(con, _LATEST_DATE_SQL, {"isin": isin}).column(0).to_pylist()
    if latest is None:
        fix = (
            f"the lake holds no quote or trade of {isin}: check the ISIN "
            '(`bondtape sql --data-dir D "SELECT DISTINCT isin FROM quotes"`), '
            "or run `bondtape normalize` if it was recorded"
        )
    elif latest == day:
        fix = f"{isin} has no {what} on {day} by then: give a later --at (or none: the latest)"
    else:
        fix = f"no {what} of {isin} on {day} (a Seoul date); its last day is {latest}: "
        fix += f"give --date {latest}"
    return ConfigError("ISIN", isin, fix)
