from __future__ import annotations

import datetime as dt
from pathlib import Path

from capture.clock import NS_PER_S, SEOUL, ManualClock
from capture.kis.protocol import data_frame
from capture.recorder.feed_health import FeedHealth
from capture.recorder.stale import Arrivals, StaleWatch, session_open_ns
from jobs.commands.record import recorder_options
from jobs.config.config import load_config
from tests.support.config_files import BASE, ENV, write_config

QUOTES, TRADES = "H0BJASP0", "H0BJCNT0"
A, B = "KR103502GD31", "KR2005031A41"


def record(isin: str, width: int = 34) -> list[str]:
    return [isin, *(["1"] * (width - 1))]


def test_arrivals_count_frames_and_records_by_tr_and_records_by_pair_from_the_header_alone() -> (
    None
):
    arrivals = Arrivals([(QUOTES, A), (QUOTES, B), (TRADES, A)])
    arrivals.note(data_frame(QUOTES, [record(A)]).encode(), 10)
    arrivals.note(data_frame(QUOTES, [record(B), record(A)]).encode(), 20)
    arrivals.note(data_frame(TRADES, [record(A, 19)]).encode(), 30)
    arrivals.note(data_frame(TRADES, [record(A, 19)], key_iv=("k" * 32, "i" * 16)).encode(), 40)
    arrivals.note(b"0|H0BJASP0|abc|garbage", 50)  # malformed count: a frame of no record
    arrivals.note(data_frame("H0STCNT0", [["x"]]).encode(), 60)  # a TR not subscribed
    assert arrivals.by_tr == {b"H0BJASP0": [3, 3, 50], b"H0BJCNT0": [2, 2, 40]}
    assert arrivals.by_pair == {
        (b"H0BJASP0", A.encode()): [2, 20],
        (b"H0BJASP0", B.encode()): [1, 20],
        (b"H0BJCNT0", A.encode()): [1, 30],  # the encrypted frame counts for its TR only
    }


def test_a_pair_silent_past_factor_times_its_usual_spacing_turns_stale_once_then_recovers() -> None:
    clock, watch, pair = ManualClock(), StaleWatch(factor=10, min_s=5), (QUOTES, A)
    since = clock.now_ns()
    records = 0
    for _ in range(20):  # a record every second: usual spacing 1 s
        clock.advance(1)
        records += 1
        changes = watch.check({pair: (records, clock.now_ns())}, clock.now_ns(), since)
        assert changes.became_stale == [] and changes.recovered == []
    last = clock.now_ns()
    clock.advance(9.5)
    assert watch.check({pair: (records, last)}, clock.now_ns(), since).became_stale == []
    clock.advance(1)
    stale = watch.check({pair: (records, last)}, clock.now_ns(), since).became_stale
    assert [(s.pair, round(s.silent_s, 1), round(s.usual_s, 1)) for s in stale] == [
        (pair, 10.5, 1.0)
    ]
    clock.advance(30)
    assert watch.check({pair: (records, last)}, clock.now_ns(), since).became_stale == []
    assert [s.pair for s in watch.stale(clock.now_ns())] == [pair]
    clock.advance(1)
    changes = watch.check({pair: (records + 1, clock.now_ns())}, clock.now_ns(), since)
    assert changes.recovered == [pair] and watch.stale(clock.now_ns()) == []


def test_the_floor_holds_for_busy_feeds_and_a_pair_seen_once_has_no_usual_spacing() -> None:
    clock, watch = ManualClock(), StaleWatch(factor=10, min_s=60)
    busy, once = (QUOTES, A), (QUOTES, B)
    since = clock.now_ns()
    counters = {busy: (0, 0), once: (1, clock.now_ns())}
    for n in range(1, 11):  # ten records 0.1 s apart
        clock.advance(0.1)
        counters[busy] = (n, clock.now_ns())
        watch.check(counters, clock.now_ns(), since)
    clock.advance(59)
    assert watch.check(counters, clock.now_ns(), since).became_stale == []
    clock.advance(2)
    assert [s.pair for s in watch.check(counters, clock.now_ns(), since).became_stale] == [busy]


