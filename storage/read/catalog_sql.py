"""The catalog's generated SQL: for one committed manifest (storage/lake/manifest.py), macros
holding each table's files of each date as literal lists, and the views and date-range table
macros that read them. Pure text, no I/O.

Per table (``quotes``, ``trades``, ``gaps``, ``rejects``; the book indexes ``quotes_by_time``
and ``books_by_minute`` have only the first):

- ``bondtape_files_<table>(day)``: the committed files of ``day`` ('YYYY-MM-DD' text), both
  tiers, as a ``CASE`` of literal lists (``[]`` for a day without any);
- ``bondtape_empty_<table>()``: its columns, typed from storage/schemas.py, and no row;
- ``bondtape_read_<table>(files)``: those files read with the hive columns (``date``, and
  ``isin`` where the table is partitioned by it), united with the typed empty row set, so the
  columns stay when ``files`` is empty: the one reading of both tiers every table shares;
- ``<table>_between(start_date, end_date)``: the rows of those Seoul dates, both included
  (DATE, or 'YYYY-MM-DD' text; NULL: from the first or to the last date of the lake), reading
  only those dates' files;
- the view ``<table>``: ``<table>_between(NULL, NULL)``, everything.

A table function takes no subquery, so a file list cannot come from a table; a ``CASE`` over
literal lists is the form DuckDB folds at bind time (a date's 100 files of 250 dates: 30 ms
to bind, as fast as the literal list). The list is the committed one, so a query never lists
the lake: nothing a writer does meanwhile changes what it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa

from storage.lake import Manifest
from storage.schemas import TABLES

INDEX_TABLES = ("quotes_by_time", "books_by_minute")
"""The book indexes of a compacted day (storage/compact/day_index.py), read by book_asof."""

HIVE_KEYS = {
    "quotes": ("date", "isin"),
    "trades": ("date", "isin"),
    "rejects": ("date",),
    "quotes_by_time": ("date",),
    "books_by_minute": ("date",),
}
"""The folder keys read as columns; gaps take their isin from the file (see ``gaps``)."""

_DUCKDB_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.int8(): "TINYINT",
    pa.string(): "VARCHAR",
    pa.binary(): "BLOB",
}

_GAPS_DATE = r"regexp_extract(filename, '/date=(\d{4}-\d{2}-\d{2})/', 1)::DATE"


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB type of a lake column's Arrow type (timestamps are UTC instants)."""
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    return _DUCKDB_TYPES[t]


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def catalog_statements(manifest: Manifest, lake_root: str, ref_root: str) -> list[str]:
    """Every generated statement, in the order they run (the hand-written views of
    ``sql/views/`` run after them and may use them)."""
    dates = manifest.dates()
    statements = [
        f"CREATE OR REPLACE MACRO bondtape_lake() AS {literal(lake_root)}",
        f"CREATE OR REPLACE MACRO bondtape_ref() AS {literal(ref_root)}",
        "CREATE OR REPLACE MACRO bondtape_first_date() AS "
        + (f"DATE {literal(dates[0])}" if dates else "DATE '9999-12-31'"),
        "CREATE OR REPLACE MACRO bondtape_last_date() AS "
        + (f"DATE {literal(dates[-1])}" if dates else "DATE '0001-01-01'"),
        # The dates of a range as text; NULL ends are the lake's first and last date.
        "CREATE OR REPLACE MACRO bondtape_dates(start_date, end_date) AS list_transform("
        "range(coalesce(CAST(start_date AS DATE), bondtape_first_date()), "
        "coalesce(CAST(end_date AS DATE), bondtape_last_date()) + 1, INTERVAL 1 DAY), "
        "lambda d: strftime(d, '%Y-%m-%d'))",
    ]
    root = lake_root.rstrip("/") + "/"
    for table in [*TABLES, *INDEX_TABLES]:
        days = manifest.files.get(table, {})
        statements.append(files_macro(f"bondtape_files_{table}", _absolute(root, days)))
    live_quotes = {
        day: [rel for rel in rels if rel.startswith("live/")]
        for day, rels in manifest.files.get("quotes", {}).items()
    }
    statements.append(files_macro("bondtape_files_quotes_live", _absolute(root, live_quotes)))
    open_gaps = {day: [f"{root}live/gaps/date={day}/*/open.parquet"] for day in dates}
    statements.append(files_macro("bondtape_open_gaps", open_gaps))
    for name, table in TABLES.items():
        statements += table_statements(name, _columns(table.schema))
    quote_columns = _columns(TABLES["quotes"].schema)
    index_columns = {
        "quotes_by_time": quote_columns,
        "books_by_minute": [("minute", "TIMESTAMPTZ"), *quote_columns],
    }
    for name, columns in index_columns.items():
        statements += read_statements(name, columns)
    return statements


