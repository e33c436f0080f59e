"""The trade queries (bars, trades_summary, trades_with_quote) give exact answers on known rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from capture.clock import SEOUL
from tests.support.catalog_data import (
    CORP,
    DAY,
    GOV,
    NEXT_DAY,
    catalog_dir,
    instant,
    query_rows,
    quote,
    seoul_ns,
    trade,
)

D = Decimal


def at(wall: str) -> dt.datetime:
    return dt.datetime.fromisoformat(wall).replace(tzinfo=SEOUL)


def bars_data(tmp_path: Path) -> Path:
    one_sided = ("0.00", "0.000", 0)
    return catalog_dir(
        tmp_path,
        quotes=[  # not in time order: open and close go by recv_ns
            quote(GOV, f"{DAY} 10:00:55", bid=("10561.00", "3.019", 1)),  # close
            quote(GOV, f"{DAY} 10:00:20", bid=("10562.00", "3.018", 1)),  # high
            quote(GOV, f"{DAY} 10:00:05"),  # open: mid 10567.500
            quote(GOV, f"{DAY} 10:00:50", bid=one_sided),  # no mid
            quote(GOV, f"{DAY} 10:00:40", bid=("10558.00", "3.022", 1)),  # low
            quote(GOV, f"{DAY} 10:01:10"),
            quote(GOV, f"{DAY} 10:03:00"),  # opens the 10:03 bar
            quote(CORP, f"{DAY} 11:00:00"),
            quote(CORP, f"{NEXT_DAY} 10:00:30"),
        ],
        trades=[
            trade(GOV, f"{DAY} 10:00:30", "10575.00", 1),
            trade(GOV, f"{DAY} 10:00:45", "10561.00", 2),
            trade(GOV, f"{DAY} 10:02:59.999999", "10570.00", 5, extra_ns=999),
        ],
    )


def test_bars_give_mid_ohlc_vwap_and_volume_per_minute_with_empty_sides_as_null_or_zero(
    tmp_path: Path,
) -> None:
    got = query_rows(bars_data(tmp_path), "bars", date=DAY)
    columns = ["isin", "bar_start", "quotes", "mid_open", "mid_high", "mid_low", "mid_close"]
    columns += ["trades", "volume", "vwap"]
    assert [tuple(row[c] for c in columns) for row in got] == [
        (CORP, at(f"{DAY} 11:00"), 1, D("10567.500"), D("10567.500"), D("10567.500"),
         D("10567.500"), 0, 0, None),
        # vwap = (10575 * 1 + 10561 * 2) / 3 = 10565.666..., not the mean price 10568
        (GOV, at(f"{DAY} 10:00"), 4, D("10567.500"), D("10568.500"), D("10566.500"),
         D("10568.000"), 2, 3, D("10565.6667")),
        (GOV, at(f"{DAY} 10:01"), 1, D("10567.500"), D("10567.500"), D("10567.500"),
         D("10567.500"), 0, 0, None),
        (GOV, at(f"{DAY} 10:02"), 0, None, None, None, None, 1, 5, D("10570.0000")),
        (GOV, at(f"{DAY} 10:03"), 1, D("10567.500"), D("10567.500"), D("10567.500"),
         D("10567.500"), 0, 0, None),
    ]  # fmt: skip


def test_bars_take_any_interval_aligned_on_seoul_midnight_and_a_range_of_dates(
    tmp_path: Path,
) -> None:
    data = bars_data(tmp_path)
    got = query_rows(data, "bars", date=DAY, to_date=NEXT_DAY, interval="1 day", isins=CORP)
    assert [(r["bar_start"], r["quotes"]) for r in got] == [
        (at(f"{DAY} 00:00"), 1),
        (at(f"{NEXT_DAY} 00:00"), 1),
    ]
    five = query_rows(data, "bars", date=DAY, interval="5 minutes", isins=GOV)
    assert [(r["bar_start"], r["quotes"], r["mid_open"], r["mid_close"]) for r in five] == [
        (at(f"{DAY} 10:00"), 6, D("10567.500"), D("10567.500"))
    ]
    # vwap = (10575 * 1 + 10561 * 2 + 10570 * 5) / 8
    assert (five[0]["trades"], five[0]["volume"], five[0]["vwap"]) == (3, 8, D("10568.3750"))


def summary_trades() -> list[dict[str, object]]:
    last_ns = dict(extra_ns=0, offset=40)
    return [
        trade(GOV, f"{DAY} 09:30:00", "10510.00", 2, "3.090", offset=30),  # low price
        trade(GOV, f"{DAY} 09:10:00", "10520.00", 3, "3.080", offset=10),  # first
        # The last two arrive in one frame: record_index decides which is last.
        trade(GOV, f"{DAY} 09:40:00", "10516.00", 10, "3.084", record_index=1, **last_ns),
        trade(GOV, f"{DAY} 09:40:00", "10515.00", 4, "3.085", record_index=0, **last_ns),
        trade(GOV, f"{DAY} 09:20:00", "10530.00", 1, "3.070", offset=20),  # high price
        trade(GOV, f"{NEXT_DAY} 09:00:00", "10540.00", 1, "3.060"),
        # (10500.29 + 7 * 10000.00) / 8 = 10062.53625: half up is .5363 (via DOUBLE, .5362)
        trade(CORP, f"{DAY} 09:00:00", "10500.29", 1, "3.300"),
        trade(CORP, f"{DAY} 09:00:01", "10000.00", 7, "3.300"),
    ]


@pytest.mark.parametrize("stored", ["as listed", "reversed"])
def test_trades_summary_per_isin_and_day_with_an_exact_vwap(tmp_path: Path, stored: str) -> None:
    trades = summary_trades()  # either way, first and last go by recv_ns, then lineage
    data = catalog_dir(tmp_path, trades=trades if stored == "as listed" else trades[::-1])
    got = query_rows(data, "trades_summary", date=DAY)
    assert got == [
        {
            "isin": CORP, "date": dt.date(2026, 11, 26), "trades": 2, "volume": 8,
            "vwap": D("10062.5363"), "first_price": D("10500.29"), "last_price": D("10000.00"),
            "high_price": D("10500.29"), "low_price": D("10000.00"),
            "first_yield": D("3.300"), "last_yield": D("3.300"),
            "high_yield": D("3.300"), "low_yield": D("3.300"),
        },
        {
            # vwap = (31560 + 10530 + 21020 + 42060 + 105160) / 20
            "isin": GOV, "date": dt.date(2026, 11, 26), "trades": 5, "volume": 20,
            "vwap": D("10516.5000"), "first_price": D("10520.00"), "last_price": D("10516.00"),
            "high_price": D("10530.00"), "low_price": D("10510.00"),
            "first_yield": D("3.080"), "last_yield": D("3.084"),
            "high_yield": D("3.090"), "low_yield": D("3.070"),
        },
    ]  # fmt: skip
    both_days = query_rows(data, "trades_summary", date=DAY, to_date=NEXT_DAY, isins=GOV)
    assert [(r["date"], r["trades"], r["vwap"]) for r in both_days] == [
        (dt.date(2026, 11, 26), 5, D("10516.5000")),
        (dt.date(2026, 11, 27), 1, D("10540.0000")),
    ]
    assert [r["date"] for r in query_rows(data, "trades_summary")] == [
        dt.date(2026, 11, 26), dt.date(2026, 11, 26), dt.date(2026, 11, 27)
    ]  # fmt: skip


def test_trades_with_quote_joins_the_book_strictly_before_each_trade_and_names_the_side(
    tmp_path: Path,
) -> None:
    empty = ("0.00", "0.000", 0)
    quotes = {
        "a": quote(GOV, f"{DAY} 10:00:00"),  # bid 10560.00, ask 10575.00
        "b0": quote(GOV, f"{DAY} 10:05:00", bid=("10561.00", "3.019", 5),
                    ask=("10574.00", "3.013", 5), offset=50, record_index=0),
        "b1": quote(GOV, f"{DAY} 10:05:00", bid=("10562.00", "3.018", 5),
                    ask=("10573.00", "3.014", 5), offset=50, record_index=1),
        "c": quote(GOV, f"{DAY} 10:10:00", bid=empty, ask=("10574.00", "3.013", 5)),
        "d": quote(GOV, f"{DAY} 10:15:00", bid=("10600.00", "2.900", 5),
                   ask=("10610.00", "2.890", 5)),
        "yesterday": quote(GOV, "2026-11-25 15:00:00"),
    }  # fmt: skip
    trades = [
        trade(GOV, f"{DAY} 09:59:00", "10570.00", 1),  # no book yet today
        trade(GOV, f"{DAY} 10:01:00", "10575.00", 2),  # at the ask
        trade(GOV, f"{DAY} 10:02:00", "10560.00", 3),  # at the bid
        trade(GOV, f"{DAY} 10:03:00", "10567.00", 4),  # inside
        trade(GOV, f"{DAY} 10:06:00", "10573.00", 5),  # at b1's ask (inside b0's)
        trade(GOV, f"{DAY} 10:12:00", "10570.00", 6),  # one-sided book, not reached
        trade(GOV, f"{DAY} 10:15:00", "10574.00", 7),  # same ns as d: c's book, its ask
        trade(GOV, f"{DAY} 10:15:00", "10605.00", 8, extra_ns=1),  # d's book: inside
        trade(GOV, f"{NEXT_DAY} 10:00:00", "10575.00", 9),
        trade(CORP, f"{DAY} 10:01:00", "10575.00", 10),
    ]
    data = catalog_dir(tmp_path, quotes=list(quotes.values()), trades=trades)
    got = query_rows(data, "trades_with_quote", isin=GOV, date=DAY)

    def book(name: str) -> tuple[object, ...]:
        q = quotes[name]
        return (q["recv_ts"], q["bid_price_1"], q["ask_price_1"], q["bid_qty_1"])

    nothing = (None, None, None, None)
    columns = ["trade_qty", "trade_price", "book_recv_ts", "bid_price_1", "ask_price_1"]
    assert [tuple(r[c] for c in [*columns, "bid_qty_1", "side"]) for r in got] == [
        (1, D("10570.00"), *nothing, None),
        (2, D("10575.00"), *book("a"), "ask"),
        (3, D("10560.00"), *book("a"), "bid"),
        (4, D("10567.00"), *book("a"), "inside"),
        (5, D("10573.00"), *book("b1"), "ask"),
        (6, D("10570.00"), *book("c"), None),
        (7, D("10574.00"), *book("c"), "ask"),
        (8, D("10605.00"), *book("d"), "inside"),
    ]
    assert got[7]["recv_ts"] == instant(seoul_ns(f"{DAY} 10:15:00"))  # the same microsecond
    everything = query_rows(data, "trades_with_quote", isin=GOV)
    assert [r["trade_qty"] for r in everything] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert everything[8]["book_recv_ts"] is None  # the next day has no quote: no book
