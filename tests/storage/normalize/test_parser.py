"""The parser's time columns: exch_ts on the Seoul date nearest recv_ts, exch_time as sent."""

from __future__ import annotations

import datetime as dt

import pytest

from capture.clock import SEOUL
from storage.normalize.parser import FrameParser, ParsedFrames
from tests.support.rawdata import frames_table
from tests.support.rawlog import seoul_ns
from tests.support.samples import ORDER_BOOK_SAMPLE, TRADE_SAMPLE

SAMPLE_TIME = "131743"


def _parsed(sample: str, exch_time: str, recv_ns: int) -> ParsedFrames:
    assert sample.count(SAMPLE_TIME) == 1
    parser = FrameParser(threads=1)
    try:
        return parser.parse(frames_table([sample.replace(SAMPLE_TIME, exch_time)], recv_ns))
    finally:
        parser.close()


def _parsed_row(sample: str, exch_time: str, recv_ns: int) -> dict:
    [row] = [r for t in _parsed(sample, exch_time, recv_ns).rows.values() for r in t.to_pylist()]
    return row


@pytest.mark.parametrize("sample", [ORDER_BOOK_SAMPLE, TRADE_SAMPLE], ids=["quote", "trade"])
@pytest.mark.parametrize(
    ("exch_time", "recv", "exch"),
    [
        # stamped before midnight, received just after: the exchange's day is the day before
        ("235959", (2026, 1, 2, 0, 0, 0, 300_000_000), (2026, 1, 1, 23, 59, 59)),
        # the exchange clock slightly ahead of ours: its day is the day after recv_ts's
        ("000001", (2026, 1, 1, 23, 59, 59, 800_000_000), (2026, 1, 2, 0, 0, 1)),
        # the ordinary case: the same Seoul day, a fraction of a second apart
        ("131743", (2026, 1, 1, 13, 17, 43, 500_000_000), (2026, 1, 1, 13, 17, 43)),
        # a record received long after its stamp still belongs to the same day if nearest
        ("090000", (2026, 1, 1, 20, 0, 0, 0), (2026, 1, 1, 9, 0, 0)),
    ],
)
def test_exch_ts_is_exch_time_on_the_seoul_date_that_puts_it_nearest_recv_ts(
    sample: str, exch_time: str, recv: tuple[int, ...], exch: tuple[int, ...]
) -> None:
    *wall, ns = recv
    row = _parsed_row(sample, exch_time, seoul_ns(*wall, ns=ns))
    assert row["exch_time"] == exch_time
    assert row["exch_ts"] == dt.datetime(*exch, tzinfo=SEOUL)
    assert row["date"] == dt.date(*wall[:3]), "the partition stays the Seoul date of recv_ts"


@pytest.mark.parametrize("exch_time", ["240000", "136000", "1317", "13174x", " 31743", "1317430"])
def test_an_exch_time_that_is_not_hhmmss_is_a_reject_naming_it(exch_time: str) -> None:
    parsed = _parsed(ORDER_BOOK_SAMPLE, exch_time, seoul_ns(2026, 1, 1, 13, 17, 43))
    assert all(t.num_rows == 0 for t in parsed.rows.values())
    [reject] = parsed.rejects.to_pylist()
    assert reject["reason"] == f"exch_time (STCK_CNTG_HOUR) = {exch_time} is not a valid time"
