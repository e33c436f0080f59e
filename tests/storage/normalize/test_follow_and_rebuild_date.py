"""`normalize --follow` keeps up with a growing raw log; `--rebuild --date` redoes one day."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

from capture.clock import SEOUL
from capture.rawlog import list_segments
from storage.normalize.normalizer import normalize
from tests.support.rawdata import ISINS, RawLog, lake_rows
from tests.support.rawlog import seoul_ns
from tests.support.recorder import wait_until

ROOT = Path(__file__).resolve().parents[3]


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


def test_a_record_of_the_day_written_after_midnight_survives_a_rebuild_of_either_day(
    tmp_path: Path,
) -> None:
    # Two sessions at the Seoul midnight: A takes its receive time at 23:59:59.9, B rotates
    # the writer into the new day first, then A's record lands in the new day's segment.
    log = RawLog(tmp_path, seed=3, start_ns=seoul_ns(2026, 11, 26, 23, 50, 0))
    log.frames(10, conn_id=1)
    late = seoul_ns(2026, 11, 26, 23, 59, 59, ns=900_000_000)
    log.clock.set_ns(seoul_ns(2026, 11, 27, 0, 0, 0, ns=100_000_000))
    log.frames(3, conn_id=2)  # B: rotates into 2026-11-27
    log.frames(1, conn_id=1, recv_ns=late)  # A: a 26 Nov record in the 27 Nov segment
    log.frames(10, conn_id=2)
    log.writer.close()
    assert [s.name[:10] for s in list_segments(tmp_path / "raw")] == ["2026-11-26", "2026-11-27"]

    normalize(tmp_path)
    before = lake(tmp_path)
    stragglers = [
        r for t in ("quotes", "trades") for r in before[t]
        if r["recv_ts"].astimezone(SEOUL).date() == dt.date(2026, 11, 26)
        and r["segment"].startswith("2026-11-27")
    ]  # fmt: skip
    assert stragglers  # the 26 Nov record(s) in the 27 Nov segment
    for day in (dt.date(2026, 11, 26), dt.date(2026, 11, 27)):
        normalize(tmp_path, rebuild=True, date=day)
        assert lake(tmp_path) == before, f"after rebuilding {day}"


def test_a_gap_across_midnight_keeps_its_one_row_through_a_rebuild_of_either_day(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path, seed=4, start_ns=seoul_ns(2026, 11, 26, 23, 50, 0))
    log.frames(5)
    pair, opened = ("H0BJASP0", ISINS[0]), log.clock.now_ns()
    log.event(type="gap_open", conn=1, tr_id=pair[0], isin=pair[1], start_ns=opened,
              reason="dropped")  # fmt: skip
    log.open_gaps[pair] = opened  # as a recorder's STATE says from now on
    log.clock.set_ns(seoul_ns(2026, 11, 27, 0, 30, 0))
    log.frames(5)  # the 27 Nov segment, whose STATE declares the gap
    log.event(type="gap_close", conn=3, tr_id=pair[0], isin=pair[1], end_ns=log.clock.now_ns())
    log.frames(5)
    log.writer.close()

    normalize(tmp_path)
    before = lake(tmp_path)
    (gap,) = before["gaps"]
    assert gap["end_ts"] is not None and before["rejects"] == []
    for day in (dt.date(2026, 11, 26), dt.date(2026, 11, 27)):
        normalize(tmp_path, rebuild=True, date=day)
        assert lake(tmp_path) == before, f"after rebuilding {day}"


def lake(data_dir: Path) -> dict[str, list[dict]]:
    """Every row of every table, in lineage order."""
    order = {"gaps": 'segment, "offset"'}
    tables = ("quotes", "trades", "gaps", "rejects")
    return {t: lake_rows(data_dir, t, *[order[t]] if t in order else []) for t in tables}
