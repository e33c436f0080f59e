"""The book queries (book_asof, mid_spread, depth_imbalance) give exact answers on known rows."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from capture.clock import SEOUL
from storage.compact.compaction import compact
from storage.read.queries import named_query
from tests.support.catalog_data import (
    CORP,
    DAY,
    GOV,
    catalog_dir,
    instant,
    query_rows,
    quote,
    seoul_ns,
)

OTHER = "KR6095571B92"
AT = f"{DAY} 10:30:00"


def book_columns() -> list[str]:
    """book_asof's columns in order: each level from the middle outwards, then lineage."""
    return [
        "isin", "date", "recv_ts", "exch_time", "exch_ts",
        *(
            f"{side}_{field}_{level}"
            for level in range(1, 6)
            for side, field in (
                ("bid", "qty"), ("bid", "yield"), ("bid", "price"),
                ("ask", "price"), ("ask", "yield"), ("ask", "qty"),
            )
        ),
        "total_bid_qty", "total_ask_qty", "segment", "offset", "record_index",
    ]  # fmt: skip


def as_book(row: dict[str, Any]) -> dict[str, Any]:
    return {column: row[column] for column in book_columns()}


def book_rows() -> dict[str, dict[str, Any]]:
    """GOV's latest by `AT` is ``tie_late``: same recv_ns as ``tie_early`` but a later offset
    (though a lower record_index); ``after`` is 1 µs past `AT`; ``other_same_us`` 999 ns
    past `AT`, within its microsecond."""
    return {
        "older": quote(GOV, f"{DAY} 10:29:00", bid=("10559.00", "3.021", 7)),
        "tie_early": quote(GOV, AT, bid=("10561.00", "3.019", 8), offset=100, record_index=1),
        "tie_late": quote(GOV, AT, bid=("10562.00", "3.018", 9), offset=200, record_index=0),
        "after": quote(GOV, AT, bid=("10563.00", "3.017", 6), extra_ns=1_000, offset=300),
        "corp_yesterday": quote(CORP, "2026-11-25 15:00:00", ask=("10400.00", "3.500", 5)),
        "corp_later": quote(CORP, f"{DAY} 11:00:00"),
        "other_later": quote(OTHER, f"{DAY} 10:30:01"),
        "other_same_us": quote(OTHER, AT, extra_ns=999, offset=50),
    }


def test_book_asof_gives_each_isins_latest_book_received_at_or_before_the_instant(
    tmp_path: Path,
) -> None:
    rows = book_rows()
    data = catalog_dir(tmp_path, quotes=list(reversed(rows.values())))
    got = query_rows(data, "book_asof", at=f"{AT}+09:00")
    assert list(got[0]) == book_columns()
    # CORP quoted yesterday, not yet today: books do not carry over days. OTHER's book came
    # within AT's microsecond: at or before AT, to the microsecond (its recv_ts is AT).
    assert got == [as_book(rows["tie_late"]), as_book(rows["other_same_us"])]
    assert got[0]["recv_ts"] == instant(seoul_ns(AT))


def test_book_asof_reads_a_time_without_offset_as_seoul_and_can_pick_isins(
    tmp_path: Path,
) -> None:
    rows = book_rows()
    data = catalog_dir(tmp_path, quotes=list(rows.values()))
    assert query_rows(data, "book_asof", at=AT, isins=GOV) == [as_book(rows["tie_late"])]
    assert query_rows(
        data, "book_asof", at="2026-11-26 01:30:00+00:00", isins=f"{GOV}, {CORP}"
    ) == [as_book(rows["tie_late"])]
    assert query_rows(data, "book_asof", at="2026-11-25 15:00:00", isins=CORP) == [
        as_book(rows["corp_yesterday"])
    ]
    assert query_rows(data, "book_asof", at=f"{DAY} 10:29:59.999999", isins=OTHER) == []
    # `after` came 1 µs past AT: not at or before AT; at the next microsecond it is the book.
    assert query_rows(data, "book_asof", at=f"{DAY} 10:30:00.000001", isins=GOV) == [
        as_book(rows["after"])
    ]


def test_book_asof_gives_the_same_books_from_a_compacted_days_indexes_as_from_its_rows(
    tmp_path: Path,
) -> None:
    rng = random.Random(3)
    rows = [
        quote(isin, f"{DAY} {h:02d}:{m:02d}:{s:02d}", bid=(f"{10500 + i}.00", "3.020", i + 1),
              extra_ns=rng.choice((0, 0, 999, 1_000)), offset=i * 10, record_index=i % 2)
        for i in range(300)
        for isin in [rng.choice((GOV, CORP, OTHER))]
        for h, m, s in [(rng.choice((9, 10, 14)), rng.randrange(60), rng.randrange(60))]
    ]  # fmt: skip
    live = catalog_dir(tmp_path / "live", quotes=rows)
    compacted = catalog_dir(tmp_path / "hist", quotes=rows)
    compact(compacted, date=dt.date.fromisoformat(DAY))
    assert list((compacted / "lake" / "hist" / "books_by_minute").rglob("data-*.parquet"))
    day = dt.date.fromisoformat(DAY)
    instants = [
        dt.datetime.combine(day, dt.time.fromisoformat(wall), tzinfo=SEOUL)
        for wall in ("08:59:59", "09:00:00", "10:17:00", "10:17:30.5", "12:00:00",
                     "14:59:59.999999", "23:59:59")
    ]  # fmt: skip
    instants += [row["recv_ts"] for row in rows[::25]]  # exact receive times
    for at in instants:
        expected = latest_books(rows, at)
        assert query_rows(live, "book_asof", at=at.isoformat()) == expected, at
        assert query_rows(compacted, "book_asof", at=at.isoformat()) == expected, at


