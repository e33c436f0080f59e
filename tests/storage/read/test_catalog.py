"""catalog.duckdb: typed views over an empty lake, a snapshot per connection, each gap once,
the real text of a gap's code, and a file any DuckDB client opens read-only from anywhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa

from storage.compact.compaction import compact
from storage.normalize.normalizer import normalize
from storage.read.catalog import build_catalog, connect
from storage.schemas import TABLES
from tests.support.rawdata import ISINS, RawLog

DUCKDB_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.int8(): "TINYINT",
    pa.string(): "VARCHAR",
    pa.binary(): "BLOB",
}


def duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    return DUCKDB_TYPES[t]


def test_an_empty_lake_gives_empty_views_with_the_schema_columns_and_types(tmp_path: Path) -> None:
    build_catalog(tmp_path)
    con = connect(tmp_path)
    for name, table in TABLES.items():
        described = [(row[0], row[1]) for row in con.sql(f"DESCRIBE {name}").fetchall()]
        expected = [(c.name, duckdb_type(c.type)) for c in table.columns] + [("date", "DATE")]
        assert described == expected, name
        assert con.sql(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]


def test_a_connection_keeps_its_snapshot_while_the_lake_is_written_and_reopening_shows_the_rest(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path)
    log.frames(10)
    normalize(tmp_path)  # commits: the catalog exists without a separate step
    con = connect(tmp_path)
    first = con.sql("SELECT count(*) FROM quotes").fetchall()[0][0]
    log.frames(30)
    log.writer.close()
    normalize(tmp_path)
    compact(tmp_path)  # hist appears, live is replaced (kept for the retention)
    assert con.sql("SELECT count(*) FROM quotes").fetchall()[0][0] == first
    rows = connect(tmp_path).sql("SELECT count(*) FROM quotes").fetchall()[0][0]
    assert rows == len(log.expected["quotes"]) > first


def test_a_gap_in_open_parquet_and_in_a_part_file_shows_once_as_closed(tmp_path: Path) -> None:
    log = RawLog(tmp_path)
    pair = ("H0BJASP0", ISINS[0])
    log.event(type="gap_open", conn=1, tr_id=pair[0], isin=pair[1], start_ns=1, reason="x")
    log.event(type="gap_open", conn=1, tr_id="H0BJCNT0", isin="no-such-isin", start_ns=2,
              reason="y")  # fmt: skip
    normalize(tmp_path)
    opened = next((tmp_path / "lake" / "live" / "gaps").rglob(f"isin={pair[1]}/open.parquet"))
    kept = tmp_path / "open.parquet"
    shutil.copy(opened, kept)
    log.event(type="gap_close", conn=2, tr_id=pair[0], isin=pair[1], end_ns=3)
    log.writer.close()
    normalize(tmp_path)
    assert not opened.exists()
    shutil.copy(kept, opened)  # the instant both files hold the gap
    build_catalog(tmp_path)
    rows = connect(tmp_path).sql("SELECT isin, end_ts IS NULL FROM gaps ORDER BY isin").fetchall()
    assert rows == [(pair[1], False), ("no-such-isin", True)]  # the file's text, not _unknown


def test_any_duckdb_client_opens_the_catalog_read_only_from_another_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = RawLog(data)
    log.frames(12)
    log.writer.close()
    normalize(data)
    build_catalog(data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.sql('SELECT count(*) FROM quotes').fetchall()[0][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(data / "catalog.duckdb")],
        cwd=elsewhere, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert int(out.stdout) == len(log.expected["quotes"]) > 0


def test_a_query_connection_keeps_working_while_the_catalog_is_rebuilt_and_the_lake_compacted(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path)
    log.frames(20)
    log.writer.close()
    normalize(tmp_path, batch_records=5)
    build_catalog(tmp_path)
    reader = connect(tmp_path)
    before = reader.sql("SELECT count(*) FROM trades").fetchall()
    build_catalog(tmp_path)  # a job rewrites the catalog under the reader
    compact(tmp_path)
    assert reader.sql("SELECT count(*) FROM trades").fetchall() == before
    assert (
        duckdb.connect(str(tmp_path / "catalog.duckdb"), read_only=True)
        .sql("SELECT count(*) FROM trades")
        .fetchall()
        == before
    )
