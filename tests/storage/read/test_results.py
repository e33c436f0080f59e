"""Results written as a table, CSV, JSON Lines or Parquet keep every value exact."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from capture.errors import ConfigError, StorageError
from storage.read.results import print_table, write_csv, write_json_lines, write_result

SAMPLE = """
SELECT
    'KR103502GD31' AS isin,
    10575.00::DECIMAL(12, 2) AS price,
    0.000::DECIMAL(8, 3) AS yield,
    TIMESTAMPTZ '2026-11-26 01:30:00.25+00' AS recv_ts,
    NULL::BIGINT AS qty,
    0.5::DOUBLE AS share,
    true AS is_open,
    DATE '2026-11-26' AS date,
    '\\x01\\xFF'::BLOB AS raw,
    ['a', 'b'] AS items,
    'a,"b"' AS reason
"""


@pytest.fixture
def sample() -> pa.Table:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'Asia/Seoul'").fetchall()
        return con.sql(SAMPLE).to_arrow_table()


def test_json_lines_hold_decimals_as_strings_and_instants_with_their_offset(
    sample: pa.Table,
) -> None:
    out = io.StringIO()
    write_json_lines(sample, out)
    assert out.getvalue().endswith("\n")
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {
            "isin": "KR103502GD31", "price": "10575.00", "yield": "0.000",
            "recv_ts": "2026-11-26T10:30:00.250000+09:00", "qty": None, "share": 0.5,
            "is_open": True, "date": "2026-11-26", "raw": "01ff", "items": ["a", "b"],
            "reason": 'a,"b"',
        }
    ]  # fmt: skip


def test_csv_has_a_header_the_same_texts_and_empty_fields_for_null(sample: pa.Table) -> None:
    out = io.StringIO()
    write_csv(sample, out)
    assert out.getvalue().splitlines() == [
        "isin,price,yield,recv_ts,qty,share,is_open,date,raw,items,reason",
        "KR103502GD31,10575.00,0.000,2026-11-26T10:30:00.250000+09:00,,0.5,true,2026-11-26,01ff,"
        '"[""a"", ""b""]","a,""b"""',
    ]


def test_a_table_shows_whole_values_however_many_columns(sample: pa.Table) -> None:
    wide = pa.table({f"column_{n}": [f"10575.{n:02d}"] for n in range(40)})
    out = io.StringIO()
    print_table(wide, out)
    assert all(f"10575.{n:02d}" in out.getvalue() for n in range(40))
    assert "1 row" in out.getvalue()
    out = io.StringIO()
    print_table(sample, out)
    shown = ("10575.00", "0.000", "2026-11-26T10:30:00.250000+09:00", "NULL", '["a", "b"]')
    assert all(text in out.getvalue() for text in shown)  # brackets are text, not markup


def test_parquet_keeps_the_arrow_types_and_needs_a_file(sample: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    write_result(sample, "parquet", path, io.StringIO())
    assert pq.read_table(path).schema.field("price").type == pa.decimal128(12, 2)
    assert pq.read_table(path).to_pylist() == sample.to_pylist()
    with pytest.raises(ConfigError, match="Parquet is binary: give -o FILE"):
        write_result(sample, "parquet", None, io.StringIO())
    with pytest.raises(StorageError, match="cannot write"):
        write_result(sample, "csv", tmp_path / "no" / "such" / "dir.csv", io.StringIO())
