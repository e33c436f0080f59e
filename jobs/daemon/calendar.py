"""The KRX trading calendar in Seoul time: which days trade, and when the recorder runs.

A day trades when it is a weekday, not a KRX holiday (the ``holidays`` library's financial
calendar, which has the 31 December closing day), and not in ``[market] extra_closed_days``;
``[market] extra_trading_days`` opens a day the calendar closes (a rare Saturday session).
The recorder runs from ``record_margin_min`` before the session opens to as long after it
closes; the end-of-day work starts at ``[jobs] end_of_day``. A date in
``[[market.special_days]]`` has its own session (and end of day, if it gives one). Pure: time
is passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import holidays

from capture.clock import NS_PER_S, SEOUL, seoul_datetime
from jobs.config import JobsConfig, MarketConfig

CLOSING_DAY = (12, 31)  # KRX's year-end closing day, whatever the calendar says


@dataclass(frozen=True, slots=True)
class Window:
    """One trading day's instants, UTC ns: recording and the end-of-day start."""

    day: dt.date
    record_from_ns: int
    record_until_ns: int
    end_of_day_ns: int

    def recording(self, now_ns: int) -> bool:
        return self.record_from_ns <= now_ns < self.record_until_ns


@dataclass(frozen=True, slots=True)
class Upcoming:
    """What the daemon does next, for ``bondtape status``."""

    recording: Window | None  # under way if ``recording(now_ns)``, else the next one
    end_of_day_ns: int | None


@dataclass(frozen=True)
class TradingCalendar:
    market: MarketConfig
    jobs: JobsConfig

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays.financial_holidays(self.market.holiday_calendar)

    def trades(self, day: dt.date) -> bool:
        if day in self.market.extra_trading_days:
            return True
        if day in self.market.extra_closed_days or (day.month, day.day) == CLOSING_DAY:
            return False
        return day.weekday() < 5 and day not in self._holidays

    def window(self, day: dt.date) -> Window:
        """The recording window and end-of-day instant of ``day`` (trading or not)."""
        margin = self.market.record_margin_min * 60 * NS_PER_S
        opens, closes = self.market.hours(day)
        special = self.market.special(day)
        end_of_day = (special and special.end_of_day) or self.jobs.end_of_day
        return Window(
            day, _ns(day, opens) - margin, _ns(day, closes) + margin, _ns(day, end_of_day)
        )

    def today(self, now_ns: int) -> Window | None:
        """The window of ``now_ns``'s Seoul day if it trades."""
        day = seoul_datetime(now_ns).date()
        return self.window(day) if self.trades(day) else None

    def upcoming(self, now_ns: int, horizon_days: int = 30) -> Upcoming:
        """The next recording window (the one under way, if any) and the next end of day,
        within ``horizon_days``; None where no trading day falls in it."""
        today = seoul_datetime(now_ns).date()
        windows = [
            self.window(day)
            for day in (today + dt.timedelta(days=n) for n in range(horizon_days + 1))
            if self.trades(day)
        ]
        return Upcoming(
            recording=next((w for w in windows if w.record_until_ns > now_ns), None),
            end_of_day_ns=next(
                (w.end_of_day_ns for w in windows if w.end_of_day_ns > now_ns), None
            ),
        )

    def closed_days(self, now_ns: int, lookback_days: int) -> list[dt.date]:
        """Trading days of the last ``lookback_days`` whose end of day has come, oldest first."""
        today = seoul_datetime(now_ns).date()
        days = (today - dt.timedelta(days=n) for n in range(lookback_days, -1, -1))
        return [d for d in days if self.trades(d) and self.window(d).end_of_day_ns <= now_ns]


def _ns(day: dt.date, at: dt.time) -> int:
    local = dt.datetime.combine(day, at, tzinfo=SEOUL)
    return int(local.timestamp()) * NS_PER_S + local.microsecond * 1000
