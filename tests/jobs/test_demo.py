"""`bondtape demo` runs the whole pipeline on the simulator with no account and no config."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from jobs.daemon import EOD_STEPS
from jobs.demo.demo import DEMO_MARKER
from jobs.demo.processes import DEMO_ISINS
from storage.read import cell_text, named_query, open_catalog, run_query

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


def tables_of(out: str, title: str) -> list[list[list[str]]]:
    """The rows of each table printed under ``title``, in order: the lines after its rule, up
    to a blank line or the next table's title (each cell one word)."""
    lines = out.splitlines()
    is_rule = lambda i: i < len(lines) and set(lines[i].strip()) == {"─"}  # noqa: E731
    tables = []
    for at in (i for i, line in enumerate(lines) if line.strip().startswith(title)):
        rule = next(i for i in range(at, len(lines)) if is_rule(i))
        rows = []
        for i in range(rule + 1, len(lines)):
            if not lines[i].strip() or is_rule(i + 2):  # the end, or the next table's title
                break
            if lines[i].startswith(("raw and lake", "the whole")):
                break
            rows.append(lines[i].split())
        tables.append(rows)
    return tables


def rows_of(out: str, title: str) -> list[list[str]]:
    """The rows of the one table printed under ``title``."""
    (rows,) = tables_of(out, title)
    return rows


def test_demo_runs_the_daemons_day_and_what_it_shows_is_what_the_day_holds(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "demo"
    result = run_demo(data_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The books as they landed: each demo bond, read back from the lake.
    refreshes = tables_of(out, "latest books")  # each refresh, as more books land
    assert {row[0] for rows in refreshes for row in rows} == set(DEMO_ISINS)
    assert all(len(rows) == len({row[0] for row in rows}) for rows in refreshes)  # one each
    # The end of day, each step once, in order, each ok.
    steps = re.findall(r"^  (\w+) +(\w+)$", out.split("session closed", 1)[1], re.M)
    assert steps[: len(EOD_STEPS)] == [(step, "ok") for step in EOD_STEPS]
    # The report as the daemon wrote it: volumes row for row, and counts that balance.
    day = next((data_dir / "reports").glob("*.json"))
    report = json.loads(day.read_text())
    assert report["balanced"] is True
    assert report["settings"]["session_close"] != "15:30:00"  # the demo session's hours
    shown = [tuple(row) for row in rows_of(out, f"integrity report of {report['date']}")]
    assert shown == [
        (v["table"], v["isin"], str(v["frames"]), str(v["records"]), str(v["rows"]))
        for v in report["volume"]
    ]
    totals = report["reconciliation"]
    rejected = sum(r["rejects"] for r in report["rejects"])
    found = sum(v["rows"] for v in report["volume"]) + rejected  # the rejects are rows too
    assert totals["expected"] == totals["found"] == found
    with open_catalog(data_dir) as con:
        lake_rows = sum(
            con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in ("quotes", "trades", "rejects")
        )
        quotes = sorted(row[0] for row in con.sql("SELECT DISTINCT isin FROM quotes").fetchall())
        (busiest, trades) = con.sql(
            "SELECT isin, count(*) FROM trades GROUP BY isin ORDER BY count(*) DESC, isin LIMIT 1"
        ).fetchall()[0]
        at = con.sql("SELECT max(recv_ts) FROM quotes").fetchall()[0][0].isoformat()
        books = run_query(con, named_query("book_asof"), {"at": at}).to_pylist()
    assert lake_rows == totals["found"]
    assert quotes == sorted(DEMO_ISINS)
    gaps = report["gaps"]
    balance = re.search(
        r"raw and lake balance: raw owes (\d+) rows, the lake holds (\d+); (\d+) rejected, "
        r"(\d+) gaps \((\d+) open at the close\)",
        " ".join(out.split()),
    )
    assert balance is not None, out
    assert [int(n) for n in balance.groups()] == [
        totals["expected"],
        totals["found"],
        rejected,
        len(gaps),
        sum(g["is_open"] for g in gaps),
    ]
    # The catalog's answers: one book per bond at the last book received, the busiest bond's
    # last trades.
    asof = rows_of(out, "book_asof at the last book received")
    assert sorted(row[0] for row in asof) == sorted(DEMO_ISINS)
    assert [(row[0], row[4], row[5]) for row in asof] == [
        (b["isin"], cell_text(b["bid_price_1"]), cell_text(b["ask_price_1"])) for b in books
    ]
    assert f"trades_with_quote {busiest}, the last 5" in out
    assert len(rows_of(out, f"trades_with_quote {busiest}")) == min(5, trades)
    # The replay: the busiest bond's day, frame for frame (a malformed frame may be either).
    replayed = re.search(r"the client received (\d+) frames, (\d+) records in", out)
    assert replayed is not None, out
    frames, records = (int(n) for n in replayed.groups())
    volume = [v for v in report["volume"] if v["isin"] == busiest]
    owed_frames, owed_records = sum(v["frames"] for v in volume), sum(v["records"] for v in volume)
    assert owed_frames <= frames <= owed_frames + rejected
    assert owed_records <= records <= owed_records + rejected
    arrived = rows_of(out, "the client received")
    assert len(arrived) == min(5, records)
    assert {row[2] for row in arrived} <= {"H0BJASP0", "H0BJCNT0"}
    # What to go on with, and where everything is.
    assert f"bondtape sql --data-dir {data_dir}" in out.replace("\n", "")
    assert sorted(p.name for p in data_dir.glob("*.log")) == []  # logs live in logs/
    assert list((data_dir / "lake" / "hist" / "quotes").rglob("data-*.parquet"))
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
