"""`normalize --follow` keeps up with a growing raw log; `--rebuild --date` redoes one day."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

from storage.normalizer import normalize
from tests.capture.recorder.helpers import wait_until
from tests.storage.rawdata import RawLog, lake_rows

ROOT = Path(__file__).resolve().parents[2]


def test_follow_picks_up_records_appended_while_it_runs_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path)
    log.frames(20)
    follower = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "normalize", "--data-dir", str(tmp_path),
         "--follow", "--interval", "0.1"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        expected = lambda: len(log.expected["quotes"]) + len(log.expected["trades"])  # noqa: E731
        landed = lambda: len(lake_rows(tmp_path, "quotes")) + len(lake_rows(tmp_path, "trades"))  # noqa: E731
        wait_until(lambda: landed() == expected(), 30, "the first 20 frames in the lake")
        log.frames(25)  # the same active segment grows under the follower
        wait_until(lambda: landed() == expected(), 30, "the next 25 frames in the lake")
    finally:
        follower.send_signal(signal.SIGTERM)
        status = follower.wait(timeout=15)
        log.writer.close()
    assert status == 0


def test_rebuild_of_one_date_rewrites_that_date_and_leaves_the_others(tmp_path: Path) -> None:
    log = RawLog(tmp_path)
    log.frames(15)
    log.clock.advance(24 * 3600)  # the next Seoul day
    log.frames(15)
    log.writer.close()
    normalize(tmp_path)
    before = {t: lake_rows(tmp_path, t) for t in ("quotes", "trades")}
    quotes = tmp_path / "lake" / "live" / "quotes"
    first_day, second_day = sorted(p.name for p in quotes.iterdir())
    second_day_files = {p: p.read_bytes() for p in (quotes / second_day).rglob("*.parquet")}
    for lost in (quotes / first_day).rglob("*.parquet"):
        lost.unlink()

    stats = normalize(tmp_path, rebuild=True, date=dt.date.fromisoformat(first_day[5:]))
    assert stats.records > 0
    assert {t: lake_rows(tmp_path, t) for t in before} == before
    assert {p: p.read_bytes() for p in (quotes / second_day).rglob("*.parquet")} == second_day_files
