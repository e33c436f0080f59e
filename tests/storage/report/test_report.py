"""The integrity report on real raw logs, normalized by the real normalizer and read through
the real catalog: it balances, its counts are what was written, and a row lost from the lake
makes it fail naming the partition and the raw position."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from capture.clock import ManualClock
from capture.kis.layouts import LAYOUTS
from capture.kis.protocol import data_frame
from capture.rawlog import RecordKind
from storage.compact.compaction import compact
from storage.normalize.normalizer import normalize
from storage.read.catalog import build_catalog
from storage.read.results import json_rows
from storage.report.report import Report, ReportSettings, build_report, reason_group, save_report
from tests.data.golden import V1, V2
from tests.support.rawdata import ISINS, MALFORMED, RawLog, record
from tests.support.rawlog import seoul_ns

DAY1, DAY2 = dt.date(2026, 11, 26), dt.date(2026, 11, 27)
SETTINGS = ReportSettings(session_open=dt.time(8, 0), session_close=dt.time(15, 30))
NOW = seoul_ns(2026, 11, 28, 9, 0, 0)


def report_of(data_dir: Path, day: dt.date, settings: ReportSettings = SETTINGS) -> Report:
    return build_report(data_dir, day, settings, ManualClock(NOW))


def section(report: Report, *path: str) -> list[dict[str, Any]]:
    [found] = [s for s in report.sections if s.path == path]
    return json_rows(found.rows)


class Written:
    """What a test wrote for one day: records per (table, ISIN), rejects, data frames."""

    def __init__(self) -> None:
        self.records: Counter[tuple[str, str]] = Counter()
        self.rejects = 0
        self.frames = 0

    def take(self, log: RawLog, frames: int, before: dict[str, int]) -> None:
        """Count the records ``log`` wrote since ``before`` (lengths of log.expected)."""
        for table, rows in log.expected.items():
            self.records.update((table, row[0]) for row in rows[before[table] :])
        self.frames += frames


def lengths(log: RawLog) -> dict[str, int]:
    return {table: len(rows) for table, rows in log.expected.items()}


def two_days(data_dir: Path) -> dict[dt.date, Written]:
    """Two Seoul days: plain, encrypted, multi-record and malformed frames, gaps (one across
    midnight), bad events, and a day-1 record written into day 2's first segment."""
    log = RawLog(data_dir, seed=5, start_ns=seoul_ns(2026, 11, 26, 23, 0, 0))
    written = {DAY1: Written(), DAY2: Written()}
    day1 = written[DAY1]
    before = lengths(log)
    log.frames(30)
    log.ack(1, "H0BJASP0")
    log.ack(1, "H0BJCNT0")
    log.frames(12, encrypted=True)
    day1.take(log, 42, before)
    log.malformed()
    pair = {"tr_id": "H0BJASP0", "isin": ISINS[0]}
    log.event(type="gap_open", conn=1, start_ns=log.clock.now_ns(), reason="dropped", **pair)
    log.event(type="gap_close", conn=1, end_ns=log.clock.now_ns(), **pair)
    log.event(type="gap_close", conn=1, end_ns=log.clock.now_ns(), **pair)  # none open: reject
    log.send(b"\x00garbage", kind=RecordKind.EVENT)  # reject
    log.event(type="gap_open", conn=1, start_ns=log.clock.now_ns(), reason="dropped", **pair)
    log.open_gaps[("H0BJASP0", ISINS[0])] = log.clock.now_ns()  # the next STATE says so
    day1.rejects = len(MALFORMED) + 2
    late = seoul_ns(2026, 11, 26, 23, 59, 59, ns=900_000_000)

    log.clock.set_ns(seoul_ns(2026, 11, 27, 0, 0, 0, ns=100_000_000))
    day2 = written[DAY2]
    before = lengths(log)
    log.frames(3, conn_id=2)  # rotates into the day-2 segment
    day2.take(log, 3, before)
    before = lengths(log)
    log.frames(1, conn_id=1, recv_ns=late)  # a day-1 record in the day-2 segment
    day1.take(log, 1, before)
    before = lengths(log)
    log.event(type="gap_close", conn=2, end_ns=log.clock.now_ns(), **pair)  # STATE declared it
    log.frames(10, conn_id=2, encrypted=True)  # the key from the segment's STATE record
    log.clock.advance(3600)
    log.frames(20)
    day2.take(log, 30, before)
    log.malformed()
    day2.rejects = len(MALFORMED)
    log.writer.close()
    return written


