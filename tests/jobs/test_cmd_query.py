"""`bondtape query` and `bondtape sql` end to end: over a catalog file, in every format, with
errors that name the fix; and once as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import cli
from tests.support.catalog_data import CORP, DAY, GOV, catalog_dir, quote, trade

ROOT = Path(__file__).resolve().parents[2]
AT = ["--param", f"at={DAY} 10:30:00"]  # no offset: Seoul time


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, f"{DAY} 10:00:00.250000"),
            quote(CORP, f"{DAY} 10:00:01", bid=("10400.00", "3.500", 7)),
            quote(GOV, f"{DAY} 10:30:00.000001"),  # after `at`
        ],
        trades=[
            trade(GOV, f"{DAY} 10:01:00", "10575.00", 1, "3.012"),
            trade(GOV, f"{DAY} 10:02:00", "10560.00", 2, "3.020"),
        ],
    )


def test_query_writes_json_lines_with_exact_decimals_and_seoul_times(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["query", "book_asof", "--data-dir", str(data), *AT, "--param", f"isins={GOV}"]
    assert cli.main([*argv, "--format", "json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    row = json.loads(line)
    assert (row["isin"], row["bid_price_1"], row["ask_yield_1"], row["bid_qty_1"]) == (
        GOV, "10560.00", "3.012", 100
    )  # fmt: skip
    assert row["recv_ts"] == f"{DAY}T10:00:00.250000+09:00"
    assert row["date"] == DAY and row["exch_time"] == "100000"


def test_query_takes_a_config_and_writes_csv_to_a_file(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bondtape.toml"
    config.write_text(
        f'data_dir = "{data}"\n[[kis.credentials]]\napp_key_env = "UNSET_KEY"\n'
        'app_secret_env = "UNSET_SECRET"\n[capture]\nisins = ["KR103502GD31"]\n'
    )
    out = tmp_path / "summary.csv"
    argv = ["query", "trades_summary", "--config", str(config), "--param", f"date={DAY}"]
    assert cli.main([*argv, "--format", "csv", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text().splitlines() == [
        "isin,date,trades,volume,vwap,first_price,last_price,high_price,low_price,"
        "first_yield,last_yield,high_yield,low_yield",
        f"{GOV},{DAY},2,3,10565.0000,10575.00,10560.00,10575.00,10560.00,3.012,3.020,3.020,3.012",
    ]


def test_query_writes_parquet_only_to_a_file(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["query", "book_asof", "--data-dir", str(data), *AT, "--format", "parquet"]
    assert cli.main(argv) == 2
    assert "Parquet is binary: give -o FILE" in capsys.readouterr().err
    assert cli.main([*argv, "-o", str(tmp_path / "books.parquet")]) == 0
    books = pq.read_table(tmp_path / "books.parquet")
    assert books.column("isin").to_pylist() == [CORP, GOV]
    assert books.schema.field("bid_price_1").type == pa.decimal128(12, 2)


def test_query_prints_a_readable_table_by_default(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["query", "book_asof", "--data-dir", str(data), *AT]) == 0
    out = capsys.readouterr().out
    for text in (CORP, GOV, "10400.00", "3.500", f"{DAY}T10:00:00.250000+09:00", "2 rows"):
        assert text in out


def test_query_list_describes_every_query_and_its_parameters_without_a_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["query", "--list"]) == 0
    out = capsys.readouterr().out
    names = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert names == [
        "bars", "book_asof", "coverage", "curve", "depth_imbalance", "gaps_report",
        "mid_spread", "trades_summary", "trades_with_quote", "volume_check",
    ]  # fmt: skip
    assert "    The 5-level order book of every ISIN, or of the ISINs given, at an instant." in out
    assert "      $at TIMESTAMPTZ, required: the instant" in out
    assert cli.main(["query", "coverage", "--list"]) == 0
    one = capsys.readouterr().out
    assert one.startswith("coverage\n") and "$session_open TIME, default '08:00'" in one
    assert "book_asof" not in one


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["query", "book", *AT], 2, "query = 'book': no such query; the queries are bars,"),
        (["query", "book_asof", "--param", "isn=KR103502GD31"], 2,
         "query 'book_asof' has no parameter 'isn': its parameters are at, isins"),
        (["query", "book_asof"], 2, "query 'book_asof' needs at=VALUE (TIMESTAMPTZ"),
        (["query", "book_asof", "--param", "at=noon"], 2, "'at=noon': not a TIMESTAMPTZ"),
        (["query", "book_asof", "--param", "at"], 2, "write it as NAME=VALUE"),
        (["query", "--param", "at=x"], 2, "name a query, or list them with `bondtape query"),
        (["sql", "SELECT * FROM nowhere"], 1, "the SQL failed: Catalog Error: Table with name"),
        (["sql", "DROP VIEW bonds"], 1, "read-only"),
    ],
)  # fmt: skip
def test_a_mistake_is_a_message_naming_it_and_the_fix_not_a_traceback(
    data: Path, argv: list[str], status: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*argv, "--data-dir", str(data)]) == status
    err = capsys.readouterr().err
    assert err.startswith("bondtape: ") and message in err.splitlines()[0]
    assert "Traceback" not in err


def test_query_and_sql_need_a_catalog_and_say_how_to_build_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["query", "book_asof", "--data-dir", str(tmp_path), *AT]) == 1
    assert "no catalog at" in capsys.readouterr().err
    assert cli.main(["sql", "SELECT 1", "--data-dir", str(tmp_path)]) == 1
    assert "build it first with `bondtape catalog --config F`" in capsys.readouterr().err
    assert cli.main(["query", "book_asof", *AT]) == 2
    assert "give --config F or --data-dir D" in capsys.readouterr().err


def test_sql_runs_any_select_over_the_views_in_seoul_time(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "SELECT isin, recv_ts, bid_price_1 FROM quotes ORDER BY recv_ns"
    assert cli.main(["sql", "--data-dir", str(data), text, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "isin,recv_ts,bid_price_1",
        f"{GOV},{DAY}T10:00:00.250000+09:00,10560.00",
        f"{CORP},{DAY}T10:00:01+09:00,10400.00",
        f"{GOV},{DAY}T10:30:00.000001+09:00,10560.00",
    ]


def test_query_runs_as_a_process_and_prints_csv(data: Path) -> None:
    argv = ["query", "trades_with_quote", "--data-dir", str(data), "--param", f"isin={GOV}"]
    result = subprocess.run(
        [sys.executable, "-m", "jobs.cli", *argv, "--format", "csv"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("isin,date,recv_ts,exch_time,exch_ts,trade_price,trade_qty,")
    assert [line.split(",")[5:7] + line.split(",")[-4:-3] for line in lines[1:]] == [
        ["10575.00", "1", "ask"],
        ["10560.00", "2", "bid"],
    ]
