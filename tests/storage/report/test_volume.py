"""Volume continuity on known rows: the pure check (storage/report/volume.py), the lake reader
the report uses, and the named query volume_check give the same, exact answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from storage.read.queries import open_catalog
from storage.report.volume import Gap, Trade, continuity, jumps_table, summary_table
from storage.report.volume_lake import day_continuity
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
)
from tests.support.catalog_data import trade as trade_row

QUOTES, TRADES = "H0BJASP0", "H0BJCNT0"


def traded(isin: str, wall: str, qty: int, cum: int, offset: int) -> dict[str, Any]:
    return {**trade_row(isin, wall, "10000.00", qty, offset=offset), "cum_volume": cum}


def at(wall: str) -> dt.datetime:
    return instant(seoul_ns(wall))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """GOV on DAY: 5 missing before the first trade though its book came before the open
    (silent), 30 across a trades gap (explained), 3 while connected (silent), then a step
    smaller than its trade. CORP: recorded from after the open (45 before the first trade,
    explained), then 9 missing during a gap of its *book* only (silent). GOV on NEXT_DAY: a
    trades gap opened on DAY and still open past the open explains the 90 before its first."""
    trades = [
        traded(GOV, f"{DAY} 09:01:00", 10, 15, 1),
        traded(GOV, f"{DAY} 09:02:00", 20, 35, 2),
        traded(GOV, f"{DAY} 09:12:00", 5, 70, 3),
        traded(GOV, f"{DAY} 09:20:00", 7, 80, 4),
        traded(GOV, f"{DAY} 09:21:00", 4, 82, 5),
        traded(GOV, f"{DAY} 09:22:00", 1, 83, 6),
        traded(CORP, f"{DAY} 10:00:00", 5, 50, 7),
        traded(CORP, f"{DAY} 10:05:00", 1, 60, 8),
        traded(GOV, f"{NEXT_DAY} 09:40:00", 10, 100, 9),
    ]
    quotes = [
        quote(GOV, f"{DAY} 08:30:00", offset=20),
        quote(CORP, f"{DAY} 10:00:01", offset=21),
        quote(GOV, f"{NEXT_DAY} 08:10:00", offset=22),
    ]
    gaps = [
        gap(GOV, f"{DAY} 09:05:00", f"{DAY} 09:10:00", TRADES),
        gap(CORP, f"{DAY} 10:01:00", f"{DAY} 10:02:00", QUOTES),
        gap(GOV, f"{DAY} 23:00:00", f"{NEXT_DAY} 09:30:00", TRADES),
    ]
    return catalog_dir(tmp_path, trades=trades, quotes=quotes, gaps=gaps)


EXPECTED = [
    {
        "isin": CORP, "date": dt.date.fromisoformat(DAY), "trades": 2, "last_cum_volume": 60,
        "lake_volume": 6, "missing_volume": 54, "silent_volume": 9, "explained_volume": 45,
        "silent_jumps": 1, "explained_jumps": 1, "counter_anomalies": 0,
        "jumps": [
            {"before_ts": None, "after_ts": at(f"{DAY} 10:00:00"), "missing": 45,
             "explained": True},
            {"before_ts": at(f"{DAY} 10:00:00"), "after_ts": at(f"{DAY} 10:05:00"),
             "missing": 9, "explained": False},
        ],
    },
    {
        "isin": GOV, "date": dt.date.fromisoformat(DAY), "trades": 6, "last_cum_volume": 83,
        "lake_volume": 47, "missing_volume": 38, "silent_volume": 8, "explained_volume": 30,
        "silent_jumps": 2, "explained_jumps": 1, "counter_anomalies": 1,
        "jumps": [
            {"before_ts": None, "after_ts": at(f"{DAY} 09:01:00"), "missing": 5,
             "explained": False},
            {"before_ts": at(f"{DAY} 09:02:00"), "after_ts": at(f"{DAY} 09:12:00"),
             "missing": 30, "explained": True},
            {"before_ts": at(f"{DAY} 09:12:00"), "after_ts": at(f"{DAY} 09:20:00"),
             "missing": 3, "explained": False},
        ],
    },
    {
        "isin": GOV, "date": dt.date.fromisoformat(NEXT_DAY), "trades": 1,
        "last_cum_volume": 100, "lake_volume": 10, "missing_volume": 90, "silent_volume": 0,
        "explained_volume": 90, "silent_jumps": 0, "explained_jumps": 1, "counter_anomalies": 0,
        "jumps": [
            {"before_ts": None, "after_ts": at(f"{NEXT_DAY} 09:40:00"), "missing": 90,
             "explained": True},
        ],
    },
]  # fmt: skip


def test_volume_check_finds_each_jump_silent_or_explained_with_its_instants(data: Path) -> None:
    assert query_rows(data, "volume_check") == EXPECTED


def test_volume_check_takes_a_date_isins_and_the_open(data: Path) -> None:
    assert query_rows(data, "volume_check", date=NEXT_DAY) == EXPECTED[2:]
    assert query_rows(data, "volume_check", date=DAY, isins=CORP) == EXPECTED[:1]
    # With the open at 08:00, GOV's book at 08:30 came after it: the recording started late.
    [gov] = query_rows(data, "volume_check", date=DAY, isins=GOV, open="08:00")
    assert (gov["silent_volume"], gov["explained_volume"]) == (3, 35)
    assert gov["jumps"][0] == EXPECTED[1]["jumps"][0] | {"explained": True}


def test_the_reports_check_and_volume_check_agree_on_every_row(data: Path) -> None:
    with open_catalog(data) as con:
        days = [
            c for day in (DAY, NEXT_DAY) for c in day_continuity(con, dt.date.fromisoformat(day))
        ]
    summary = summary_table(days).to_pylist()
    jumps = jumps_table(days).to_pylist()
    sql = query_rows(data, "volume_check")
    assert summary == [{k: v for k, v in row.items() if k != "jumps"} for row in sql]
    assert jumps == [
        {"isin": row["isin"], "date": row["date"], **jump} for row in sql for jump in row["jumps"]
    ]


def test_a_jump_with_no_gap_of_its_trades_pair_is_silent_and_the_counter_goes_on() -> None:
    day = dt.date(2026, 11, 26)
    t = [Trade(100, 1, 1), Trade(200, 1, 5), Trade(300, 2, 7), Trade(400, 1, 20)]
    result = continuity(GOV, day, t, [Gap(250, 260)], first_record_us=50)
    assert [(j.before_us, j.missing, j.explained) for j in result.jumps] == [
        (100, 3, False),
        (300, 12, False),
    ]
    assert (result.last_cum_volume, result.lake_volume, result.silent_volume) == (20, 5, 15)


def test_a_gap_still_open_explains_every_jump_after_its_start() -> None:
    day = dt.date(2026, 11, 26)
    t = [Trade(100, 1, 1), Trade(200, 1, 5)]
    result = continuity(GOV, day, t, [Gap(150, None)], first_record_us=50)
    assert (result.silent_volume, result.explained_volume) == (0, 3)


def test_a_day_with_no_trades_is_refused() -> None:
    with pytest.raises(ValueError, match="no trades"):
        continuity(GOV, dt.date(2026, 11, 26), [], [], first_record_us=0)


def test_a_gap_opening_at_the_later_trade_itself_does_not_explain_the_jump_before_it(
    tmp_path: Path,
) -> None:
    """A gap starts at the last frame received on the lost connection: when that frame is
    the later trade, the volume went missing before the gap, while connected (found by the
    end-to-end test, where the last frame before a drop was a trade)."""
    trades = [
        traded(GOV, f"{DAY} 09:01:00", 10, 10, 1),
        traded(GOV, f"{DAY} 09:02:00", 20, 35, 2),
        traded(GOV, f"{DAY} 09:04:00", 5, 40, 3),
        traded(GOV, f"{DAY} 09:05:00", 5, 47, 4),
    ]
    gaps = [
        gap(GOV, f"{DAY} 09:02:00", f"{DAY} 09:03:00", TRADES),  # opens at the 09:02 trade
        gap(GOV, f"{DAY} 09:04:30", f"{DAY} 09:05:00", TRADES),  # ends at the 09:05 trade
    ]
    data = catalog_dir(tmp_path, trades=trades, gaps=gaps, quotes=[quote(GOV, f"{DAY} 08:00:00")])
    [row] = query_rows(data, "volume_check")
    assert [(j["missing"], j["explained"]) for j in row["jumps"]] == [(5, False), (2, True)]
    with open_catalog(data) as con:
        [pure] = day_continuity(con, dt.date.fromisoformat(DAY))
    assert [(j.missing, j.explained) for j in pure.jumps] == [(5, False), (2, True)]
