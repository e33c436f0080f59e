"""What a loopback exchange sends, as an interface: the synthetic market implements it
(``bondtape simulate``), and so does a captured day (``bondtape replay``).

The server core (:mod:`capture.exchange.server`) owns sessions, subscriptions, acks, pings and
faults; a feed owns only *which* frames go out and *when*, and may end a session abruptly
(:class:`DropSession`), as a recorded connection ended.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence, Set
from dataclasses import dataclass
from typing import Protocol

from capture.kis import Pair

FeedFrame = tuple[str, list[list[str]]]
"""One data frame to build: a TR ID and its records (several make a multi-record frame)."""


@dataclass(frozen=True, slots=True)
class Unsent:
    """Records the market made and counted (in ``ACML_VOL``) that no client is sent:
    ``why`` is ``off_air`` (traded while no session carried the stream). The exchange writes
    them to the truth file only, so tests know the volume that traded unseen."""

    tr_id: str
    records: list[list[str]]
    why: str


class PreparedFrame(Protocol):
    """A data frame already made, as recorded: the session only supplies its AES key/iv."""

    @property
    def tr_id(self) -> str: ...

    def message(self, key_iv: tuple[str, str] | None) -> str:
        """The frame's text, encrypted with ``key_iv`` (this session's, for ``tr_id``) if it
        was encrypted when recorded."""
        ...


class DropSession(Exception):
    """Raised by :meth:`Feed.next_batch` to close the session abruptly, as a dropped
    connection; the frames returned before it were sent."""


class Feed(Protocol):
    """What one session sends; pacing is the feed's business."""

    async def next_batch(self) -> Sequence[FeedFrame | PreparedFrame | Unsent]:
        """Wait until frames are due, then return them (never an empty list).

        Raises:
            DropSession: the session is to end here.
        """
        ...

    def close(self) -> None:
        """The session ended: it carries its streams no more."""
        ...


class FeedSource(Protocol):
    """Makes a feed per session, given views of that session's live (tr_id, isin)
    subscriptions and the app keys it has used (both fill in as the client subscribes)."""

    def open(self, subscriptions: Collection[Pair], app_keys: Set[str]) -> Feed: ...
