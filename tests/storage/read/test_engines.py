"""Spark and Polars read every lake table with the very values DuckDB reads.

A desk that outgrows one machine points other engines at the same Parquet files, so each
table of a lake written by the real normalizer is read by each engine and compared row by row
with DuckDB: decimals exact, timestamps the same UTC instants to the microsecond, strings,
integers and bytes equal, and the types the same (a timestamp read as naive, a decimal as a
float, fails).

Both tiers: the normalizer's files (live) and the same lake compacted (hist, one sorted file
per partition). Which columns come from the path: Spark reads each table's hive tree
(``live/TABLE``), as a desk would, and takes ``date`` and, for quotes, trades and gaps,
``isin`` from the directory names, so it is compared with DuckDB reading the tree the same
way. Polars reads the files themselves, with no path columns, and is compared with DuckDB
reading the files. Between them every column the files hold and every column the paths add is
compared."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from storage.compact.compaction import compact
from storage.normalize.normalizer import normalize
from tests.support.rawdata import ISINS, START_NS, RawLog

TABLES = ("quotes", "trades", "gaps", "rejects")
NO_ISIN = "no-such-isin"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake of two Seoul days: plain, encrypted and multi-record frames, rejects, and gaps
    (closed, open, and one whose ISIN is no ISIN, filed under ``isin=_unknown``)."""
    data_dir = tmp_path_factory.mktemp("engines")
    log = RawLog(data_dir)
    log.frames(40)
    log.ack(1, "H0BJASP0")
    log.ack(1, "H0BJCNT0")
    log.frames(20, encrypted=True)
    log.malformed()
    gap = {"conn": 1, "tr_id": "H0BJASP0", "isin": ISINS[0]}
    log.event(type="gap_open", start_ns=START_NS - 7_123, reason="disconnect", **gap)
    log.event(type="gap_open", conn=1, tr_id="H0BJCNT0", isin=NO_ISIN, start_ns=1, reason="x")
    log.frames(10, conn_id=2)
    log.event(type="gap_close", end_ns=START_NS + 9_456, **gap)
    log.clock.advance(24 * 3600)  # the next Seoul day
    log.event(type="gap_open", conn=2, tr_id="H0BJCNT0", isin=ISINS[1], start_ns=START_NS,
              reason="dropped")  # fmt: skip
    log.frames(30)
    log.writer.close()
    normalize(data_dir, batch_records=50)
    return data_dir / "lake" / "live"


@pytest.fixture(scope="module")
def tiers(live: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The lake as the normalizer left it (live), and a copy of it compacted (hist)."""
    copy = tmp_path_factory.mktemp("compacted") / "data"
    shutil.copytree(live.parent.parent, copy)
    assert compact(copy).days  # both days are closed: no writer, all normalized
    return {"live": live, "hist": copy / "lake" / "hist"}


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One local session for the module: its start (a JVM, seconds) is most of the cost."""
    session = (
        SparkSession.builder.master("local[1]")
        .appName("bondtape-test-engines")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        # A short-lived JVM: the quick JIT tier and a plain GC took 1.5 s off start + reads.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        # Not UTC, so a timestamp that is equal is the same instant, not the same wall time.
        .config("spark.sql.session.timeZone", "Asia/Seoul")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _duckdb(live: Path, table: str, *, hive: bool) -> pa.Table:
    files = f"{live / table}/**/*.parquet"
    sql = f"SELECT * FROM read_parquet('{files}', hive_partitioning = {hive})"
    return duckdb.connect().sql(sql).to_arrow_table()


def _type(t: pa.DataType) -> str:
    """A column's type, up to how each engine lays the same values out in Arrow."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_timestamp(t):
        return f"timestamp[{t.unit}, {'UTC-adjusted' if t.tz else 'naive'}]"
    return str(t)


def _rows(table: pa.Table) -> list[dict]:
    """Python values (Decimal, aware datetime, str, int, bytes), in lineage order."""
    lineage = [c for c in ("segment", "offset", "record_index") if c in table.column_names]
    return sorted(
        table.to_pylist(), key=lambda row: tuple(-1 if row[c] is None else row[c] for c in lineage)
    )


def _assert_same(got: pa.Table, want: pa.Table) -> None:
    assert {f.name: _type(f.type) for f in got.schema} == {
        f.name: _type(f.type) for f in want.schema
    }
    assert want.num_rows > 0
    assert _rows(got) == _rows(want)


@pytest.mark.parametrize("tier", ["live", "hist"])
@pytest.mark.parametrize("table", TABLES)
def test_spark_reads_every_row_of_the_hive_tree_as_duckdb_does(
    spark: SparkSession, tiers: dict[str, Path], table: str, tier: str
) -> None:
    got = spark.read.parquet(str(tiers[tier] / table)).toArrow()
    assert "date" in got.column_names  # from the path
    _assert_same(got, _duckdb(tiers[tier], table, hive=True))


@pytest.mark.parametrize("tier", ["live", "hist"])
@pytest.mark.parametrize("table", TABLES)
def test_polars_reads_every_row_of_the_files_as_duckdb_does(
    tiers: dict[str, Path], table: str, tier: str
) -> None:
    files = sorted(str(p) for p in (tiers[tier] / table).rglob("*.parquet"))
    got = pl.read_parquet(files, hive_partitioning=False).to_arrow()
    assert "date" not in got.column_names  # no path column
    _assert_same(got, _duckdb(tiers[tier], table, hive=False))


def test_readers_of_the_tree_take_isin_from_the_path_where_a_gap_of_no_isin_is_unknown(
    spark: SparkSession, live: Path
) -> None:
    from_path = spark.read.parquet(str(live / "gaps")).select("isin", "reason").collect()
    from_files = _duckdb(live, "gaps", hive=False).select(["isin", "reason"]).to_pylist()
    assert ("_unknown", "x") in [tuple(row) for row in from_path]
    assert {"isin": NO_ISIN, "reason": "x"} in from_files
