"""The stale-feed watch: a subscribed (TR, ISIN) silent far longer than its usual spacing.

A feed that goes quiet while its connection stays up (the exchange stopped sending one bond,
a subscription silently lost) raises no error and opens no gap: it is the failure nobody
notices overnight. Two halves, so the receive loop stays lean (design invariant 3):

- :class:`Arrivals`, on the hot path: per data frame it slices the header bytes, never
  decodes or parses the frame. The TR is between the 1st and 2nd ``|``, the record count
  between the 2nd and 3rd; a plain frame's payload starts with its first record's ISIN, and
  only a multi-record frame (rare) is split on ``^`` to find the others. An encrypted frame
  counts for its TR only (its ISINs would need the AES key): its pairs are not watched.
- :class:`StaleWatch`, pure, called about once a second with the arrivals' counters: it
  keeps, per pair, a running estimate of the usual spacing of its records (an EWMA of the
  mean gap between arrivals) and calls a pair stale once silent for more than
  ``max(factor x usual spacing, min_s)``. Only pairs seen at least twice have a usual
  spacing; silence counts from the last record, the connection's start, or the session's
  open, whichever is latest, and only during the session's hours (a closed market is quiet).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from capture.clock import NS_PER_S, SEOUL, seoul_datetime
from capture.kis import LAYOUTS, Pair

EWMA_ALPHA = 0.2  # weight of the newest spacing: about the last ten arrivals count


class Arrivals:
    """Frames and records by TR, and records by (TR, ISIN), for the given pairs only.

    Counters are lists mutated in place by one thread (the session's receive loop) and read
    by another (the recorder's status loop): a read may be one frame behind, never wrong.
    """

    def __init__(self, pairs: Iterable[Pair]) -> None:
        self.by_tr: dict[bytes, list[int]] = {}  # TR -> [frames, records, last_ns]
        self.by_pair: dict[tuple[bytes, bytes], list[int]] = {}  # -> [records, last_ns]
        self._widths: dict[bytes, int] = {}
        for tr_id, isin in pairs:
            tr = tr_id.encode()
            self.by_tr.setdefault(tr, [0, 0, 0])
            self.by_pair[tr, isin.encode()] = [0, 0]
            if tr_id in LAYOUTS:
                self._widths[tr] = LAYOUTS[tr_id].width

    def note(self, frame: bytes, recv_ns: int) -> None:
        """Count one data frame (``E|TR|NNN|payload``); anything malformed counts as a frame
        of its TR at most, and a TR not subscribed is not counted here."""
        end_tr = frame.find(b"|", 2)
        end_count = frame.find(b"|", end_tr + 1)
        tr = frame[2:end_tr]
        per_tr = self.by_tr.get(tr)
        if per_tr is None or end_tr < 0 or end_count < 0:
            return
        count_text = frame[end_tr + 1 : end_count]
        count = int(count_text) if count_text.isdigit() else 0
        per_tr[0] += 1
        per_tr[1] += count
        per_tr[2] = recv_ns
        if frame[0] != 48:  # b"1|": encrypted, watched per TR only
            return
        start = end_count + 1
        if count == 1:
            isins: Iterable[bytes] = (frame[start : start + 12],)
        else:
            isins = frame[start:].split(b"^")[:: self._widths.get(tr, 1)]
        pairs = self.by_pair
        for isin in isins:
            slot = pairs.get((tr, isin))
            if slot is not None:
                slot[0] += 1
                slot[1] = recv_ns


@dataclass(slots=True)
class _Feed:
    records: int = 0
    last_ns: int = 0
    spacing_s: float | None = None
    stale: bool = False


@dataclass(frozen=True, slots=True)
class Silence:
    """A pair found silent: for how long, against its usual spacing."""

    pair: Pair
    silent_s: float
    usual_s: float


@dataclass(frozen=True, slots=True)
class Changes:
    became_stale: list[Silence]
    recovered: list[Pair]


class StaleWatch:
    """Per-pair usual spacing and stale state; pure: counters and times are passed in."""

    def __init__(self, *, factor: float, min_s: float, alpha: float = EWMA_ALPHA) -> None:
        self.factor, self.min_s, self._alpha = factor, min_s, alpha
        self._feeds: dict[Pair, _Feed] = {}
        self._since_ns = 0

    def check(
        self, counters: Mapping[Pair, tuple[int, int]], now_ns: int, since_ns: int | None
    ) -> Changes:
        """Take the pairs' (records so far, last record ns); the pairs that turned stale or
        recovered since the last call. ``since_ns`` is when silence may start counting (the
        connection's start or the session's open, whichever is later); None while the
        connection is down or the market closed: spacings learn, and no pair is stale (a gap,
        or the close, explains the silence)."""
        stale: list[Silence] = []
        recovered: list[Pair] = []
        self._since_ns = since_ns or 0
        for pair, (records, last_ns) in counters.items():
            feed = self._feeds.setdefault(pair, _Feed())
            self._learn(feed, records, last_ns)
            if since_ns is None:  # down, or the market closed: not watched
                feed.stale = False
                continue
            if feed.spacing_s is None:
                continue
            silent_s = (now_ns - max(feed.last_ns, since_ns)) / NS_PER_S
            is_stale = silent_s > self.threshold_s(feed.spacing_s)
            if is_stale and not feed.stale:
                stale.append(Silence(pair, silent_s, feed.spacing_s))
            elif feed.stale and not is_stale:
                recovered.append(pair)
            feed.stale = is_stale
        return Changes(stale, recovered)

    def threshold_s(self, spacing_s: float) -> float:
        return max(self.factor * spacing_s, self.min_s)

    def stale(self, now_ns: int) -> list[Silence]:
        """The pairs stale at the last check, with their silence as of ``now_ns``."""
        return [
            Silence(
                pair, (now_ns - max(feed.last_ns, self._since_ns)) / NS_PER_S, feed.spacing_s or 0.0
            )
            for pair, feed in sorted(self._feeds.items())
            if feed.stale
        ]

    def _learn(self, feed: _Feed, records: int, last_ns: int) -> None:
        arrived = records - feed.records
        if arrived <= 0:
            return
        if feed.records > 0 and last_ns > feed.last_ns:
            # The arrivals since the last check span last_ns - previous last_ns exactly.
            gap_s = (last_ns - feed.last_ns) / NS_PER_S / arrived
            if feed.spacing_s is None:
                feed.spacing_s = gap_s
            else:
                weight = 1 - (1 - self._alpha) ** arrived
                feed.spacing_s += weight * (gap_s - feed.spacing_s)
        feed.records, feed.last_ns = records, last_ns


def session_open_ns(
    now_ns: int,
    hours: tuple[dt.time, dt.time],
    special: Mapping[dt.date, tuple[dt.time, dt.time]] | None = None,
) -> int | None:
    """The instant today's session opened (Seoul ``hours``, or ``special``'s for a date in
    it: KRX moves the session on some days), if ``now_ns`` is within it."""
    local = seoul_datetime(now_ns)
    today = (special or {}).get(local.date(), hours)
    opens = dt.datetime.combine(local.date(), today[0], tzinfo=SEOUL)
    closes = dt.datetime.combine(local.date(), today[1], tzinfo=SEOUL)
    if not opens <= local < closes:
        return None
    return int(opens.timestamp()) * NS_PER_S
