from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.exchange.market import Market, bond_profile, fixed
from capture.kis.isin import check_digit
from capture.kis.layouts import ORDER_BOOK, TRADES
from tests.support.kis_checks import check_book, check_trade

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
isins = st.text(ALNUM, min_size=9, max_size=9).map(lambda s: "KR" + s + check_digit("KR" + s))
seeds = st.integers(min_value=0, max_value=2**64)


@settings(max_examples=60, deadline=None)
@given(isin=isins, seed=seeds)
def test_books_obey_the_value_rules_for_any_valid_isin_and_seed(isin: str, seed: int) -> None:
    market = Market(seed)
    for _ in range(20):
        record = market.next_record(ORDER_BOOK.tr_id, isin, "091500")
        assert record[0] == isin
        assert not any("^" in v or "|" in v for v in record)
        check_book(record)


@settings(max_examples=60, deadline=None)
@given(isin=isins, seed=seeds)
def test_trades_obey_the_value_rules_and_accumulate_volume(isin: str, seed: int) -> None:
    market = Market(seed)
    records = [market.next_record(TRADES.tr_id, isin, "131743") for _ in range(20)]
    for record in records:
        assert not any("^" in v or "|" in v for v in record)
        check_trade(record)
    volumes = [int(r[16]) for r in records]
    assert volumes == sorted(volumes) and volumes[-1] == sum(int(r[7]) for r in records)
    assert len({r[8] for r in records}) == 1  # the open never changes
    assert max(Decimal(r[9]) for r in records) == Decimal(records[-1][9])


@pytest.mark.parametrize(
    ("body", "prefixes"),
    [
        ("KR1035027GD", ("국고",)),
        ("KR2005021A3", ("서울도시철도채권", "부산도시철도채권", "지역개발채권")),
        (
            "KR3501010F6",
            ("한국전력", "한국토지주택공사", "한국도로공사", "한국가스공사", "한국수자원공사"),
        ),
        (
            "KR6000001A2",
            ("삼성물산", "현대자동차", "SK텔레콤", "LG화학", "포스코", "롯데쇼핑", "CJ제일제당"),
        ),
    ],
)
def test_bond_names_follow_the_issuer_type_in_the_isin(body: str, prefixes: tuple[str]) -> None:
    for seed in range(10):
        assert bond_profile(body + check_digit(body), seed).name.startswith(prefixes)


def test_government_names_look_like_krx_listings() -> None:
    name = bond_profile("KR103502GD31", 3).name
    assert name[:2] == "국고" and name[2:7].isdigit() and name[7] == "-" and name.endswith(")")


def test_a_stream_does_not_depend_on_what_else_the_market_was_asked() -> None:
    alone, mixed = Market(42), Market(42)
    expected = [alone.next_record(ORDER_BOOK.tr_id, "KR103502GD31", "100000") for _ in range(5)]
    got = []
    for _ in range(5):
        mixed.next_record(TRADES.tr_id, "KR103502GD31", "100000")
        mixed.next_record(ORDER_BOOK.tr_id, "KR6000001A28", "100000")
        got.append(mixed.next_record(ORDER_BOOK.tr_id, "KR103502GD31", "100000"))
    assert got == expected
    assert Market(43).next_record(ORDER_BOOK.tr_id, "KR103502GD31", "100000") != expected[0]


def test_invalid_isins_and_unknown_trs_are_refused() -> None:
    with pytest.raises(ValueError, match="check digit"):
        Market(1).next_record(ORDER_BOOK.tr_id, "KR103502GD30", "100000")
    with pytest.raises(ValueError, match="H0STCNT0"):
        Market(1).next_record("H0STCNT0", "KR103502GD31", "100000")


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1057500, 2, "10575.00"),
        (-505, 2, "-5.05"),
        (3012, 3, "3.012"),
        (5, 2, "0.05"),
        (0, 2, "0.00"),
    ],
)
def test_fixed_renders_integers_exactly(value: int, decimals: int, text: str) -> None:
    assert fixed(value, decimals) == text
