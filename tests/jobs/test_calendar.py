from __future__ import annotations

import datetime as dt

from capture.clock import NS_PER_S, SEOUL
from jobs.config.config import JobsConfig, MarketConfig
from jobs.config.market import SpecialDay
from jobs.daemon.calendar import TradingCalendar


def seoul(day: dt.date, hh: int, mm: int) -> int:
    return int(dt.datetime.combine(day, dt.time(hh, mm), tzinfo=SEOUL).timestamp()) * NS_PER_S


def calendar(**market: object) -> TradingCalendar:
    return TradingCalendar(MarketConfig(**market), JobsConfig())  # type: ignore[arg-type]


def test_weekdays_trade_and_weekends_krx_holidays_and_the_closing_day_do_not() -> None:
    cal = calendar()
    assert cal.trades(dt.date(2026, 11, 26))  # a Thursday
    assert not cal.trades(dt.date(2026, 11, 28))  # Saturday
    assert not cal.trades(dt.date(2026, 9, 25))  # Chuseok
    assert not cal.trades(dt.date(2026, 12, 31))  # the year-end closing day
    assert not cal.trades(dt.date(2027, 12, 31))


def test_extra_closed_and_extra_trading_days_override_the_calendar() -> None:
    cal = calendar(
        extra_closed_days=(dt.date(2026, 11, 26),), extra_trading_days=(dt.date(2026, 11, 28),)
    )
    assert not cal.trades(dt.date(2026, 11, 26))
    assert cal.trades(dt.date(2026, 11, 28))


def test_the_recorder_runs_from_the_margin_before_open_to_the_margin_after_close() -> None:
    day = dt.date(2026, 11, 26)
    window = calendar(record_margin_min=10).window(day)
    assert (window.record_from_ns, window.record_until_ns) == (
        seoul(day, 7, 50),
        seoul(day, 15, 40),
    )
    assert window.end_of_day_ns == seoul(day, 16, 0)
    assert window.recording(seoul(day, 7, 50)) and not window.recording(seoul(day, 15, 40))


def test_closed_days_are_the_trading_days_whose_end_of_day_has_come() -> None:
    cal = calendar()
    friday, monday = dt.date(2026, 11, 27), dt.date(2026, 11, 30)
    assert cal.closed_days(seoul(monday, 15, 59), 3) == [friday]
    assert cal.closed_days(seoul(monday, 16, 0), 3) == [friday, monday]


def test_upcoming_is_the_window_under_way_or_the_next_and_the_next_end_of_day() -> None:
    cal = calendar()
    friday, monday = dt.date(2026, 11, 27), dt.date(2026, 11, 30)
    during = cal.upcoming(seoul(friday, 11, 0))
    assert during.recording == cal.window(friday) and during.recording.recording(
        seoul(friday, 11, 0)
    )
    assert during.end_of_day_ns == seoul(friday, 16, 0)
    after_close = cal.upcoming(seoul(friday, 15, 45))  # recorder stopped, end of day to come
    assert after_close.recording == cal.window(monday)
    assert after_close.end_of_day_ns == seoul(friday, 16, 0)
    assert cal.upcoming(seoul(friday, 17, 0)).end_of_day_ns == seoul(monday, 16, 0)
    assert cal.upcoming(seoul(friday, 17, 0), horizon_days=1) == type(during)(None, None)


def test_a_special_day_records_over_its_own_hours_and_ends_its_day_at_its_own_time() -> None:
    first, next_day = dt.date(2027, 1, 4), dt.date(2027, 1, 5)
    late = SpecialDay(date=first, session_open=dt.time(10, 0), session_close=dt.time(16, 0),
                      end_of_day=dt.time(16, 30))  # fmt: skip
    cal = calendar(record_margin_min=10, special_days=(late,))
    today = cal.today(seoul(first, 8, 30))
    assert today is not None and not today.recording(seoul(first, 8, 30))  # the usual would
    window = cal.window(first)
    assert (window.record_from_ns, window.record_until_ns, window.end_of_day_ns) == (
        seoul(first, 9, 50), seoul(first, 16, 10), seoul(first, 16, 30),
    )  # fmt: skip
    usual = cal.window(next_day)
    assert (usual.record_from_ns, usual.record_until_ns, usual.end_of_day_ns) == (
        seoul(next_day, 7, 50), seoul(next_day, 15, 40), seoul(next_day, 16, 0),
    )  # fmt: skip
    assert cal.upcoming(seoul(first, 8, 30)).recording == window
