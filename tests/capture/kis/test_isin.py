"""ISIN check digits: the Luhn rule over digits with letters as A=10 … Z=35."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture.kis.isin import check_digit, is_valid_isin, isin_problem


@pytest.mark.parametrize("isin", ["KR103502GD31", "US0378331005", "KR6095571B92"])
def test_known_isins_have_the_expected_check_digit(isin: str) -> None:
    assert check_digit(isin[:11]) == isin[11]


def test_a_korean_isin_with_a_wrong_check_digit_says_which_digit_is_expected() -> None:
    assert isin_problem("KR103502GD30") == "check digit is 0, expected 1"


@pytest.mark.parametrize("bad", ["", "KR103502GD3", "US0378331005", "kr103502gd31", "KR103502GD3X"])
def test_malformed_isins_are_invalid(bad: str) -> None:
    assert not is_valid_isin(bad)


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=9, max_size=9))
def test_every_body_has_exactly_one_valid_check_digit(body: str) -> None:
    valid = [d for d in "0123456789" if is_valid_isin(f"KR{body}{d}")]
    assert valid == [check_digit(f"KR{body}")]
