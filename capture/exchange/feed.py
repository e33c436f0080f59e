"""What a loopback exchange sends, as an interface: the synthetic market implements it
(``bondtape simulate``), and a captured day will (``bondtape replay``).

The server core (:mod:`capture.exchange.server`) owns sessions, subscriptions, acks, pings and
faults; a feed owns only *which* records go out and *when*.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from capture.kis.protocol import Pair

FeedFrame = tuple[str, list[list[str]]]
"""One data frame to send: a TR ID and its records (several make a multi-record frame)."""


class Feed(Protocol):
    """What one session sends; pacing is the feed's business."""

    async def next_batch(self) -> list[FeedFrame]:
        """Wait until frames are due, then return them (never an empty list)."""
        ...


class FeedSource(Protocol):
    """Makes a feed per session, given that session's live (tr_id, isin) subscriptions."""

    def open(self, subscriptions: Collection[Pair]) -> Feed: ...
