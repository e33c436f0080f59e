"""The ``[market]`` table: the KRX session's hours and which days trade.

KRX moves the session on some days (the year's first trading day opens later, the college
entrance exam day opens and closes later): ``[[market.special_days]]`` gives such a date its
own hours, and :meth:`MarketConfig.hours` is the one place every user (the daemon's window,
the recorder's stale watch, the report's coverage) asks for a date's session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays

from capture.clock import KRX_SESSION
from capture.errors import ConfigError
from jobs.config.section import Section


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecialDay:
    """One date's own session; what it leaves out is the usual one's (``end_of_day``:
    ``[jobs] end_of_day``)."""

    date: dt.date
    session_open: dt.time
    session_close: dt.time
    end_of_day: dt.time | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketConfig:
    session_open: dt.time = KRX_SESSION[0]
    session_close: dt.time = KRX_SESSION[1]
    record_margin_min: int = 10
    holiday_calendar: str = "XKRX"
    extra_closed_days: tuple[dt.date, ...] = ()
    extra_trading_days: tuple[dt.date, ...] = ()
    special_days: tuple[SpecialDay, ...] = ()

    def special(self, day: dt.date) -> SpecialDay | None:
        """``day``'s own session, if the config gives it one."""
        return next((s for s in self.special_days if s.date == day), None)

    def hours(self, day: dt.date) -> tuple[dt.time, dt.time]:
        """The Seoul (open, close) of ``day``'s session: its own, or the usual one."""
        own = self.special(day)
        return (own.session_open, own.session_close) if own else self.usual_hours

    @property
    def usual_hours(self) -> tuple[dt.time, dt.time]:
        return (self.session_open, self.session_close)

    def special_hours(self) -> dict[dt.date, tuple[dt.time, dt.time]]:
        """The dates with their own session, and its (open, close)."""
        return {s.date: (s.session_open, s.session_close) for s in self.special_days}


REMOVED_MARKET_KEYS = {
    "timezone": "removed: KRX bond sessions are always in Asia/Seoul, which bondtape uses "
    "throughout; delete this line",
}


def _date(key: str, text: object) -> dt.date:
    """Raises: ConfigError: not a date."""
    if isinstance(text, dt.date) and not isinstance(text, dt.datetime):
        return text
    try:
        return dt.date.fromisoformat(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(key, text, 'write dates as "YYYY-MM-DD"') from None


def _dates(section: Section, name: str) -> tuple[dt.date, ...]:
    return tuple(_date(section.key(name), text) for text in section.take(name, list))


def _hours(section: Section, usual: tuple[dt.time, dt.time]) -> tuple[dt.time, dt.time]:
    """``session_open`` and ``session_close`` of ``section`` (``usual`` for those absent).

    Raises:
        ConfigError: not times of day, or the close not after the open.
    """
    given = [section.time(name) if name in section.table else usual[i]
             for i, name in enumerate(("session_open", "session_close"))]  # fmt: skip
    if given[1] <= given[0]:
        raise ConfigError(
            section.key("session_close"),
            str(given[1]),
            f"must be later than session_open ({given[0]}): fix one of them",
        )
    return given[0], given[1]


def _special_days(entries: list[object], usual: tuple[dt.time, dt.time]) -> tuple[SpecialDay, ...]:
    days: list[SpecialDay] = []
    for i, entry in enumerate(entries):
        section = Section(f"market.special_days[{i}]", entry, SpecialDay)
        if "date" not in section.table:
            raise ConfigError(
                section.key("date"), None, 'give the day it applies to: date = "YYYY-MM-DD"'
            )
        day = _date(section.key("date"), section.table.pop("date"))
        if any(d.date == day for d in days):
            raise ConfigError(
                section.key("date"), day.isoformat(), "is given twice: keep one table per date"
            )
        opens, closes = _hours(section, usual)
        end_of_day = section.time("end_of_day") if "end_of_day" in section.table else None
        days.append(SpecialDay(date=day, session_open=opens, session_close=closes,
                               end_of_day=end_of_day))  # fmt: skip
    return tuple(days)


def parse_market(section: Section) -> MarketConfig:
    closed, extra = _dates(section, "extra_closed_days"), _dates(section, "extra_trading_days")
    both = sorted(set(closed) & set(extra))
    if both:
        raise ConfigError(
            section.key("extra_trading_days"),
            both[0].isoformat(),
            "is also in extra_closed_days: a day is either closed or open, keep it in one",
        )
    session_open, session_close = _hours(section, MarketConfig().usual_hours)
    special_days = _special_days(section.take("special_days", list), (session_open, session_close))
    margin = section.take("record_margin_min", int)
    if margin < 0:
        raise ConfigError(section.key("record_margin_min"), margin, "must be 0 or more minutes")
    market = MarketConfig(
        session_open=session_open,
        session_close=session_close,
        record_margin_min=margin,
        holiday_calendar=_holiday_calendar(section),
        extra_closed_days=closed,
        extra_trading_days=extra,
        special_days=special_days,
    )
    return market


def _holiday_calendar(section: Section) -> str:
    name = section.take("holiday_calendar", str)
    try:
        holidays.financial_holidays(name)
    except NotImplementedError:
        raise ConfigError(
            section.key("holiday_calendar"),
            name,
            'use a market code the holidays library knows, e.g. "XKRX" (Korea Exchange)',
        ) from None
    return name
