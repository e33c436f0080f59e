"""The open gaps of one session's registrations: pure bookkeeping, no I/O, clock or lock.

A gap opens for every registration that was live on a connection when it was lost (from the
last frame received on it), unless one is already open; the next ack of that registration
ends it. Gaps a previous run left open are carried in at start. The session writes the
matching ``gap_open`` / ``gap_close`` events and keeps the book's :meth:`GapBook.open_gaps` in
its STATE record, so every segment says which gaps are open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from capture.kis.protocol import Pair


class GapBook:
    """Open gaps by (TR, ISIN), each with the UTC ns it started at."""

    def __init__(self, carried: Mapping[Pair, int] | None = None) -> None:
        self._open: dict[Pair, int] = dict(carried or {})

    def open(self, pairs: Iterable[Pair], start_ns: int) -> list[Pair]:
        """Open a gap from ``start_ns`` for each pair not already in one; the pairs opened,
        in the order given (an earlier start is kept: the feed was lost since then)."""
        opened = [pair for pair in dict.fromkeys(pairs) if pair not in self._open]
        for pair in opened:
            self._open[pair] = start_ns
        return opened

    def close(self, pair: Pair) -> int | None:
        """End the gap of ``pair`` (its ack arrived); its start, or None if none was open."""
        return self._open.pop(pair, None)

    def open_gaps(self) -> dict[Pair, int]:
        """A copy: what a STATE record carries."""
        return dict(self._open)

    def __contains__(self, pair: object) -> bool:
        return pair in self._open

    def __len__(self) -> int:
        return len(self._open)
