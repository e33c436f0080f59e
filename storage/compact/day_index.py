"""Two structures a compacted day gets beside its per-ISIN files, so that the book of every
ISIN at an instant (``book_asof``) reads a few thousand rows, not the whole day (their
folders are named in :data:`storage.lake.INDEXES`, which a rebuild reads too):

- ``hist/quotes_by_time/date=D/``: the day's quotes in one file sorted by receive time, in
  small row groups whose recv_ts statistics let a reader skip all but the minutes it asks for;
- ``hist/books_by_minute/date=D/``: for every ISIN and every minute boundary from its first
  book to the end of the Seoul day, the last book received before that boundary (forward
  filled: an illiquid bond's last book can be hours old).

The book at ``at`` is then the latest, per ISIN, of the snapshot at ``at``'s minute, the
time-sorted rows from that minute to ``at``, and any live rows of the day (normalized after
the compaction). Both files are derived from the day's hist files, named for the range they
cover like every lake file, and rewritten whenever the day is compacted again.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from capture.clock import SEOUL
from storage.schemas import QUOTES

TIME_ROW_GROUP = 16_384
"""About four minutes of a busy day's quotes: what a reader of one minute reads at most."""
MINUTE_ROW_GROUP = 8_192

_LINEAGE_DESC = 'recv_ns DESC, segment DESC, "offset" DESC, record_index DESC'


def by_time(quotes: pa.Table) -> pa.Table:
    """The day's quotes sorted by receive time, ties in lineage order."""
    keys = ["recv_ns", "segment", "offset", "record_index"]
    return quotes.sort_by([(k, "ascending") for k in keys])


def books_by_minute(quotes: pa.Table, day: dt.date) -> pa.Table:
    """For each ISIN and minute boundary (from the minute after its first book to the end of
    ``day`` in Seoul), the last book received strictly before it, with ``minute`` first."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=SEOUL)
    con = duckdb.connect()
    try:
        con.register("quotes", quotes)
        table = con.sql(
            f"""
            WITH last_per_us AS (  -- of one ISIN's books in one microsecond, the last received
                FROM quotes
                QUALIFY row_number() OVER (PARTITION BY isin, recv_ts ORDER BY {_LINEAGE_DESC}) = 1
            ),
            grid AS (
                SELECT isin, unnest(generate_series(
                    time_bucket(INTERVAL 1 minute, min(recv_ts)) + INTERVAL 1 minute,
                    $end::TIMESTAMPTZ, INTERVAL 1 minute)) AS minute
                FROM last_per_us GROUP BY isin
            )
            SELECT grid.minute, last_per_us.*
            FROM grid ASOF JOIN last_per_us
              ON grid.isin = last_per_us.isin AND last_per_us.recv_ts < grid.minute
            ORDER BY grid.minute, grid.isin
            """,
            params={"end": end},
        ).to_arrow_table()
    finally:
        con.close()
    fields = [pa.field("minute", pa.timestamp("us", tz="UTC"), nullable=False), *QUOTES.schema]
    return table.select([f.name for f in fields]).cast(pa.schema(fields))
