"""The named queries ship with the package and run on real DuckDB over real lake files."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest

import sql
from capture.kis.layouts import ORDER_BOOK
from capture.kis.protocol import data_frame
from storage.normalize.normalizer import normalize
from tests.support.rawdata import RawLog, record

GOV, CORP = "KR103502GD31", "KR101501DD41"  # CORP sorts first
TOP = (  # the columns latest_books returns, in order
    "isin",
    "exch_time",
    "bid_qty_1",
    "bid_yield_1",
    "bid_price_1",
    "ask_price_1",
    "ask_yield_1",
    "ask_qty_1",
)


def book(isin: str, exch_time: str, n: int) -> list[str]:
    """A book record whose top of book says which one it is (``n``); other levels random."""
    randoms = record(random.Random(n), ORDER_BOOK.tr_id, isin)
    values = dict(zip(ORDER_BOOK.columns, randoms, strict=True))
    values.update(
        exch_time=exch_time,
        bid_qty_1=str(1000 + n),
        bid_yield_1=f"3.{n:03d}",
        bid_price_1=f"{10500 + n}.00",
        ask_price_1=f"{10600 + n}.50",
        ask_yield_1=f"2.{n:03d}",
        ask_qty_1=str(2000 + n),
    )
    return [values[column] for column in ORDER_BOOK.columns]


def top_of_book(values: list[str]) -> tuple[str, ...]:
    by_column = dict(zip(ORDER_BOOK.columns, values, strict=True))
    return tuple(by_column[column] for column in TOP)


def as_text(row: tuple[object, ...]) -> tuple[str, ...]:
    """Values as the feed wrote them, whatever the lake's types: a TIME 10:00:03 and a
    VARCHAR '100003' both read 100003; a DECIMAL keeps its digits."""
    return tuple(str(value).replace(":", "") for value in row)


def test_latest_books_gives_the_last_received_top_of_book_per_isin_ordered_by_isin(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path)  # every frame is received 0.25 s after the one before
    frames = [
        [book(GOV, "100000", 1)],
        [book(CORP, "100001", 2)],
        # One frame, one recv_ts: of GOV's two records the later in the frame is the latest,
        # although its exchange time is earlier.
        [book(GOV, "100005", 3), book(CORP, "100002", 4), book(GOV, "100003", 5)],
        [book(CORP, "095959", 6)],  # received last, so latest, whatever its exchange time
    ]
    for i, records in enumerate(frames):
        log.send(data_frame(ORDER_BOOK.tr_id, records).encode())
        if i == 1:
            normalize(tmp_path)  # two runs: several files per ISIN
    log.writer.close()
    normalize(tmp_path)
    files = sorted(str(p) for p in (tmp_path / "lake" / "live" / "quotes").rglob("*.parquet"))
    assert len(files) > 2

    cursor = duckdb.connect().execute(sql.query("latest_books"), [files])
    assert [column[0] for column in cursor.description] == list(TOP)
    assert [as_text(row) for row in cursor.fetchall()] == [
        top_of_book(frames[3][0]),
        top_of_book(frames[2][2]),
    ]


def test_an_unknown_query_name_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        sql.query("no_such_query")
