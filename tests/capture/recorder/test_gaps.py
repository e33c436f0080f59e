from __future__ import annotations

import datetime as dt

from capture.clock import NS_PER_S, SEOUL
from capture.recorder.gaps import GapBook

A, B, C = ("H0BJASP0", "KR103502GD31"), ("H0BJCNT0", "KR103502GD31"), ("H0BJASP0", "KR101501DD41")


def test_a_lost_connection_opens_a_gap_per_live_pair_and_an_ack_closes_it_with_its_start() -> None:
    book = GapBook()
    assert book.open([A, B], start_ns=100) == [A, B]
    assert book.close(A, 200) == 100
    assert book.close(A, 300) is None  # a second ack ends nothing
    assert book.open_gaps() == {B: 100}


def test_a_pair_already_in_a_gap_keeps_its_earlier_start() -> None:
    book = GapBook({A: 5})
    assert book.open([A, C], start_ns=100) == [C]
    assert book.open_gaps() == {A: 5, C: 100}


def test_open_gaps_is_a_copy_the_caller_cannot_change_the_book_through() -> None:
    book = GapBook({A: 5})
    book.open_gaps().clear()
    assert A in book and len(book) == 1


def seoul(day: int, hh: int, mm: int) -> int:
    return int(dt.datetime(2026, 12, day, hh, mm, tzinfo=SEOUL).timestamp()) * NS_PER_S


def test_the_day_tally_counts_gaps_opened_that_day_and_the_seconds_lost_that_day_so_far() -> None:
    book = GapBook({C: seoul(1, 23, 59)})  # carried from the day before: not counted as opened
    book.open([A, B], seoul(2, 10, 0))
    book.close(A, seoul(2, 10, 0) + 30 * NS_PER_S)
    assert book.day_tally(seoul(2, 10, 1)) == (2, 30 + 60 + 10 * 3600 + 60)
    assert book.day_tally(seoul(3, 0, 10)) == (0, 2 * 600)  # next day: open ones since 00:00
    assert book.open_seconds(seoul(2, 10, 1)) == 60 + 10 * 3600 + 120
    assert book.closed_s_total == 30
