"""The integrity report's questions to the catalog, for one Seoul date: rows per partition and
raw segment, the lineage of a partition, rejects per reason, and the time anomalies.

Each function takes a catalog connection whose session is in Seoul time
(:func:`storage.read.queries.open_catalog`), so instants come back as Seoul wall times, and reads
both tiers through the views, as every user of the lake does.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import duckdb
import pyarrow as pa

from capture.errors import StorageError
from storage.report.ledger import FEEDS, REJECTS_TABLE, Lineage, Partition

_COUNTS = (
    " UNION ALL ".join(
        f"SELECT '{name}' AS tbl, isin, segment, count(*) AS n "
        f"FROM {name}_between($date, $date) GROUP BY ALL"
        for name in FEEDS
    )
    + f" UNION ALL SELECT '{REJECTS_TABLE}', NULL, segment, count(*) "
    f"FROM {REJECTS_TABLE}_between($date, $date) GROUP BY ALL"
)

_FEED_ROWS = " UNION ALL ".join(
    f"SELECT '{name}' AS \"table\", isin, recv_ns, recv_ts, exch_time, exch_ts, segment, "
    f'"offset", record_index FROM {name}_between($date, $date)'
    for name in FEEDS
)

_BACKWARDS = f"""
    WITH stepped AS (
        SELECT *,
            lag(exch_time) OVER feed AS previous_exch_time,
            lag(exch_ts) OVER feed AS previous_exch_ts
        FROM ({_FEED_ROWS})
        WINDOW feed AS (
            PARTITION BY "table", isin ORDER BY recv_ns, segment, "offset", record_index)
    )
    SELECT "table", isin, recv_ts, previous_exch_time, exch_time,
        date_diff('second', exch_ts, previous_exch_ts) AS back_s,
        segment, "offset", record_index
    FROM stepped
    WHERE exch_ts < previous_exch_ts
"""
"""Each row whose exch_ts is before that of the row received just before it on its feed
(table, ISIN). ``exch_ts`` rather than the text ``exch_time``: it is dated nearest the
receive time, so 235959 then 000001 across midnight is a step forward."""

_FAR = f"""
    SELECT "table", isin, recv_ts, exch_time,
        CAST(date_diff('microsecond', exch_ts, recv_ts) * 0.000001 AS DECIMAL(18, 6))
            AS recv_minus_exch_s,
        segment, "offset", record_index
    FROM ({_FEED_ROWS})
    WHERE abs(date_diff('microsecond', exch_ts, recv_ts)) > $threshold_us
"""
"""Each row received more than the threshold before or after its exchange time."""


def _run(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object], what: str
) -> pa.Table:
    """Raises: StorageError: DuckDB cannot answer (a lake file cannot be read)."""
    try:
        return con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as exc:
        raise StorageError(f"report: cannot read {what} from the catalog: {exc}") from exc


def lake_counts(
    con: duckdb.DuckDBPyConnection, day: dt.date
) -> Counter[tuple[str, str | None, str]]:
    """Rows of ``day`` per (table, isin, segment) in quotes, trades and rejects (isin None).

    Raises:
        StorageError: the catalog cannot be read.
    """
    rows = _run(con, _COUNTS, {"date": day}, "the row counts").to_pylist()
    return Counter({(r["tbl"], r["isin"], r["segment"]): r["n"] for r in rows})


def lake_lineage(
    con: duckdb.DuckDBPyConnection, day: dt.date, partition: Partition
) -> Counter[Lineage]:
    """How many rows of one partition of ``day`` come from each (segment, offset,
    record_index): more than one is a row held twice.

    Raises:
        StorageError: the catalog cannot be read.
        ValueError: the table is not one of the lake's.
    """
    table, isin = partition
    if table not in (*FEEDS, REJECTS_TABLE):
        raise ValueError(f"no lake table {table!r}")
    where = "true" if isin is None else "isin = $isin"
    params: dict[str, object] = {"date": day} | ({} if isin is None else {"isin": isin})
    sql = (
        f'SELECT segment, "offset", record_index, count(*) AS n '
        f"FROM {table}_between($date, $date) WHERE {where} GROUP BY ALL"
    )
    rows = _run(con, sql, params, f"the lineage of {table}").to_pylist()
    return Counter({(r["segment"], r["offset"], r["record_index"]): r["n"] for r in rows})


def reject_reasons(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[tuple[str, int]]:
    """(reason, rejects) of ``day``, by reason.

    Raises:
        StorageError: the catalog cannot be read.
    """
    sql = (
        f"SELECT reason, count(*) AS n FROM {REJECTS_TABLE}_between($date, $date) "
        "GROUP BY ALL ORDER BY reason"
    )
    rows = _run(con, sql, {"date": day}, "the rejects").to_pylist()
    return [(r["reason"], r["n"]) for r in rows]


def _per_feed(
    con: duckdb.DuckDBPyConnection,
    anomalies: str,
    measure: str,
    name: str,
    params: dict[str, object],
) -> pa.Table:
    sql = (
        f'SELECT "table", isin, count(*) AS count, max({measure}) AS {name} '
        f"FROM ({anomalies}) GROUP BY ALL ORDER BY ALL"
    )
    return _run(con, sql, params, "the time anomalies")


def _worst(
    con: duckdb.DuckDBPyConnection, anomalies: str, measure: str, params: dict[str, object], n: int
) -> pa.Table:
    sql = f'FROM ({anomalies}) ORDER BY {measure} DESC, recv_ts, segment, "offset" LIMIT {int(n)}'
    return _run(con, sql, params, "the time anomalies")


def exch_time_backwards(
    con: duckdb.DuckDBPyConnection, day: dt.date, worst: int
) -> tuple[pa.Table, pa.Table]:
    """Rows whose exchange time is before that of the row received before them on the same
    feed: per feed (table, ISIN) their count and largest step back in seconds, and the
    ``worst`` largest steps.

    Raises:
        StorageError: the catalog cannot be read.
    """
    params: dict[str, object] = {"date": day}
    return (
        _per_feed(con, _BACKWARDS, "back_s", "worst_back_s", params),
        _worst(con, _BACKWARDS, "back_s", params, worst),
    )


def recv_far_from_exch(
    con: duckdb.DuckDBPyConnection, day: dt.date, threshold_us: int, worst: int
) -> tuple[pa.Table, pa.Table]:
    """Rows received more than ``threshold_us`` from their exchange time, either way: per feed
    their count and largest distance in seconds, and the ``worst`` farthest.

    Raises:
        StorageError: the catalog cannot be read.
    """
    params: dict[str, object] = {"date": day, "threshold_us": threshold_us}
    return (
        _per_feed(con, _FAR, "abs(recv_minus_exch_s)", "worst_s", params),
        _worst(con, _FAR, "abs(recv_minus_exch_s)", params, worst),
    )
