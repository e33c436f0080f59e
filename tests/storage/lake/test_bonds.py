"""The bond master in the catalog: `bondtape bonds --save` writes data_dir/ref/bonds.parquet, the
view ``bonds`` (sql/views/bonds.sql) reads it, with or without the file, and ``curve`` uses it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from jobs import cli
from storage.lake.bonds import BONDS_FILE
from storage.schemas import BONDS
from tests.support.catalog_data import CORP, DAY, GOV, catalog_dir, query_rows, quote, trade
from tests.support.samples import master_line

D = Decimal
OTHER = "KR6095571B92"
BOND_TYPES = [
    ("isin", "VARCHAR"), ("name", "VARCHAR"), ("issuer_kind", "VARCHAR"),
    ("bond_type", "VARCHAR"), ("bond_class", "VARCHAR"), ("interest_class", "VARCHAR"),
    ("listed", "DATE"), ("issued", "DATE"), ("maturity", "DATE"),
]  # fmt: skip


def write_master(path: Path, *lines: str) -> Path:
    path.write_bytes("\n".join(lines).encode("cp949") + b"\n")
    return path


def save_master(data_dir: Path, *lines: str) -> int:
    master = write_master(data_dir / "bond_code.mst", *lines)
    return cli.main(["bonds", "--master", str(master), "--save", "--data-dir", str(data_dir)])


def view_rows(data_dir: Path) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    with duckdb.connect(str(data_dir / "catalog.duckdb"), read_only=True) as con:
        cursor = con.execute("SELECT * FROM bonds ORDER BY isin")
        rows = cursor.fetchall()
        return [(d[0], str(d[1])) for d in cursor.description], rows


def test_the_bonds_view_has_its_columns_and_no_rows_before_a_master_is_saved(
    tmp_path: Path,
) -> None:
    data = catalog_dir(tmp_path)
    assert not (data / BONDS_FILE).exists()
    assert view_rows(data) == (BOND_TYPES, [])
    assert [name for name, _ in BOND_TYPES] == BONDS.column_names


def test_a_saved_master_shows_in_a_catalog_built_before_it_with_the_same_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = catalog_dir(tmp_path)
    lines = [
        master_line(GOV, "국고03250-5303(23-2)"),
        master_line(OTHER, "한국전력1234", maturity="20280115"),
        "garbage line that is far too short",
        master_line(OTHER, "한국전력 again", maturity="20290115"),
    ]
    assert save_master(data, *lines) == 0
    err = capsys.readouterr().err
    assert f"saved 2 bonds to {data / BONDS_FILE}" in err
    assert "left out 1 later line(s) of an ISIN listed before" in err
    columns, rows = view_rows(data)
    assert columns == BOND_TYPES
    listed = dt.date(2023, 3, 10)
    assert rows == [
        (GOV, "국고03250-5303(23-2)", "government", "01", "01", "01", listed, listed,
         dt.date(2053, 12, 10)),
        (OTHER, "한국전력1234", "corporate", "01", "01", "01", listed, listed,
         dt.date(2028, 1, 15)),
    ]  # fmt: skip
    assert pq.read_schema(data / BONDS_FILE).equals(BONDS.schema, check_metadata=False)


def test_saving_a_master_needs_a_data_dir_and_a_data_dir_needs_save(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    master = write_master(tmp_path / "bond_code.mst", master_line(GOV, "국고"))
    assert cli.main(["bonds", "--master", str(master), "--save"]) == 2
    assert "give --config F or --data-dir D" in capsys.readouterr().err
    assert cli.main(["bonds", "--master", str(master), "--data-dir", str(tmp_path)]) == 2
    assert "--config and --data-dir say where --save writes: add it" in capsys.readouterr().err
    empty = write_master(tmp_path / "empty.mst", "garbage line that is far too short")
    assert cli.main(["bonds", "--master", str(empty), "--save", "--data-dir", str(tmp_path)]) == 2
    assert "holds no bond: nothing saved" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def curve_data(tmp_path: Path) -> Path:
    empty = ("0.00", "0.000", 0)
    return catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, f"{DAY} 15:00:00"),  # bid 3.020, ask 3.012
            quote(GOV, f"{DAY} 15:31:00", bid=("10500.00", "3.500", 1)),
            quote(OTHER, f"{DAY} 14:00:00", bid=empty, ask=("9900.00", "3.400", 5)),
        ],
        trades=[
            trade(GOV, f"{DAY} 15:10:00", "10570.00", 1, "3.015"),
            trade(GOV, f"{DAY} 15:30:00", "10400.00", 1, "3.999", extra_ns=1_000),
            trade(CORP, f"{DAY} 11:00:00", "10500.00", 1, "3.300"),
        ],
    )


def test_curve_gives_mid_and_last_trade_yields_at_an_instant_by_maturity(
    tmp_path: Path,
) -> None:
    data = curve_data(tmp_path)
    columns = ["isin", "maturity", "days_to_maturity", "years_to_maturity", "bid_yield_1"]
    columns += ["ask_yield_1", "mid_yield", "last_trade_yield", "last_trade_price"]

    def curve() -> list[tuple[object, ...]]:
        rows = query_rows(data, "curve", at=f"{DAY} 15:30:00+09:00")
        return [tuple(r[c] for c in columns) for r in rows]

    gov = (D("3.020"), D("3.012"), D("3.0160"), D("3.015"), D("10570.00"))
    other = (D("0.000"), D("3.400"), None, None, None)
    corp = (None, None, None, D("3.300"), D("10500.00"))
    assert curve() == [  # no master yet: no maturities, by ISIN
        (CORP, None, None, None, *corp),
        (GOV, None, None, None, *gov),
        (OTHER, None, None, None, *other),
    ]
    assert save_master(data, master_line(GOV, "국고"), master_line(OTHER, "한전", "20280115")) == 0
    day = dt.date(2026, 11, 26)
    gov_days, other_days = (dt.date(2053, 12, 10) - day).days, (dt.date(2028, 1, 15) - day).days
    assert curve() == [
        (OTHER, dt.date(2028, 1, 15), other_days, other_days / 365, *other),
        (GOV, dt.date(2053, 12, 10), gov_days, gov_days / 365, *gov),
        (CORP, None, None, None, *corp),
    ]
    assert other_days == 415
