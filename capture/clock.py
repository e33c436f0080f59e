"""Time, passed in: a clock object instead of calls to ``time`` scattered through the code.

Rotation at the hour and at the Seoul date change, backoff and the scheduler are all tested by
handing them a :class:`ManualClock`. Timestamps inside bondtape are integer UTC nanoseconds
named ``*_ns``; conversion to Seoul wall time happens only here.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
KRX_SESSION = (dt.time(8, 0), dt.time(15, 30))
"""The KRX bond market's regular session, Seoul wall times: the default wherever a session
is not configured (the config's ``[market]``, a report built without one)."""
NS_PER_S = 1_000_000_000


class Clock(Protocol):
    def now_ns(self) -> int:
        """UTC wall time in nanoseconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class SystemClock:
    """The real clock."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to; thread-safe so tests can drive daemons."""

    def __init__(self, start_ns: int = 1_767_225_600 * NS_PER_S) -> None:
        self._ns = start_ns
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._ns

    def monotonic(self) -> float:
        return self.now_ns() / NS_PER_S

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._ns += round(seconds * NS_PER_S)

    def set_ns(self, ns: int) -> None:
        with self._lock:
            self._ns = ns


def seoul_datetime(ns: int) -> dt.datetime:
    """The Asia/Seoul wall time of a UTC nanosecond timestamp, exact to the microsecond."""
    seconds, rest = divmod(ns, NS_PER_S)
    return dt.datetime.fromtimestamp(seconds, tz=SEOUL) + dt.timedelta(microseconds=rest // 1000)


def seoul_date(ns: int) -> dt.date:
    """The trading date of a UTC nanosecond timestamp (design.md, invariant 5)."""
    return seoul_datetime(ns).date()


def seoul_hour_key(ns: int) -> tuple[dt.date, int]:
    """(Seoul date, hour): raw segments rotate whenever this changes."""
    local = seoul_datetime(ns)
    return local.date(), local.hour


def seoul_hour_end_ns(ns: int) -> int:
    """The first UTC nanosecond of the Seoul hour after the one holding ``ns``: before it,
    :func:`seoul_hour_key` cannot have changed (a cheap test on the recorder's hot path)."""
    local = seoul_datetime(ns).replace(minute=0, second=0, microsecond=0)
    return int((local + dt.timedelta(hours=1)).timestamp()) * NS_PER_S
