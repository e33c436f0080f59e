"""The ``[market]`` table: the KRX session's hours and which days trade."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays

from capture.errors import ConfigError
from jobs.config.section import Section


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketConfig:
    session_open: dt.time = dt.time(8, 0)
    session_close: dt.time = dt.time(15, 30)
    record_margin_min: int = 10
    holiday_calendar: str = "XKRX"
    extra_closed_days: tuple[dt.date, ...] = ()
    extra_trading_days: tuple[dt.date, ...] = ()


REMOVED_MARKET_KEYS = {
    "timezone": "removed: KRX bond sessions are always in Asia/Seoul, which bondtape uses "
    "throughout; delete this line",
}


def _dates(section: Section, name: str) -> tuple[dt.date, ...]:
    days = []
    for text in section.take(name, list):
        try:
            days.append(text if isinstance(text, dt.date) else dt.date.fromisoformat(text))
        except (TypeError, ValueError):
            raise ConfigError(section.key(name), text, 'write dates as "YYYY-MM-DD"') from None
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
    session_open = section.time("session_open")
    session_close = section.time("session_close")
    if session_close <= session_open:
        raise ConfigError(
            section.key("session_close"), str(session_close), "must be later than session_open"
        )
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