def assert_counts(report: Report, written: Written) -> None:
    assert report.balanced, report.failure()
    volume = section(report, "volume")
    assert {(r["table"], r["isin"]): r["records"] for r in volume} == dict(written.records)
    assert {(r["table"], r["isin"]): r["rows"] for r in volume} == dict(written.records)
    categories = {r["category"]: r["records"] for r in section(report, "raw", "records")}
    assert categories["data_frames"] == written.frames
    partitions = section(report, "reconciliation", "partitions")
    assert {(r["table"], r["isin"]): r["found"] for r in partitions} == {
        **written.records,
        ("rejects", None): written.rejects,
    }
    assert all(r["expected"] == r["found"] for r in partitions)


def test_the_report_of_each_day_balances_and_counts_what_was_written(tmp_path: Path) -> None:
    written = two_days(tmp_path)
    normalize(tmp_path, batch_records=16)
    for day in (DAY1, DAY2):
        assert_counts(report_of(tmp_path, day), written[day])
    walked: list[tuple[int, int]] = []
    first = build_report(tmp_path, DAY1, SETTINGS, ManualClock(NOW),
                         lambda done, total: walked.append((done, total)))  # fmt: skip
    assert walked[-1] == (len(first.segments), len(first.segments)) and len(first.segments) > 1
    assert sum(r["rejects"] for r in section(first, "rejects")) == 11
    late = [
        s
        for p in first.partitions
        for s, (n, _) in p.by_segment.items()
        if n and s[:10] == str(DAY2)
    ]
    assert late, "the day-1 record in the day-2 segment was not counted for day 1"


def test_the_report_balances_the_same_after_compaction_moves_the_days_to_hist(
    tmp_path: Path,
) -> None:
    written = two_days(tmp_path)
    normalize(tmp_path, batch_records=16)
    for day in (DAY1, DAY2):
        compact(tmp_path, date=day, retention_s=0)
    assert list((tmp_path / "lake" / "hist" / "quotes").rglob("data-*.parquet"))
    assert not list((tmp_path / "lake" / "live" / "quotes").rglob("*.parquet"))
    for day in (DAY1, DAY2):
        assert_counts(report_of(tmp_path, day), written[day])


@pytest.mark.parametrize("golden", [V1, V2], ids=["raw-v1", "raw-v2"])
def test_the_golden_log_with_its_corrupt_region_and_torn_record_balances(
    tmp_path: Path, golden: Path
) -> None:
    """raw-v2 holds two REST book answers too: counted, owing no row, the report balances."""
    shutil.copytree(golden / "plain" / "raw", tmp_path / "raw")
    normalize(tmp_path)
    report = report_of(tmp_path, DAY1)
    assert report.balanced, report.failure()
    categories = {r["category"]: r["records"] for r in section(report, "raw", "records")}
    assert categories["rest_responses"] == (2 if golden == V2 else 0)
    assert categories["corrupt_regions"] == 2 and categories["pings"] == 1
    assert categories["data_frames"] == 5 and categories["bad_frames"] == 1
    reasons = {r["reason"]: r["rejects"] for r in section(report, "rejects")}
    assert reasons == {
        "H0BJASP0 frame says N records of N fields, payload has N fields": 1,
        "corrupt: record CRC mismatch": 1,
        "corrupt: record runs past the end of the segment": 1,
    }
    gaps = section(report, "gaps")
    assert [(g["tr_id"], g["is_open"]) for g in gaps] == [
        ("H0BJASP0", False), ("H0BJASP0", True), ("H0BJCNT0", True),
    ]  # fmt: skip


