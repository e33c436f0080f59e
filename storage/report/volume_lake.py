"""The lake's side of volume continuity: one day's trades, the gaps of their (H0BJCNT0, ISIN)
pairs and each ISIN's first record, read through the catalog and checked by
:mod:`storage.report.volume`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from capture.errors import StorageError
from storage.read import open_catalog
from storage.report.volume import KRX_TRADING_OPEN, Continuity, Gap, Trade, continuity

_TRADES = """
    SELECT isin, epoch_us(recv_ts), trade_qty, cum_volume FROM trades WHERE date = $date
    ORDER BY isin, recv_ns, segment, "offset", record_index
"""
_FIRST = """
    SELECT isin, epoch_us(min(recv_ts)) FROM (
        SELECT isin, recv_ts FROM trades WHERE date = $date
        UNION ALL SELECT isin, recv_ts FROM quotes WHERE date = $date
    ) GROUP BY isin
"""
# Gaps of any date that reach into the day: one opened the evening before may cover the open.
_GAPS = """
    SELECT isin, epoch_us(start_ts), epoch_us(end_ts) FROM gaps
    WHERE tr_id = 'H0BJCNT0' AND start_ts < timezone('Asia/Seoul', $date + INTERVAL 1 DAY)
        AND (end_ts IS NULL OR end_ts >= timezone('Asia/Seoul', CAST($date AS TIMESTAMP)))
"""


def day_continuity(
    con: duckdb.DuckDBPyConnection, day: dt.date, market_open: dt.time = KRX_TRADING_OPEN
) -> list[Continuity]:
    """Every ISIN with trades on ``day``, by ISIN.

    Raises:
        StorageError: DuckDB cannot answer (a lake file cannot be read).
    """
    params = {"date": day}
    try:
        trade_rows = con.execute(_TRADES, params).fetchall()
        first = dict(con.execute(_FIRST, params).fetchall())
        gap_rows = con.execute(_GAPS, params).fetchall()
    except duckdb.Error as exc:
        raise StorageError(f"report: cannot read trades and gaps from the catalog: {exc}") from exc
    trades: dict[str, list[Trade]] = {}
    for isin, recv_us, qty, cum in trade_rows:
        trades.setdefault(isin, []).append(Trade(recv_us, qty, cum))
    gaps: dict[str, list[Gap]] = {}
    for isin, start_us, end_us in gap_rows:
        gaps.setdefault(isin, []).append(Gap(start_us, end_us))
    return [
        continuity(
            isin, day, rows, gaps.get(isin, []), first_record_us=first[isin],
            market_open=market_open,
        )
        for isin, rows in trades.items()
    ]  # fmt: skip


def volume_today(data_dir: Path, day: dt.date) -> dict[str, int] | None:
    """``day``'s missing volume over every ISIN, silent and explained, for ``bondtape status``
    and the daemon's metrics; None when the catalog cannot be read (none built yet, or the
    catalog job holds it this instant)."""
    try:
        with open_catalog(data_dir) as con:
            days = day_continuity(con, day)
    except StorageError:
        return None
    return {
        "isins": len(days),
        "silent_volume": sum(c.silent_volume for c in days),
        "explained_volume": sum(c.explained_volume for c in days),
        "silent_jumps": sum(not j.explained for c in days for j in c.jumps),
    }
