"""The gap queries (gaps_report, coverage) give exact answers on known rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from tests.support.catalog_data import (
    CORP,
    DAY,
    GOV,
    NEXT_DAY,
    catalog_dir,
    gap,
    instant,
    query_rows,
    quote,
    seoul_ns,
    trade,
)

D = Decimal
QUOTES, TRADES = "H0BJASP0", "H0BJCNT0"
UNTIL = f"{DAY} 12:00:00+09:00"


def report_gaps() -> list[dict[str, object]]:
    return [
        gap(GOV, f"{DAY} 09:00:00", f"{DAY} 09:10:00.250000", QUOTES, offset=1),
        gap(GOV, f"{DAY} 09:05:00", None, TRADES, offset=2),
        gap(CORP, f"{DAY} 14:00:00", f"{DAY} 14:01:00", QUOTES, offset=3),
        gap(GOV, f"{NEXT_DAY} 09:00:00", f"{NEXT_DAY} 09:01:00", QUOTES, offset=4),
        gap(GOV, f"{DAY} 08:30:00", f"{DAY} 08:31:00", QUOTES, offset=5),
    ]


def test_gaps_report_lists_a_days_gaps_per_tr_and_isin_with_exact_durations(
    tmp_path: Path,
) -> None:
    data = catalog_dir(tmp_path, gaps=report_gaps())
    got = query_rows(data, "gaps_report", date=DAY, until=UNTIL)
    columns = ["tr_id", "isin", "start_ts", "end_ts", "is_open", "duration_s", "offset"]
    assert [tuple(r[c] for c in columns) for r in got] == [
        (QUOTES, CORP, instant(seoul_ns(f"{DAY} 14:00:00")),
         instant(seoul_ns(f"{DAY} 14:01:00")), False, D("60.000000"), 3),
        (QUOTES, GOV, instant(seoul_ns(f"{DAY} 08:30:00")),
         instant(seoul_ns(f"{DAY} 08:31:00")), False, D("60.000000"), 5),
        (QUOTES, GOV, instant(seoul_ns(f"{DAY} 09:00:00")),
         instant(seoul_ns(f"{DAY} 09:10:00.25")), False, D("600.250000"), 1),
        # open: measured up to `until`, 12:00 Seoul
        (TRADES, GOV, instant(seoul_ns(f"{DAY} 09:05:00")), None, True, D("10500.000000"), 2),
    ]  # fmt: skip
    assert [r["date"] for r in got] == [dt.date(2026, 11, 26)] * 4
    next_day = query_rows(data, "gaps_report", date=NEXT_DAY)
    assert [(r["offset"], r["duration_s"]) for r in next_day] == [(4, D("60.000000"))]
    assert len(query_rows(data, "gaps_report", isins=GOV)) == 4


def test_gaps_report_measures_an_open_gap_up_to_now_by_default(tmp_path: Path) -> None:
    data = catalog_dir(tmp_path, gaps=report_gaps())
    start = dt.datetime.fromisoformat(f"{DAY} 09:05:00+09:00")
    before = dt.datetime.now(dt.UTC)
    rows = query_rows(data, "gaps_report", isins=GOV, date=DAY, to_date=DAY)
    after = dt.datetime.now(dt.UTC)
    (row,) = [r for r in rows if r["is_open"]]
    duration = dt.timedelta(microseconds=int(row["duration_s"] * 10**6))
    assert before - start <= duration <= after - start


def coverage_data(tmp_path: Path) -> Path:
    """GOV on DAY: gaps of both TRs that overlap, touch, and cross the session's ends; CORP:
    a gap opened on DAY and still open through NEXT_DAY."""
    return catalog_dir(
        tmp_path,
        quotes=[quote(GOV, f"{DAY} 10:00:00"), quote(CORP, f"{DAY} 10:00:00"),
                quote(GOV, f"{NEXT_DAY} 10:00:00")],
        trades=[trade(CORP, f"{NEXT_DAY} 11:30:00", "10500.00", 1)],
        gaps=[
            gap(GOV, f"{DAY} 07:00:00", f"{DAY} 08:30:00", QUOTES),  # from the open: 08:00-
            gap(GOV, f"{DAY} 08:15:00", f"{DAY} 09:00:00", TRADES),  # ... -09:00, 3600 s
            gap(GOV, f"{DAY} 10:00:00", f"{DAY} 10:10:00", QUOTES),  # 10:00-
            gap(GOV, f"{DAY} 10:10:00", f"{DAY} 10:20:00", TRADES),  # ... -10:20, 1200 s
            gap(GOV, f"{DAY} 15:00:00", f"{DAY} 16:00:00", QUOTES),  # to the close, 1800 s
            gap(GOV, f"{DAY} 16:00:00", f"{DAY} 17:00:00", QUOTES),  # after the close
            gap(CORP, f"{DAY} 15:00:00", None, QUOTES),
        ],
    )  # fmt: skip


def test_coverage_is_the_share_of_the_session_outside_the_union_of_an_isins_gaps(
    tmp_path: Path,
) -> None:
    got = query_rows(
        coverage_data(tmp_path), "coverage",
        date=DAY, to_date=NEXT_DAY, until=f"{NEXT_DAY} 12:00:00+09:00",
    )  # fmt: skip
    full = 27_000 * 10**6  # 08:00-15:30 in microseconds; NEXT_DAY's ends at `until`, 12:00
    assert [tuple(r.values()) for r in got] == [
        (dt.date(2026, 11, 26), CORP, D("27000.000000"), D("1800.000000"),
         1 - 1800 * 10**6 / full, 1),
        (dt.date(2026, 11, 26), GOV, D("27000.000000"), D("6600.000000"),
         1 - 6600 * 10**6 / full, 5),
        # CORP's gap opened the day before and is still open at `until`
        (dt.date(2026, 11, 27), CORP, D("14400.000000"), D("14400.000000"), 0.0, 1),
        (dt.date(2026, 11, 27), GOV, D("14400.000000"), D("0.000000"), 1.0, 0),
    ]  # fmt: skip
    assert list(got[0]) == ["date", "isin", "session_s", "gap_s", "coverage", "gaps"]


def test_coverage_takes_the_session_hours_as_parameters(tmp_path: Path) -> None:
    data = coverage_data(tmp_path)
    got = query_rows(
        data, "coverage",
        date=DAY, isins=GOV, session_open="09:00", session_close="15:00", until=UNTIL,
    )  # fmt: skip
    # 09:00-12:00 (until): only the 10:00-10:20 gaps overlap it
    assert [tuple(r.values()) for r in got] == [
        (dt.date(2026, 11, 26), GOV, D("10800.000000"), D("1200.000000"),
         1 - 1200 * 10**6 / (10_800 * 10**6), 2),
    ]  # fmt: skip
    after_close = query_rows(
        data, "coverage",
        date=DAY, isins=GOV, session_open="09:00", session_close="15:00",
        until=f"{NEXT_DAY} 00:00:00+09:00",
    )  # fmt: skip
    assert [(r["session_s"], r["gap_s"], r["gaps"]) for r in after_close] == [
        (D("21600.000000"), D("1200.000000"), 2)
    ]