def test_a_row_missing_from_the_lake_fails_the_report_naming_its_partition_and_position(
    tmp_path: Path,
) -> None:
    two_days(tmp_path)
    normalize(tmp_path)
    folder = tmp_path / "lake" / "live" / "quotes" / f"date={DAY1}" / f"isin={ISINS[1]}"
    path = sorted(folder.glob("*.parquet"))[0]
    table = pq.read_table(path)
    lost = table.slice(0, 1).to_pylist()[0]
    pq.write_table(table.slice(1), path)

    report = report_of(tmp_path, DAY1)
    assert not report.balanced
    assert f"quotes/date={DAY1}/isin={ISINS[1]} holds" in report.failure()
    [mismatch] = section(report, "reconciliation", "mismatches")
    assert (mismatch["table"], mismatch["isin"], mismatch["segment"]) == (
        "quotes", ISINS[1], lost["segment"],
    )  # fmt: skip
    assert mismatch["expected"] == mismatch["found"] + 1
    assert mismatch["missing"] == [{"offset": lost["offset"], "record_index": lost["record_index"]}]
    assert mismatch["extra"] == []
    assert report_of(tmp_path, DAY2).balanced
    saved = json.loads(save_report(tmp_path, report).read_text())
    assert saved["balanced"] is False and saved["reconciliation"]["mismatches"]


def test_a_row_held_twice_is_extra_and_fails_the_report(tmp_path: Path) -> None:
    two_days(tmp_path)
    normalize(tmp_path)
    folder = tmp_path / "lake" / "live" / "trades" / f"date={DAY2}" / f"isin={ISINS[0]}"
    source = sorted(folder.glob("*.parquet"))[0]
    shutil.copy(source, folder / "copied-by-hand.parquet")  # no raw range: never superseded
    build_catalog(tmp_path)  # the next commit finds it

    report = report_of(tmp_path, DAY2)
    assert f"trades/date={DAY2}/isin={ISINS[0]} holds" in report.failure()
    copied = pq.read_table(source).to_pylist()
    [mismatch] = section(report, "reconciliation", "mismatches")
    assert mismatch["found"] == mismatch["expected"] + len(copied)
    assert mismatch["missing"] == []
    assert (
        mismatch["extra"]
        == [{"offset": r["offset"], "record_index": r["record_index"]} for r in copied][
            : SETTINGS.worst
        ]
    )


def feed_record(tr_id: str, isin: str, exch_time: str) -> list[str]:
    values = record(random.Random(1), tr_id, isin)
    values[LAYOUTS[tr_id].columns.index("exch_time")] = exch_time
    return values