def test_silence_counts_from_the_connection_start_and_nothing_is_stale_while_down() -> None:
    clock, watch, pair = ManualClock(), StaleWatch(factor=2, min_s=1), (QUOTES, A)
    for n in range(1, 4):
        clock.advance(1)
        watch.check({pair: (n, clock.now_ns())}, clock.now_ns(), 0)
    last = clock.now_ns()
    clock.advance(100)
    assert watch.check({pair: (3, last)}, clock.now_ns(), None).became_stale == []  # down
    reconnected = clock.now_ns()
    clock.advance(1.5)
    assert watch.check({pair: (3, last)}, clock.now_ns(), reconnected).became_stale == []
    clock.advance(1)
    assert watch.check({pair: (3, last)}, clock.now_ns(), reconnected).became_stale != []
    assert watch.check({pair: (3, last)}, clock.now_ns(), None).recovered == []
    assert watch.stale(clock.now_ns()) == []  # down: not watched, and not reported recovered


def test_the_watch_runs_in_the_session_hours_from_their_open() -> None:
    hours = (dt.time(8, 0), dt.time(15, 30))

    def ns(hh: int, mm: int) -> int:
        local = dt.datetime(2026, 12, 1, hh, mm, tzinfo=SEOUL)
        return int(local.timestamp()) * NS_PER_S

    assert session_open_ns(ns(7, 59), hours) is None
    assert session_open_ns(ns(8, 0), hours) == ns(8, 0)
    assert session_open_ns(ns(15, 29), hours) == ns(8, 0)
    assert session_open_ns(ns(15, 30), hours) is None


def test_the_watch_is_silent_before_a_special_days_late_open_and_counts_from_it() -> None:
    hours = (dt.time(8, 0), dt.time(15, 30))
    special = {dt.date(2027, 1, 4): (dt.time(10, 0), dt.time(15, 30))}

    def ns(day: int, hh: int, mm: int) -> int:
        return int(dt.datetime(2027, 1, day, hh, mm, tzinfo=SEOUL).timestamp()) * NS_PER_S

    assert session_open_ns(ns(4, 9, 59), hours, special) is None
    assert session_open_ns(ns(4, 10, 0), hours, special) == ns(4, 10, 0)
    assert session_open_ns(ns(5, 8, 0), hours, special) == ns(5, 8, 0)  # the usual day after


def test_a_recorder_from_the_config_holds_its_stale_watch_until_a_special_days_open(
    tmp_path: Path,
) -> None:
    body = BASE + '[[market.special_days]]\ndate = "2027-01-04"\nsession_open = "10:00"\n'
    options = recorder_options(load_config(write_config(tmp_path, body), ENV))
    health = FeedHealth([(QUOTES, A)], options)
    clock = ManualClock(int(dt.datetime(2027, 1, 4, 7, 50, tzinfo=SEOUL).timestamp()) * NS_PER_S)
    connected = clock.now_ns()
    for _ in range(3):  # records every second: the usual spacing
        health.arrivals.note(data_frame(QUOTES, [record(A)]).encode(), clock.now_ns())
        health.check(clock.now_ns(), (1, connected))
        clock.advance(1)
    clock.advance(2 * 3600 - 3)  # 09:50: two hours of silence, before the day's late open
    health.check(clock.now_ns(), (1, connected))
    assert health.stale(clock.now_ns()) == []
    clock.advance(10 * 60 + 61)  # 10:01:01: silent since the open for over stale_min_s (60 s)
    health.check(clock.now_ns(), (1, connected))
    [silence] = health.stale(clock.now_ns())
    assert silence.pair == (QUOTES, A) and 60 < silence.silent_s < 62
