"""KIS's bond master file parses into bonds, and `bondtape bonds` makes an isins_file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from capture.errors import BadMasterLine
from capture.kis.bond_master import parse_line, read_bond_master
from jobs import cli
from jobs.config.config import load_config
from tests.support.samples import master_line

MASTER_LINES = [
    master_line("KR103502GD31", "국고03250-5303(23-2)"),
    master_line("KR6095571B92", "한국전력1234", maturity="20280115"),
    "garbage line that is far too short",
    master_line("KR2005031A41", "서울도시철도채권24-01", maturity="00000000"),
]


@pytest.fixture
def master(tmp_path: Path) -> Path:
    path = tmp_path / "bond_code.mst"
    path.write_bytes("\n".join(MASTER_LINES).encode("cp949") + b"\n")
    return path


def test_a_master_line_parses_its_fixed_width_fields_with_a_korean_name() -> None:
    bond = parse_line(MASTER_LINES[0])
    assert bond.isin == "KR103502GD31" and bond.name == "국고03250-5303(23-2)"
    assert bond.interest_class == "01" and bond.maturity == dt.date(2053, 12, 10)
    assert bond.issuer_kind == "government"


def test_a_bad_line_is_reported_with_its_number_and_the_rest_still_parse(master: Path) -> None:
    entries = list(read_bond_master(master))
    assert [type(e).__name__ for e in entries] == ["Bond", "Bond", "BadMasterLine", "Bond"]
    assert isinstance(entries[2], BadMasterLine) and entries[2].line == 3
    assert entries[3].maturity is None  # all-zero date: unknown


def test_bonds_output_is_an_isins_file_the_config_accepts(
    master: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bonds", "--master", str(master), "--matures-after", "2030-01-01"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["KR103502GD31  # 국고03250-5303(23-2), 2053-12-10"]
    assert "skipped line 3" in err and "1 of 3 bonds chosen" in err
    (tmp_path / "isins.txt").write_text(out, encoding="utf-8")
    (tmp_path / "bondtape.toml").write_text(
        'data_dir = "d"\n[[kis.credentials]]\napp_key_env = "K"\napp_secret_env = "S"\n'
        '[capture]\nisins_file = "isins.txt"\n'
    )
    config = load_config(tmp_path / "bondtape.toml", {"K": "k", "S": "s"})
    assert config.capture.isins == ("KR103502GD31",)


def test_bonds_filters_by_issuer_and_name(master: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bonds", "--master", str(master), "--issuer", "corporate"]) == 0
    assert capsys.readouterr().out.startswith("KR6095571B92  # 한국전력1234")
    assert cli.main(["bonds", "--master", str(master), "--match", "서울"]) == 0
    assert capsys.readouterr().out.startswith("KR2005031A41")


def test_an_unreadable_master_file_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bonds", "--master", str(tmp_path / "nope.mst")]) == 2
    assert "--master" in capsys.readouterr().err
