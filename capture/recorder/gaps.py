"""The open gaps of one session's registrations: pure bookkeeping, no I/O, clock or lock;
and the gap events of a disk-full episode.

A gap opens for every registration that was live on a connection when it was lost (from the
last frame received on it), unless one is already open; the next ack of that registration
ends it. Gaps a previous run left open are carried in at start. The session writes the
matching ``gap_open`` / ``gap_close`` events and keeps the book's :meth:`GapBook.open_gaps` in
its STATE record, so every segment says which gaps are open.

The book also tallies, per Seoul day of their start, the gaps it opened and the seconds of
those it closed, for ``status.json`` and the metrics: what this recorder run saw (a carried
gap counts on the day it closes, its whole length).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from capture.clock import NS_PER_S, SEOUL, seoul_date
from capture.kis import Pair
from capture.rawlog import events

DISK_FULL_REASON = "disk full"


class GapBook:
    """Open gaps by (TR, ISIN), each with the UTC ns it started at."""

    def __init__(self, carried: Mapping[Pair, int] | None = None) -> None:
        self._open: dict[Pair, int] = dict(carried or {})
        self._opened: dict[dt.date, int] = {}
        self._closed_s: dict[dt.date, float] = {}
        self.closed_s_total = 0.0

    def open(self, pairs: Iterable[Pair], start_ns: int) -> list[Pair]:
        """Open a gap from ``start_ns`` for each pair not already in one; the pairs opened,
        in the order given (an earlier start is kept: the feed was lost since then)."""
        opened = [pair for pair in dict.fromkeys(pairs) if pair not in self._open]
        for pair in opened:
            self._open[pair] = start_ns
        if opened:
            day = seoul_date(start_ns)
            self._opened[day] = self._opened.get(day, 0) + len(opened)
        return opened

    def close(self, pair: Pair, end_ns: int) -> int | None:
        """End the gap of ``pair`` at ``end_ns`` (its ack arrived); its start, or None if
        none was open."""
        start_ns = self._open.pop(pair, None)
        if start_ns is not None:
            seconds = max(0, end_ns - start_ns) / NS_PER_S
            day = seoul_date(start_ns)
            self._closed_s[day] = self._closed_s.get(day, 0.0) + seconds
            self.closed_s_total += seconds
        return start_ns

    def day_tally(self, now_ns: int) -> tuple[int, float]:
        """(gaps opened, seconds lost) on ``now_ns``'s Seoul day: closed gaps that started
        that day, plus the open ones so far (from that day's start at the earliest)."""
        day = seoul_date(now_ns)
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=SEOUL).timestamp() * NS_PER_S
        open_s = sum(max(0, now_ns - max(start, midnight)) for start in self._starts())
        return self._opened.get(day, 0), self._closed_s.get(day, 0.0) + open_s / NS_PER_S

    def open_seconds(self, now_ns: int) -> float:
        """Seconds the open gaps have lasted so far, all together."""
        return sum(max(0, now_ns - start) for start in self._starts()) / NS_PER_S

    def oldest_open_seconds(self, now_ns: int) -> float:
        """Seconds the longest-open gap has lasted (0 with none open): what an alert on a feed
        lost for too long watches, which a sum over many short gaps would blur."""
        return max((max(0, now_ns - start) for start in self._starts()), default=0) / NS_PER_S

    def _starts(self) -> list[int]:
        """The open gaps' starts, copied in one step (status and metrics read the book from
        another thread than the session's, which may open or close a gap meanwhile)."""
        return list(self._open.values())

    def open_gaps(self) -> dict[Pair, int]:
        """A copy: what a STATE record carries."""
        return dict(self._open)

    def __contains__(self, pair: object) -> bool:
        return pair in self._open

    def __len__(self) -> int:
        return len(self._open)


def disk_full_events(
    pairs: Iterable[Pair], open_now: Mapping[Pair, int], since_ns: int, until_ns: int
) -> list[tuple[int, bytes]]:
    """The gaps of a disk-full episode from ``since_ns`` to ``until_ns``, as (conn, payload)
    EVENT records: a closed gap over the episode for each pair not in a gap now, and for each
    pair in one (``open_now``), its ``gap_open`` again from the earlier of its start and the
    episode's (the first may have been dropped; a second open of an open gap keeps the
    earlier start)."""
    out = []
    for tr_id, isin in pairs:
        start = min(open_now.get((tr_id, isin), since_ns), since_ns)
        fields = {"conn": events.RECORDER_CONN, "tr_id": tr_id, "isin": isin}
        opened = events.GapOpen(**fields, start_ns=start, reason=DISK_FULL_REASON)
        out.append((events.RECORDER_CONN, events.encode(opened)))
        if (tr_id, isin) not in open_now:
            closed = events.GapClose(**fields, end_ns=until_ns, reason=DISK_FULL_REASON)
            out.append((events.RECORDER_CONN, events.encode(closed)))
    return out
