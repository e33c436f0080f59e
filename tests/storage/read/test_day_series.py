"""One ISIN's day as chart series: every quote of a small day with absent sides as nulls,
a large day thinned to the last book of each time bucket, trades whole, gaps merged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from storage.read.day_series import day_series, merge_spans
from storage.read.queries import open_catalog
from tests.support.catalog_data import CORP, DAY, GOV, catalog_dir, gap, quote, trade

D = dt.date(2026, 11, 26)


def wall(text: str) -> dt.datetime:
    """A naive Seoul wall time on DAY, as the series hold times."""
    return dt.datetime.fromisoformat(f"{DAY} {text}")


def test_a_small_day_keeps_every_quote_in_order_with_an_empty_side_as_null(
    tmp_path: Path,
) -> None:
    catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, f"{DAY} 09:00:00", bid=("10560.00", "3.020", 0), offset=0),  # no bid
            quote(GOV, f"{DAY} 09:00:01.5", offset=1),
            quote(CORP, f"{DAY} 09:00:02", offset=2),  # another ISIN
        ],
        trades=[trade(GOV, f"{DAY} 09:00:03", "10570.00", 30, offset=3)],
        gaps=[gap(GOV, f"{DAY} 09:10:00", f"{DAY} 09:11:00"), gap(GOV, f"{DAY} 09:10:30", None)],
    )
    with open_catalog(tmp_path) as con:
        series = day_series(con, GOV, D, "a name")
    rows = series.quotes.to_pylist()
    assert [row["time"] for row in rows] == [wall("09:00:00"), wall("09:00:01.500000")]
    assert rows[0] | {"time": None} == {
        "time": None, "bid": None, "ask": 10575.0, "mid": None, "spread": None,
        "bid_qty": None, "ask_qty": 200,
    }  # fmt: skip
    assert (rows[1]["mid"], rows[1]["spread"], rows[1]["bid_qty"]) == (10567.5, 15.0, 100)
    assert series.trades.to_pylist() == [{"time": wall("09:00:03"), "price": 10570.0, "qty": 30}]
    assert series.gaps == ((wall("09:10:00"), None),)  # the open one swallows the rest
    assert (series.quote_count, series.thinned, series.name) == (2, False, "a name")


def test_a_day_of_more_quotes_than_points_is_thinned_to_the_last_book_of_each_bucket(
    tmp_path: Path,
) -> None:
    # 600 quotes, one every 100 ms from 09:00:00, bid prices counting up; 20 points asked.
    quotes = [
        quote(GOV, f"{DAY} 09:00:00", extra_ns=i * 100_000_000, offset=i,
              bid=(f"{10000 + i}.00", "3.000", 1))
        for i in range(600)
    ]  # fmt: skip
    catalog_dir(tmp_path, quotes=quotes)
    with open_catalog(tmp_path) as con:
        series = day_series(con, GOV, D, max_points=20)
    bids = series.quotes.column("bid").to_pylist()
    assert series.quote_count == 600 and series.thinned
    # 20 equal buckets over the day's span from its first quote (59.9 s, a hair more for the
    # last quote): each keeps its last quote, quote i falling in bucket i * 0.1 s // width
    width_ns = -(-(599 * 100_000_000 + 1) // 20)
    last_of_bucket = {i * 100_000_000 // width_ns: i for i in range(600)}
    assert bids == [10000.0 + i for i in sorted(last_of_bucket.values())]
    assert len(bids) == 20 and bids[-1] == 10599.0  # the day's last book is kept


def test_overlapping_and_touching_spans_merge_and_an_open_one_runs_on() -> None:
    t = [wall(f"09:00:{s:02d}") for s in range(10)]
    spans = [(t[5], t[6]), (t[0], t[2]), (t[1], t[3]), (t[3], t[4]), (t[7], None), (t[8], t[9])]
    assert merge_spans(spans) == ((t[0], t[4]), (t[5], t[6]), (t[7], None))
    assert merge_spans([]) == ()