def latest_books(rows: list[dict[str, Any]], at: dt.datetime) -> list[dict[str, Any]]:
    """The definition, in Python: per ISIN the last row of ``at``'s Seoul day received at or
    before it, to the microsecond (recv_ns, then lineage)."""
    limit = (at - instant(0)) // dt.timedelta(microseconds=1) * 1000 + 999  # to the µs
    day = at.astimezone(SEOUL).date()
    latest: dict[str, dict[str, Any]] = {}
    order = ("recv_ns", "segment", "offset", "record_index")
    for row in sorted(rows, key=lambda r: tuple(r[k] for k in order)):
        if row["recv_ns"] <= limit and row["date"] == day:
            latest[row["isin"]] = row
    return [as_book(latest[isin]) for isin in sorted(latest)]


def test_book_asof_declares_its_parameters() -> None:
    query = named_query("book_asof")
    assert [(p.name, p.type, p.required) for p in query.parameters] == [
        ("at", "TIMESTAMPTZ", True),
        ("isins", "VARCHAR[]", False),
    ]


def test_mid_spread_is_exact_per_quote_null_while_a_side_is_empty_within_start_and_end(
    tmp_path: Path,
) -> None:
    empty_bid = ("0.00", "0.000", 0)
    data = catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, f"{DAY} 10:01:00", offset=5),  # at `end`: left out
            quote(GOV, f"{DAY} 10:00:02", bid=empty_bid, offset=4),
            quote(GOV, f"{DAY} 10:00:01", bid=("10560.01", "3.019", 1), offset=3),
            quote(GOV, f"{DAY} 10:00:00", offset=2),  # at `start`: kept
            quote(GOV, f"{DAY} 09:59:59", offset=1),
            quote(CORP, f"{DAY} 10:00:30"),
        ],
    )
    got = query_rows(
        data, "mid_spread", isin=GOV, start=f"{DAY} 10:00:00", end=f"{DAY} 10:01:00+09:00"
    )
    columns = ["recv_ts", "bid_price_1", "ask_price_1", "mid_price", "spread_price"]
    columns += ["bid_yield_1", "ask_yield_1", "mid_yield", "spread_yield", "offset"]
    assert [tuple(row[c] for c in columns) for row in got] == [
        (
            instant(seoul_ns(f"{DAY} 10:00:00")), Decimal("10560.00"), Decimal("10575.00"),
            Decimal("10567.500"), Decimal("15.00"),
            Decimal("3.020"), Decimal("3.012"), Decimal("3.0160"), Decimal("0.008"), 2,
        ),
        (
            instant(seoul_ns(f"{DAY} 10:00:01")), Decimal("10560.01"), Decimal("10575.00"),
            Decimal("10567.505"), Decimal("14.99"),
            Decimal("3.019"), Decimal("3.012"), Decimal("3.0155"), Decimal("0.007"), 3,
        ),
        (
            instant(seoul_ns(f"{DAY} 10:00:02")), Decimal("0.00"), Decimal("10575.00"),
            None, None, Decimal("0.000"), Decimal("3.012"), None, None, 4,
        ),
    ]  # fmt: skip
    assert len(query_rows(data, "mid_spread", isin=GOV)) == 5


def test_depth_imbalance_at_level_one_and_over_five_levels_per_quote(tmp_path: Path) -> None:
    empty = ("0.00", "0.000", 0)
    data = catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, f"{DAY} 10:00:03", bid=empty, ask=("10575.00", "3.012", 50),
                  bid_qty=(10, 0, 0, 0), ask_qty=(0, 0, 0, 0)),
            quote(GOV, f"{DAY} 10:00:02", bid=empty, ask=("0.00", "0.000", 0),
                  bid_qty=(0, 0, 0, 0), ask_qty=(0, 0, 0, 0)),
            quote(GOV, f"{DAY} 10:00:01", bid=("10560.00", "3.020", 300),
                  ask=("10575.00", "3.012", 100), bid_qty=(100, 100, 100, 100),
                  ask_qty=(0, 0, 0, 100)),
            quote(GOV, f"{DAY} 10:00:00"),  # before `start`
            quote(GOV, f"{DAY} 10:00:04"),  # at `end`
        ],
    )  # fmt: skip
    got = query_rows(
        data, "depth_imbalance", isin=GOV, start=f"{DAY} 10:00:01", end=f"{DAY} 10:00:04"
    )
    columns = ["recv_ts", "bid_qty_1", "ask_qty_1", "imbalance_1"]
    columns += ["bid_depth", "ask_depth", "imbalance_5"]
    assert [tuple(row[c] for c in columns) for row in got] == [
        (instant(seoul_ns(f"{DAY} 10:00:01")), 300, 100, 0.5, 700, 200, (700 - 200) / 900),
        (instant(seoul_ns(f"{DAY} 10:00:02")), 0, 0, None, 0, 0, None),
        (instant(seoul_ns(f"{DAY} 10:00:03")), 0, 50, -1.0, 10, 50, (10 - 50) / 60),
    ]
