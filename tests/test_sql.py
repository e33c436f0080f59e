"""The named queries ship with the package and run on real DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import sql
from capture.kis.layouts import LAYOUTS
from capture.kis.protocol import data_frame
from storage.normalizer import normalize
from tests.storage.rawdata import ISINS, RawLog, record

BOOK = ("isin", "exch_time", "bid_qty_1", "bid_yield_1", "bid_price_1", "ask_price_1")
BOOK += ("ask_yield_1", "ask_qty_1")


def test_latest_books_is_the_last_record_received_per_isin_with_its_values_as_sent(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path)
    log.frames(40)
    # Last, one frame of two records for one ISIN: one recv_ns, the second record is latest.
    pair = [record(log.rng, "H0BJASP0", ISINS[0]) for _ in range(2)]
    log.send(data_frame("H0BJASP0", pair).encode())
    log.expected["quotes"] += pair
    log.writer.close()
    normalize(tmp_path)
    files = [str(p) for p in sorted((tmp_path / "lake" / "live" / "quotes").rglob("*.parquet"))]
    rows = duckdb.connect().execute(sql.query("latest_books"), [files]).fetchall()

    columns = [f.column for f in LAYOUTS["H0BJASP0"].fields]
    last = {rec[columns.index("isin")]: rec for rec in log.expected["quotes"]}
    assert sorted(last) == sorted(ISINS)
    assert [[str(v) for v in row] for row in rows] == [
        [last[isin][columns.index(c)] for c in BOOK] for isin in sorted(last)
    ]


def test_an_unknown_query_name_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        sql.query("no_such_query")
