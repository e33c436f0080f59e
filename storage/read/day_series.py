"""One ISIN's Seoul day as the series a chart draws: its best bid and ask with mid, spread and
level-1 quantities quote by quote, its trades, and the times its feeds were not recorded.

Values here are for the eye: prices become floats (DOUBLE) and times naive Seoul wall times,
which is what a plotting library takes; the lake keeps the exact values. A day of more than
``max_points`` quotes is thinned in DuckDB to the last book of each of ``max_points`` equal
time buckets from its first quote, which is what a step chart of that width can show
anyway; trades are kept whole (each is a dot that matters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from storage.read.queries import run_sql

MAX_POINTS = 4000
"""Quotes drawn at most: about two per pixel column of a 20-inch chart at 100 dpi."""

Span = tuple[dt.datetime, dt.datetime | None]
"""A gap: from its start to its end in Seoul wall time; None while still open."""

_QUOTE_KEY = 'recv_ns, segment, "offset", record_index'

# A side is present when its level-1 quantity is above 0 (KIS sends an empty level as zeros),
# as sql/queries/mid_spread.sql decides; an absent side is NULL, which a chart leaves blank.
_QUOTES_SQL = f"""
SELECT
    timezone('Asia/Seoul', recv_ts) AS time,
    CASE WHEN bid_qty_1 > 0 THEN CAST(bid_price_1 AS DOUBLE) END AS bid,
    CASE WHEN ask_qty_1 > 0 THEN CAST(ask_price_1 AS DOUBLE) END AS ask,
    CASE WHEN two_sided THEN CAST((bid_price_1 + ask_price_1) * 0.5 AS DOUBLE) END AS mid,
    CASE WHEN two_sided THEN CAST(ask_price_1 - bid_price_1 AS DOUBLE) END AS spread,
    CASE WHEN bid_qty_1 > 0 THEN bid_qty_1 END AS bid_qty,
    CASE WHEN ask_qty_1 > 0 THEN ask_qty_1 END AS ask_qty
FROM (
    SELECT *, bid_qty_1 > 0 AND ask_qty_1 > 0 AS two_sided FROM quotes_between($date, $date)
)
WHERE isin = $isin
-- thinned ($bucket_ns > 0): the last quote of each bucket of $bucket_ns nanoseconds from
-- the day's first quote
QUALIFY $bucket_ns = 0 OR row_number() OVER (
    PARTITION BY (recv_ns - $first_ns) // greatest($bucket_ns, 1)
    ORDER BY recv_ns DESC, segment DESC, "offset" DESC, record_index DESC
) = 1
ORDER BY {_QUOTE_KEY}
"""

_SPAN_SQL = """
SELECT count(*), min(recv_ns), max(recv_ns)
FROM quotes_between($date, $date)
WHERE isin = $isin
"""

_TRADES_SQL = f"""
SELECT timezone('Asia/Seoul', recv_ts) AS time, CAST(trade_price AS DOUBLE) AS price,
    trade_qty AS qty
FROM trades_between($date, $date)
WHERE isin = $isin
ORDER BY {_QUOTE_KEY}
"""

# Both TRs: a dropped connection stops the book and the trades alike.
_GAPS_SQL = """
SELECT timezone('Asia/Seoul', start_ts) AS start, timezone('Asia/Seoul', end_ts) AS "end"
FROM gaps_between($date, $date)
WHERE isin = $isin
ORDER BY start_ts
"""


@dataclass(frozen=True, slots=True)
class DaySeries:
    isin: str
    date: dt.date
    name: str | None
    quotes: pa.Table  # time, bid, ask, mid, spread, bid_qty, ask_qty; nulls where absent
    quote_count: int  # quotes of the day, before thinning
    trades: pa.Table  # time, price, qty
    gaps: tuple[Span, ...]  # merged, in order

    @property
    def thinned(self) -> bool:
        return self.quotes.num_rows < self.quote_count


def day_series(
    con: duckdb.DuckDBPyConnection,
    isin: str,
    date: dt.date,
    name: str | None = None,
    max_points: int = MAX_POINTS,
) -> DaySeries:
    """``isin``'s series on the Seoul ``date``, its quotes thinned to at most about
    ``max_points`` (see the module's docstring).

    Raises:
        StorageError: DuckDB cannot read the lake through the catalog.
    """
    params: dict[str, object] = {"isin": isin, "date": date}
    count, first_ns, last_ns = run_sql(con, _SPAN_SQL, params).to_pylist()[0].values()
    bucket_ns = 0
    if count > max_points:
        bucket_ns = max(1, -(-(last_ns - first_ns + 1) // max_points))  # ceiling division
    quotes = run_sql(con, _QUOTES_SQL, {**params, "bucket_ns": bucket_ns, "first_ns": first_ns})
    gaps = run_sql(con, _GAPS_SQL, params).to_pylist()
    return DaySeries(
        isin=isin,
        date=date,
        name=name,
        quotes=quotes,
        quote_count=count,
        trades=run_sql(con, _TRADES_SQL, params),
        gaps=merge_spans((row["start"], row["end"]) for row in gaps),
    )


def merge_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Overlapping or touching spans as one, in order; an open span (end None) swallows all
    that start after it. The feeds of one connection drop together, and a chart shades each
    stretch once."""
    merged: list[Span] = []
    for start, end in sorted(spans, key=lambda span: span[0]):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                continue
            if start <= last_end:
                merged[-1] = (last_start, None if end is None else max(last_end, end))
                continue
        merged.append((start, end))
    return tuple(merged)