def _columns(schema: pa.Schema) -> list[tuple[str, str]]:
    """A table's columns as the views show them: the schema's, then the Seoul date."""
    return [(f.name, duckdb_type(f.type)) for f in schema] + [("date", "DATE")]


def _absolute(root: str, days: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {day: [root + rel for rel in rels] for day, rels in days.items() if rels}


def files_macro(name: str, days: Mapping[str, Iterable[str]]) -> str:
    """``name(day)``: the literal list of ``day``'s paths, ``[]`` for any other day."""
    branches = "".join(
        f"\n    WHEN {literal(day)} THEN [{', '.join(literal(p) for p in paths)}]"
        for day, paths in sorted(days.items())
    )
    body = f"CASE day{branches}\n    ELSE []::VARCHAR[] END" if branches else "[]::VARCHAR[]"
    return f"CREATE OR REPLACE MACRO {name}(day) AS {body}"


def table_statements(name: str, columns: list[tuple[str, str]]) -> list[str]:
    """The empty row set, the reader, the range macro and the view of one table."""
    extra_files = " || bondtape_open_gaps(d)" if name == "gaps" else ""  # see read_statements
    return [
        *read_statements(name, columns),
        f"CREATE OR REPLACE MACRO {name}_between(start_date, end_date) AS TABLE\n"
        f"FROM bondtape_read_{name}(flatten(list_transform(bondtape_dates(start_date, end_date), "
        f"lambda d: bondtape_files_{name}(d){extra_files})))",
        f"CREATE OR REPLACE VIEW {name} AS FROM {name}_between(NULL, NULL)",
    ]


def read_statements(name: str, columns: list[tuple[str, str]]) -> list[str]:
    """``bondtape_empty_<name>()`` and ``bondtape_read_<name>(files)``: the columns, in order,
    whether ``files`` is empty or not (an empty read gives one BOOLEAN column ``empty``)."""
    quoted = ", ".join(f'"{column}"' for column, _ in columns)
    keys = HIVE_KEYS.get(name)
    empty_columns = [*columns, ("filename", "VARCHAR")] if keys is None else columns
    empty = ",\n    ".join(f'NULL::{kind} AS "{column}"' for column, kind in empty_columns)
    if keys is None:
        # gaps: the isin is the file's (a code that is no ISIN is filed under isin=_unknown),
        # the date the folder's; a gap that just closed can sit both in open.parquet (which
        # each batch rewrites, so it is read by glob) and in a part file: the closed one shows.
        options = "hive_partitioning = false, filename = true"
        selected = quoted.replace('"date"', f'{_GAPS_DATE} AS "date"')
        dedup = (
            '\nQUALIFY row_number() OVER (PARTITION BY "segment", "offset" '
            'ORDER BY "end_ts" IS NULL, "close_segment", "close_offset") = 1'
        )
    else:
        types = ", ".join(f"'{k}': {'DATE' if k == 'date' else 'VARCHAR'}" for k in keys)
        options = f"hive_partitioning = true, hive_types = {{{types}}}"
        selected, dedup = quoted, ""
    return [
        f"CREATE OR REPLACE MACRO bondtape_empty_{name}() AS TABLE\nSELECT {empty}\nWHERE false",
        f"CREATE OR REPLACE MACRO bondtape_read_{name}(files) AS TABLE\n"
        f"SELECT {selected}\nFROM (\n"
        f"    FROM read_parquet(files, {options}, allow_empty = true)\n"
        f"    UNION ALL BY NAME\n    FROM bondtape_empty_{name}()\n){dedup}",
    ]
