from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from capture.errors import StorageError
from capture.kis.layouts import LAYOUTS
from capture.rawlog import RecordKind
from storage.lake.files import Lake
from storage.normalize.normalizer import normalize
from tests.support.rawdata import ISINS, START_NS, RawLog, lake_rows

SAMPLE_BOOK = (
    b"0|H0BJASP0|001|KR103502GD31^131743^3.012^3.020^10575.00^10560.00^416090^323813^3.011^"
    b"3.022^10576.00^10556.00^405284^57^3.010^3.022^10578.00^10555.00^177098^500000^3.009^3.024^"
    b"10580.00^10551.00^97637^363079^3.001^3.025^10597.00^10550.00^80000^379920^1698609^4112382"
)
SAMPLE_TRADE = (
    "0|H0BJCNT0|001|KR103502GD31^국고03250-5303(23-2)^131743^2^5.00^0.05^10575.00^1^10525.00^"
    "10578.00^10525.00^0.00^3.012^3.037^3.010^3.037^6594124^9874082^2"
).encode()


def _ns(ts: dt.datetime) -> int:
    return (ts - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


def _mixed_log(data_dir: Path) -> RawLog:
    log = RawLog(data_dir)
    log.frames(40)
    log.ack(1, "H0BJASP0")
    log.ack(1, "H0BJCNT0")
    log.frames(20, encrypted=True)  # keys from the acks on conn 1
    log.frames(5, conn_id=2, encrypted=False)
    log.malformed()
    log.clock.advance(3600)  # next segment: conn 2's key comes from its STATE record
    log.send(b'{"header":{"tr_id":"PINGPONG","datetime":"20260101164640"}}')
    log.frames(10, conn_id=2, encrypted=True)
    log.frames(30)
    log.writer.close()
    return log


def test_every_record_written_to_raw_is_a_row_with_every_digit_as_sent(tmp_path: Path) -> None:
    log = _mixed_log(tmp_path)
    stats = normalize(tmp_path)
    for table in ("quotes", "trades"):
        layout = next(lay for lay in LAYOUTS.values() if lay.table == table)
        rows = lake_rows(tmp_path, table)
        got = [[str(row[f.column]) for f in layout.fields] for row in rows]
        assert got == log.expected[table]
        assert stats.rows[table] == len(log.expected[table])


def test_malformed_frames_are_rejects_with_their_exact_bytes(tmp_path: Path) -> None:
    log = _mixed_log(tmp_path)
    normalize(tmp_path)
    rejects = lake_rows(tmp_path, "rejects")
    assert sorted(r["raw"] for r in rejects) == sorted(log.expected_rejects)
    assert all(r["reason"] for r in rejects)


def test_a_value_with_more_decimals_than_its_type_is_a_reject_not_rounded(tmp_path: Path) -> None:
    log = RawLog(tmp_path)
    bad = SAMPLE_BOOK.replace(b"10575.00", b"10575.005")
    log.send(bad)
    log.writer.close()
    normalize(tmp_path)
    assert lake_rows(tmp_path, "quotes") == []
    [reject] = lake_rows(tmp_path, "rejects")
    assert reject["raw"] == bad and reject["record_index"] == 0
    assert "ask_price_1" in reject["reason"]


def test_the_kis_sample_frames_parse_to_the_documented_values(tmp_path: Path) -> None:
    log = RawLog(tmp_path)
    log.send(SAMPLE_BOOK)
    log.send(SAMPLE_TRADE)
    log.writer.close()
    normalize(tmp_path)
    [quote], [trade] = lake_rows(tmp_path, "quotes"), lake_rows(tmp_path, "trades")
    assert quote["ask_price_1"] == Decimal("10575.00") and str(quote["ask_price_1"]) == "10575.00"
    assert quote["bid_qty_2"] == 57 and quote["ask_yield_1"] == Decimal("3.012")
    assert quote["total_bid_qty"] == 4112382 and quote["isin"] == "KR103502GD31"
    assert quote["exch_time"] == "131743"
    assert quote["exch_ts"] == dt.datetime(2026, 1, 1, 4, 17, 43, tzinfo=dt.UTC)
    assert trade["trade_yield"] == Decimal("3.012") and trade["bond_name"] == "국고03250-5303(23-2)"
    assert trade["change_rate"] == Decimal("0.05") and trade["cum_volume"] == 6594124


def test_recv_ns_keeps_the_nanosecond_and_recv_ts_is_the_microsecond_that_holds_it(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path)
    log.clock.advance(0.000_000_789)  # every record below is 789 ns past a microsecond
    log.send(SAMPLE_BOOK)
    log.send(SAMPLE_BOOK[:40])  # a reject carries its receive time the same way
    log.writer.close()
    normalize(tmp_path)
    [quote], [reject] = lake_rows(tmp_path, "quotes"), lake_rows(tmp_path, "rejects")
    for row in quote, reject:
        assert row["recv_ns"] % 1000 == 789
        assert _ns(row["recv_ts"]) == row["recv_ns"] - 789


def test_rebuild_gives_the_same_rows_as_incremental_runs(tmp_path: Path) -> None:
    log = RawLog(tmp_path)
    log.frames(30)
    normalize(tmp_path, batch_records=7)
    log.malformed()
    log.clock.advance(3600)
    log.frames(30)
    log.writer.close()
    normalize(tmp_path, batch_records=7)
    before = {t: lake_rows(tmp_path, t) for t in ("quotes", "trades", "rejects")}
    normalize(tmp_path, rebuild=True)
    assert {t: lake_rows(tmp_path, t) for t in before} == before
    assert not (tmp_path / "lake" / "rebuild").exists()


def test_gap_events_become_gap_rows_with_their_start_and_end(tmp_path: Path) -> None:
    log = RawLog(tmp_path)
    key = {"tr_id": "H0BJASP0", "isin": ISINS[0]}
    log.event(type="gap_open", conn=3, start_ns=START_NS - 7_000, reason="disconnect", **key)
    log.event(type="gap_open", conn=3, tr_id="H0BJCNT0", isin=ISINS[1], start_ns=5, reason="x")
    log.event(type="something_new", conn=3)
    normalize(tmp_path)
    open_rows = lake_rows(tmp_path, "gaps", order="tr_id")
    assert [(r["tr_id"], r["end_ts"]) for r in open_rows] == [
        ("H0BJASP0", None),
        ("H0BJCNT0", None),
    ]
    log.event(type="gap_close", conn=4, end_ns=START_NS + 9_000, **key)
    log.writer.close()
    normalize(tmp_path)
    rows = lake_rows(tmp_path, "gaps", order="tr_id")
    assert [(r["conn_id"], r["tr_id"], r["reason"]) for r in rows] == [
        (3, "H0BJASP0", "disconnect"),
        (3, "H0BJCNT0", "x"),
    ]
    assert _ns(rows[0]["start_ts"]) == START_NS - 7_000
    assert _ns(rows[0]["end_ts"]) == START_NS + 9_000
    assert rows[1]["end_ts"] is None
    assert lake_rows(tmp_path, "rejects") == []


def test_an_event_that_is_not_json_is_a_reject(tmp_path: Path) -> None:
    log = RawLog(tmp_path)
    log.send(b"\x00garbage", kind=RecordKind.EVENT)
    log.writer.close()
    normalize(tmp_path)
    assert [r["raw"] for r in lake_rows(tmp_path, "rejects")] == [b"\x00garbage"]


def test_a_second_normalizer_on_the_same_lake_is_refused(tmp_path: Path) -> None:
    RawLog(tmp_path).writer.close()
    refused = pytest.raises(StorageError, match="another normalizer")
    with Lake(tmp_path / "lake").exclusive(), refused:
        normalize(tmp_path)
    normalize(tmp_path)  # the lock is released on exit: this must not raise


def test_a_gap_close_with_no_gap_open_is_a_reject_that_says_so(tmp_path: Path) -> None:
    log = RawLog(tmp_path)
    log.event(type="gap_close", conn=3, tr_id="H0BJASP0", isin=ISINS[0], end_ns=START_NS)
    log.writer.close()
    normalize(tmp_path)
    [reject] = lake_rows(tmp_path, "rejects")
    assert reject["reason"] == f"gap_close of H0BJASP0 {ISINS[0]} with no gap open"
    assert lake_rows(tmp_path, "gaps") == []


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "gap_open", "conn": 1, "tr_id": "H0BJASP0", "isin": "KR103502GD31",
          "start_ns": "yesterday", "reason": "dropped"},
         "'start_ns' = 'yesterday' is not an integer in [0, 9223372036854775807]"),
        ({"type": "gap_open", "conn": 1, "tr_id": "H0BJASP0", "isin": "KR103502GD31",
          "reason": "dropped"}, "gap_open event without 'start_ns'"),
        ({"type": "gap_close", "conn": 1, "tr_id": ["H0BJASP0"], "isin": "KR103502GD31",
          "end_ns": 1}, "gap_close event 'tr_id' = ['H0BJASP0'] is not a string"),
        ({"conn": 1}, "event without a string 'type': b'{\"conn\": 1}'"),
    ],
)  # fmt: skip
def test_an_event_of_the_wrong_shape_is_a_reject_naming_what_is_wrong(
    tmp_path: Path, event: dict, reason: str
) -> None:
    log = RawLog(tmp_path)
    log.event(**event)
    log.writer.close()
    normalize(tmp_path)
    [reject] = lake_rows(tmp_path, "rejects")
    assert reject["reason"] == reason