def test_exch_time_going_backwards_and_receipt_far_from_it_are_found(tmp_path: Path) -> None:
    log = RawLog(tmp_path, start_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    for exch_time in ("100000", "095950", "100005"):  # 10 s back, then on: 0.25 s to 10.5 s off
        log.send(data_frame("H0BJASP0", [feed_record("H0BJASP0", ISINS[0], exch_time)]).encode())
    log.send(data_frame("H0BJCNT0", [feed_record("H0BJCNT0", ISINS[1], "094000")]).encode())
    log.writer.close()
    normalize(tmp_path)

    report = report_of(tmp_path, DAY1)
    back = section(report, "time_anomalies", "exch_time_backwards", "by_feed")
    assert back == [{"table": "quotes", "isin": ISINS[0], "count": 1, "worst_back_s": 10}]
    [worst] = section(report, "time_anomalies", "exch_time_backwards", "worst")
    assert (worst["previous_exch_time"], worst["exch_time"], worst["back_s"]) == (
        "100000", "095950", 10,
    )  # fmt: skip
    far = section(report, "time_anomalies", "recv_far_from_exch", "by_feed")
    assert far == [{"table": "trades", "isin": ISINS[1], "count": 1, "worst_s": "1201.000000"}]
    strict = ReportSettings(session_open=dt.time(8), session_close=dt.time(15, 30),
                            skew_threshold_s=10)  # fmt: skip
    far = section(
        report_of(tmp_path, DAY1, strict), "time_anomalies", "recv_far_from_exch", "worst"
    )
    assert [(r["table"], r["recv_minus_exch_s"]) for r in far] == [
        ("trades", "1201.000000"), ("quotes", "10.500000"),
    ]  # fmt: skip


def test_the_json_report_has_every_section_and_is_saved_under_reports(tmp_path: Path) -> None:
    two_days(tmp_path)
    normalize(tmp_path)
    report = report_of(tmp_path, DAY2)
    path = save_report(tmp_path, report)
    assert path == tmp_path / "reports" / "2026-11-27.json"
    saved = json.loads(path.read_text())
    assert list(saved) == [
        "date", "generated_at", "balanced", "settings", "raw", "reconciliation", "volume",
        "rejects", "gaps", "coverage", "time_anomalies", "volume_continuity",
    ]  # fmt: skip
    assert list(saved["volume_continuity"]) == ["by_isin", "jumps"]
    assert saved["settings"]["trading_open"] == "09:00:00"
    assert saved["date"] == "2026-11-27" and saved["generated_at"] == "2026-11-28T09:00:00+09:00"
    assert saved["raw"]["closed"] is True and len(saved["raw"]["segments"]) == 2
    assert list(saved["reconciliation"]) == [
        "balanced", "expected", "found", "partitions", "mismatches",
    ]  # fmt: skip
    assert saved["reconciliation"]["expected"] == saved["reconciliation"]["found"] > 0
    assert [c["isin"] for c in saved["coverage"]] == sorted(ISINS)


@pytest.mark.parametrize(
    ("reason", "group"),
    [
        ("ask_price_1 (ASKP1) = 10575.005 is not a valid price",
         "ask_price_1 (ASKP1) = … is not a valid price"),
        ("H0BJASP0 frame says 002 records of 34 fields, payload has 34 fields",
         "H0BJASP0 frame says N records of N fields, payload has N fields"),
        ("data frame is not UTF-8: 'utf-8' codec can't decode byte 0xff in position 2",
         "data frame is not UTF-8"),
        ("corrupt: record CRC mismatch", "corrupt: record CRC mismatch"),
        ("corrupt: compressed segment unreadable: zstd error",
         "corrupt: compressed segment unreadable"),
        ("gap_close of H0BJASP0 KR103502GD31 with no gap open",
         "gap_close of H0BJASP0 … with no gap open"),
        ("encrypted H0BJCNT0 frame on conn 12, no key/iv",
         "encrypted H0BJCNT0 frame on conn N, no key/iv"),
        ("ciphertext of 17 bytes is not whole AES blocks",
         "ciphertext of N bytes is not whole AES blocks"),
        ("'start_ns' = 'yesterday' is not an integer in [0, 9223372036854775807]",
         "'start_ns' = … is not an integer in [N, N]"),
        ("event without a string 'type': b'{\"conn\": 1}'", "event without a string 'type'"),
        ("unknown TR NOSUCHTR", "unknown TR NOSUCHTR"),
    ],
)  # fmt: skip
def test_a_reject_reason_is_grouped_with_its_variable_part_cut(reason: str, group: str) -> None:
    assert reason_group(reason) == group


@pytest.mark.parametrize("count", ["0000001", "1"])
def test_a_record_count_written_with_more_or_fewer_digits_balances_as_the_parser_reads_it(
    tmp_path: Path, count: str
) -> None:
    log = RawLog(tmp_path, start_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    frame = data_frame("H0BJASP0", [feed_record("H0BJASP0", ISINS[0], "100000")])
    flag, tr_id, _, payload = frame.split("|", 3)
    log.send(f"{flag}|{tr_id}|{count}|{payload}".encode())
    log.writer.close()
    normalize(tmp_path)
    report = report_of(tmp_path, DAY1)
    assert report.balanced, report.failure()
