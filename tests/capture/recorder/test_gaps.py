from __future__ import annotations

from capture.recorder.gaps import GapBook

A, B, C = ("H0BJASP0", "KR103502GD31"), ("H0BJCNT0", "KR103502GD31"), ("H0BJASP0", "KR101501DD41")


def test_a_lost_connection_opens_a_gap_per_live_pair_and_an_ack_closes_it_with_its_start() -> None:
    book = GapBook()
    assert book.open([A, B], start_ns=100) == [A, B]
    assert book.close(A) == 100
    assert book.close(A) is None  # a second ack ends nothing
    assert book.open_gaps() == {B: 100}


def test_a_pair_already_in_a_gap_keeps_its_earlier_start() -> None:
    book = GapBook({A: 5})
    assert book.open([A, C], start_ns=100) == [C]
    assert book.open_gaps() == {A: 5, C: 100}


def test_open_gaps_is_a_copy_the_caller_cannot_change_the_book_through() -> None:
    book = GapBook({A: 5})
    book.open_gaps().clear()
    assert A in book and len(book) == 1
