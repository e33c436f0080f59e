"""``bondtape.Lake``, the Python API: on a real lake (live files of known rows, or raw logs
normalized for real) and its real catalog, each call answers with the values the lake holds,
lazily where it hands out relations, and sees the catalog as it is at the call."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest

import bondtape
from capture.clock import SEOUL
from storage.normalize.normalizer import normalize
from storage.read.catalog import CATALOG_NAME, build_catalog
from tests.support.catalog_data import (
    CORP,
    DAY,
    GOV,
    NEXT_DAY,
    catalog_dir,
    gap,
    quote,
    trade,
)
from tests.support.rawdata import RawLog
from tests.support.rawlog import seoul_ns

DAY1, DAY2 = dt.date.fromisoformat(DAY), dt.date.fromisoformat(NEXT_DAY)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Two days: GOV quoted twice and traded on DAY, CORP quoted on both days, a gap."""
    return catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, f"{DAY} 10:00:00", offset=1),
            quote(GOV, f"{DAY} 10:05:00", bid=("10561.00", "3.019", 300), offset=5),
            quote(CORP, f"{DAY} 10:01:00", offset=2),
            quote(CORP, f"{NEXT_DAY} 09:00:00", offset=7),
        ],
        trades=[trade(GOV, f"{DAY} 10:02:00", "10570.00", 700, offset=3)],
        gaps=[gap(GOV, f"{DAY} 11:00:00", f"{DAY} 11:00:30")],
    )


def test_a_lake_lists_the_dates_and_isins_recorded(data: Path) -> None:
    with bondtape.Lake(data) as lake:
        assert lake.dates() == [DAY1, DAY2]
        assert lake.isins() == sorted([GOV, CORP])
        assert lake.isins(NEXT_DAY) == [CORP]
        assert lake.isins(DAY, NEXT_DAY) == sorted([GOV, CORP])


def test_tables_are_lazy_relations_of_the_dates_and_isins_asked_in_receipt_order(
    data: Path,
) -> None:
    with bondtape.Lake(data) as lake:
        quotes = lake.quotes(DAY)
        assert isinstance(quotes, duckdb.DuckDBPyRelation)
        rows = quotes.arrow().read_all().to_pylist()
        assert [(r["isin"], r["offset"]) for r in rows] == [(GOV, 1), (CORP, 2), (GOV, 5)]
        assert rows[2]["bid_price_1"] == Decimal("10561.00") and rows[2]["date"] == DAY1
        corp = lake.quotes(DAY, NEXT_DAY, isins=CORP).select("date").fetchall()
        assert corp == [(DAY1,), (DAY2,)]
        assert lake.quotes(DAY, NEXT_DAY, isins=[GOV]).count("*").fetchall() == [(2,)]
        # (.df() needs pandas, which the lock does not hold; .pl() and .arrow() are tested.)
        assert lake.trades(DAY).select("isin", "trade_qty").fetchall() == [(GOV, 700)]
        polars = lake.gaps(DAY).pl()
        assert isinstance(polars, pl.DataFrame)
        assert polars.select("isin", "reason").rows() == [(GOV, "connection closed")]
        assert lake.trades(NEXT_DAY).fetchall() == []


def test_a_book_is_the_latest_quote_of_its_day_at_the_instant(data: Path) -> None:
    with bondtape.Lake(data) as lake:
        early = lake.book(GOV, "2026-11-26 10:04:59")  # Seoul: no offset given
        late = lake.book(GOV, dt.datetime(2026, 11, 26, 1, 5, tzinfo=dt.UTC))
        assert early is not None and late is not None
        assert (early.offset, early.bids[0].price) == (1, Decimal("10560.00"))
        assert (late.offset, late.bids[0].qty) == (5, 300)
        assert late.mid == Decimal("10568.000")
        assert lake.book(GOV, dt.datetime(2026, 11, 26, 9, 59)) is None  # before any quote
        books = lake.books_asof(dt.datetime(2026, 11, 26, 10, 30, tzinfo=SEOUL))
        assert books.select("isin", '"offset"').fetchall() == [(CORP, 2), (GOV, 5)]
        only = lake.books_asof("2026-11-26 10:30", isins=[CORP])
        assert only.select("isin").fetchall() == [(CORP,)]


def test_named_queries_and_sql_take_python_values_and_run_lazily(data: Path) -> None:
    with bondtape.Lake(data) as lake:
        summary = lake.query("trades_summary", date=DAY1, to_date=DAY1, isins=[GOV])
        assert isinstance(summary, duckdb.DuckDBPyRelation)
        (row,) = summary.arrow().read_all().to_pylist()
        assert (row["isin"], row["trades"], row["volume"]) == (GOV, 1, 700)
        mids = lake.query("mid_spread", isin=CORP).select("mid_price").fetchall()
        assert mids == [(Decimal("10567.500"),), (Decimal("10567.500"),)]
        assert lake.sql("SELECT count(*) FROM quotes WHERE isin = $isin", isin=GOV).fetchall() == [
            (2,)
        ]


