"""`bondtape demo` runs the whole pipeline on the simulator with no account and no config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from jobs.demo.demo import DEMO_ISINS, DEMO_MARKER

ROOT = Path(__file__).resolve().parents[2]


def run_demo(data_dir: Path, seconds: str = "5") -> subprocess.CompletedProcess[str]:
    argv = ["demo", "--seconds", seconds, "--data-dir", str(data_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )


def test_demo_runs_the_daemons_day_and_ends_with_the_report_and_the_catalogs_answers(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "demo"
    result = run_demo(data_dir)
    assert result.returncode == 0, result.stderr
    assert "latest books" in result.stdout
    assert all(isin in result.stdout for isin in DEMO_ISINS)
    for shown in ("session closed", "normalize", "compact", "catalog", "report", "book_asof",
                  "trades_with_quote", "replay", "the client received"):  # fmt: skip
        assert shown in result.stdout, shown
    day = next((data_dir / "reports").glob("*.json"))
    report = json.loads(day.read_text())
    assert report["balanced"] is True
    totals = report["reconciliation"]
    assert f"raw and lake balance: raw owes {totals['expected']} rows" in result.stdout
    # the demo shows the daemon's own report, made with the demo session's hours
    assert report["settings"]["session_close"] != "15:30:00"
    catalog = data_dir / "catalog.duckdb"
    assert f"bondtape sql --data-dir {data_dir}" in result.stdout.replace("\n", "")
    assert sorted(p.name for p in data_dir.glob("*.log")) == []  # logs live in logs/
    assert list((data_dir / "lake" / "hist" / "quotes").rglob("data-*.parquet"))
    with duckdb.connect(str(catalog), read_only=True) as con:
        quotes = con.sql("SELECT DISTINCT isin FROM quotes").fetchall()
    assert sorted(row[0] for row in quotes) == sorted(DEMO_ISINS)
    assert (data_dir / "logs" / "recorder.log").stat().st_size > 0


def test_demo_refuses_to_wipe_a_directory_it_did_not_create(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = run_demo(precious, seconds="1")
    assert result.returncode == 2
    assert "--data-dir" in result.stderr and "not a demo directory" in result.stderr
    assert (precious / "notes.txt").read_text() == "keep me"
    assert not (precious / DEMO_MARKER).exists()
