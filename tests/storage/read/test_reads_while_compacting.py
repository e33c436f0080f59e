"""Reads while the lake is written: a reader looping on fresh catalog connections, and one that
holds its connection, while a real compaction runs in another process, count every row once
on every read and never fail (the catalog lists committed files; replaced ones stay for the
retention). The concurrency stress test of every read path is tests/.../test_stress; this
is the quick one."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from storage.normalize.normalizer import normalize
from storage.read.catalog import connect
from tests.support.rawdata import RawLog
from tests.support.rawlog import seoul_ns

ROOT = Path(__file__).resolve().parents[3]
DAYS = [dt.date(2026, 11, 23) + dt.timedelta(days=n) for n in range(5)]
COUNT = "SELECT (SELECT count(*) FROM quotes) + (SELECT count(*) FROM trades)"
DAY_COUNT = "SELECT count(*) FROM quotes_between($day, $day)"

COMPACTOR = """
import sys, datetime as dt
from pathlib import Path
from storage.compact.compaction import compact
for day in sys.argv[2:]:
    compact(Path(sys.argv[1]), date=dt.date.fromisoformat(day), retention_s=3600)
"""


def record_days(data_dir: Path) -> tuple[int, dict[str, int]]:
    """Five closed days, each normalized in batches of 3 records (many small live files); the
    quote and trade rows, and each day's quote rows."""
    log = RawLog(data_dir, start_ns=seoul_ns(2026, 11, 23, 10, 0, 0))
    per_day = {}
    for day in DAYS:
        log.clock.set_ns(seoul_ns(day.year, day.month, day.day, 10, 0, 0))
        before = len(log.expected["quotes"])
        log.frames(40)
        per_day[day.isoformat()] = len(log.expected["quotes"]) - before
    log.writer.close()
    normalize(data_dir, batch_records=3)
    return len(log.expected["quotes"]) + len(log.expected["trades"]), per_day


def test_every_read_during_a_compaction_in_another_process_counts_each_row_once(
    tmp_path: Path,
) -> None:
    rows, per_day = record_days(tmp_path)
    held = connect(tmp_path)
    assert held.sql(COUNT).fetchall() == [(rows,)]
    child = subprocess.Popen(
        [sys.executable, "-c", COMPACTOR, str(tmp_path), *per_day],
        cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    reads, wrong, errors = 0, [], []
    deadline = time.monotonic() + 300
    try:
        while child.poll() is None and time.monotonic() < deadline:
            day = list(per_day)[reads % len(per_day)]
            try:
                con = connect(tmp_path)
                try:
                    got = con.sql(COUNT).fetchall()[0][0]
                    got_day = con.sql(DAY_COUNT, params={"day": day}).fetchall()[0][0]
                finally:
                    con.close()
                got_held = held.sql(COUNT).fetchall()[0][0]
            except duckdb.Error as exc:
                errors.append(str(exc))
                continue
            finally:
                reads += 1
            if (got, got_day, got_held) != (rows, per_day[day], rows):
                wrong.append((got, got_day, got_held))
    finally:
        if child.poll() is None:
            child.kill()
        _, stderr = child.communicate()
    assert child.returncode == 0, stderr
    assert errors == [] and wrong == []
    assert reads >= 5  # the loop ran across the compactions
    hist = list((tmp_path / "lake" / "hist" / "quotes").rglob("*.parquet"))
    assert len({p.parent for p in hist}) == len(hist) > 0  # and they did compact every day
    assert connect(tmp_path).sql(COUNT).fetchall() == [(rows,)]