def test_events_and_batches_are_the_streams_of_the_dates_asked(data: Path) -> None:
    with bondtape.Lake(data) as lake:
        kinds = [(e.kind, e.isin, e.offset) for e in lake.events(DAY)]
        assert kinds == [
            ("quote", GOV, 1),
            ("quote", CORP, 2),
            ("trade", GOV, 3),
            ("quote", GOV, 5),
        ]
        batches = list(lake.event_batches(DAY, NEXT_DAY, isins=CORP, batch_rows=1))
        assert [b.num_rows for b in batches] == [1, 1]
        assert all(b.schema.equals(bondtape.EVENT_SCHEMA) for b in batches)
        assert pa.Table.from_batches(batches).column("date").to_pylist() == [DAY1, DAY2]


def test_each_call_sees_the_catalog_as_rebuilt_since_and_older_relations_still_run(
    data: Path,
) -> None:
    with bondtape.Lake(data) as lake:
        before = lake.quotes(DAY)
        with pytest.raises(bondtape.StorageError, match="marker"):
            lake.sql("FROM marker")
        replace_catalog_with_a_marker_view(data)
        assert lake.sql("FROM marker").fetchall() == [(42,)]  # opened afresh
        assert before.count("*").fetchall() == [(3,)]  # made on the old catalog, still runs
        (data / CATALOG_NAME).unlink()
        with pytest.raises(bondtape.StorageError, match="build it first with `bondtape catalog"):
            lake.dates()


def replace_catalog_with_a_marker_view(data: Path) -> None:
    """The catalog rebuilt as a job rebuilds it (a new file renamed over the old), holding
    one view more."""
    build_catalog(data)
    tmp = data / "marked.duckdb"
    os.replace(data / CATALOG_NAME, tmp)
    con = duckdb.connect(str(tmp))
    con.execute("CREATE VIEW marker AS SELECT 42 AS answer")
    con.close()
    os.replace(tmp, data / CATALOG_NAME)


def test_mistakes_are_reported_at_the_call_with_what_to_do(data: Path, tmp_path: Path) -> None:
    with pytest.raises(bondtape.StorageError, match=r"no catalog at .* build it first"):
        bondtape.Lake(tmp_path / "nowhere")
    lake = bondtape.Lake(data)
    with pytest.raises(bondtape.ConfigError, match="YYYY-MM-DD"):
        lake.quotes("26/11/2026")
    with pytest.raises(bondtape.ConfigError, match="ends before it starts"):
        lake.trades(NEXT_DAY, DAY)
    with pytest.raises(bondtape.ConfigError, match="not an ISIN"):
        lake.quotes(DAY, isins=["KR103502GD3"])
    with pytest.raises(bondtape.ConfigError, match="not an ISIN"):
        lake.book("GOV", "2026-11-26 10:00")
    with pytest.raises(bondtape.ConfigError, match="give an instant"):
        lake.book(GOV, "at ten")
    with pytest.raises(bondtape.ConfigError, match="no such query"):
        lake.query("nope")
    with pytest.raises(bondtape.ConfigError, match="needs at=VALUE"):
        lake.query("book_asof")
    with pytest.raises(bondtape.ConfigError, match="not a TIMESTAMPTZ"):
        lake.query("book_asof", at="ten o'clock")
    with pytest.raises(bondtape.ConfigError, match="YYYY-MM-DD"):
        lake.events("tomorrow")
    lake.close()
    with pytest.raises(bondtape.StorageError, match="is closed: open a new one"):
        lake.quotes(DAY)


def test_the_report_of_a_day_balances_raw_against_the_lake(tmp_path: Path) -> None:
    log = RawLog(tmp_path, start_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    log.frames(30)
    log.writer.close()
    normalize(tmp_path)
    build_catalog(tmp_path)
    with bondtape.Lake(tmp_path) as lake:
        report = lake.report(DAY)
    assert isinstance(report, bondtape.Report) and report.balanced
    owed = {p.table: 0 for p in report.partitions}
    for p in report.partitions:
        owed[p.table] += p.found
    assert owed["quotes"] == len(log.expected["quotes"]) > 0
    assert owed["trades"] == len(log.expected["trades"]) > 0
    assert report.to_json()["settings"]["session_open"] == "08:00:00"


def test_python_m_bondtape_runs_the_command_line(data: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bondtape", "sql", "--data-dir", str(data),
         "SELECT count(*) AS n FROM trades"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["n", "1"] or "1" in done.stdout.split()
