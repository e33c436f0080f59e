"""No catalog step: right after raw is recorded and `bondtape normalize` runs, `bondtape book`,
`plot`, `query` and `sql` read the lake (normalize commits the catalog); and a lake whose
catalog is missing gets one at the first read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs import cli
from tests.support.rawdata import ISINS, RawLog
from tests.support.rawlog import seoul_ns

DAY = "2026-11-26"


def recorded(data_dir: Path) -> RawLog:
    log = RawLog(data_dir, start_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    log.frames(30)
    log.writer.close()
    return log


def test_book_plot_query_and_sql_work_right_after_normalize(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = recorded(tmp_path)
    data = ["--data-dir", str(tmp_path)]
    assert cli.main(["normalize", *data]) == 0
    capsys.readouterr()
    isin = log.expected["quotes"][0][0]
    assert isin in ISINS

    assert cli.main(["sql", *data, "--format", "json", "SELECT count(*) AS n FROM quotes"]) == 0
    assert json.loads(capsys.readouterr().out) == {"n": len(log.expected["quotes"])}
    params = ["--param", f"date={DAY}"]
    assert cli.main(["query", "trades_summary", *data, *params, "--format", "json"]) == 0
    summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(row["trades"] for row in summary) == len(log.expected["trades"])
    assert cli.main(["book", isin, *data, "--date", DAY]) == 0
    assert isin in capsys.readouterr().out
    out = tmp_path / "day.png"
    assert cli.main(["plot", *data, "--date", DAY, "--isin", isin, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


def test_a_lake_without_its_catalog_gets_one_at_the_first_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = recorded(tmp_path)
    assert cli.main(["normalize", "--data-dir", str(tmp_path)]) == 0
    (tmp_path / "catalog.duckdb").unlink()  # as a lake written by an older bondtape
    capsys.readouterr()
    argv = ["sql", "--data-dir", str(tmp_path), "--format", "csv", "SELECT count(*) FROM trades"]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(len(log.expected["trades"]))
    assert (tmp_path / "catalog.duckdb").is_file()
