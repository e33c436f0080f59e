"""The parser's time columns: exch_ts on the Seoul date nearest recv_ts, exch_time as sent."""

from __future__ import annotations

import datetime as dt

import pytest

from capture.clock import SEOUL
from storage.parser import FrameParser
from tests.capture.rawlog.helpers import seoul_ns
from tests.samples import ORDER_BOOK_SAMPLE, TRADE_SAMPLE
from tests.storage.rawdata import frames_table

SAMPLE_TIME = "131743"


def _parsed_row(sample: str, exch_time: str, recv_ns: int) -> dict:
    assert sample.count(SAMPLE_TIME) == 1
    parser = FrameParser(threads=1)
    try:
        parsed = parser.parse(frames_table([sample.replace(SAMPLE_TIME, exch_time)], recv_ns))
    finally:
        parser.close()
    [row] = [r for table in parsed.rows.values() for r in table.to_pylist()]
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
    assert row["exch_ts"] == dt.datetime(*exch, tzinfo=SEOUL)
    assert row["date"] == dt.date(*wall[:3]), "the partition stays the Seoul date of recv_ts"
