"""The bond master in the catalog: `bondtape bonds --save` writes lake/ref/bonds.parquet, and
the view ``bonds`` (sql/views/bonds.sql) reads it, with or without the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from jobs import cli
from storage.bonds import BONDS_FILE
from storage.schemas import BONDS
from tests.capture.kis.test_bond_master import master_line
from tests.storage.catalog_data import GOV, catalog_dir

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
    assert not (data / "lake" / BONDS_FILE).exists()
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
    assert f"saved 2 bonds to {data / 'lake' / BONDS_FILE}" in err
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
    assert pq.read_schema(data / "lake" / BONDS_FILE).equals(BONDS.schema, check_metadata=False)


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
