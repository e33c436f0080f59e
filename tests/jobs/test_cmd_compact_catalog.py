"""`bondtape compact` and `bondtape catalog` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs import cli
from storage.read.catalog import connect
from tests.support.rawdata import RawLog


def test_compact_normalizes_first_then_compacts_the_closed_day_and_catalog_opens_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = RawLog(tmp_path)
    log.frames(25)
    log.writer.close()
    assert cli.main(["compact", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "normalized 26 new records first" in out  # 25 frames and the STATE record
    assert "compacted 2026-01-01:" in out
    assert cli.main(["catalog", "--data-dir", str(tmp_path)]) == 0
    assert f"duckdb {tmp_path / 'catalog.duckdb'}" in capsys.readouterr().out
    quotes = connect(tmp_path).sql("SELECT count(*) FROM quotes").fetchall()[0][0]
    assert quotes == len(log.expected["quotes"])
    assert list((tmp_path / "lake" / "hist" / "quotes").rglob("data-*.parquet"))


def test_compact_of_a_day_being_written_exits_1_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = RawLog(tmp_path)
    log.frames(5)
    try:
        assert cli.main(["compact", "--data-dir", str(tmp_path), "--date", "2026-01-01"]) == 1
    finally:
        log.writer.close()
    assert "a recorder is still writing 2026-01-01" in capsys.readouterr().err
