"""The replay feed: a captured day sent again over the KIS protocol, paced by its receive times.

Every session gets its own pass over the day (:class:`~capture.exchange.recorded_day.RecordedDay`)
with its own clock: the pass starts once the client's subscriptions have been quiet for
``settle_s`` (a client subscribes in a burst when it connects, so the first frames are not lost
to registrations still on their way), and a frame recorded ``t`` seconds after the first one
is due ``t / speed`` seconds after that start (``speed`` None: as fast as the client reads).
A client receives only the records of the (TR, ISIN) pairs it subscribed: a multi-record frame
is cut to them when it holds others. Recorded gaps replay as the silence they were; with
``gaps_as_disconnects`` a gap of a subscribed pair drops the connection instead, and the next
session of the same app key resumes the pass where it stopped, on the same clock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Collection, Iterator, Sequence, Set
from dataclasses import dataclass

from capture.clock import Clock
from capture.errors import ConfigError
from capture.exchange.feed import DropSession, FeedFrame, PreparedFrame
from capture.exchange.recorded_day import RecordedDay, RecordedFrame, RecordedGap, RecordedItem
from capture.kis import Pair

log = logging.getLogger(__name__)

BATCH_MAX = 256  # frames handed to the server per call: one wake-up for many due frames
EXAMINED_MAX = 4 * BATCH_MAX  # recorded items looked at per call
IDLE_POLL = 0.05  # seconds between looks while waiting for subscriptions or the next frame


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplayOptions:
    """How a day is replayed.

    Raises:
        ConfigError: a speed or settle time that is not positive.
    """

    speed: float | None = 1.0  # None: as fast as the client reads
    settle_s: float = 1.0
    loop: bool = False
    gaps_as_disconnects: bool = False

    def __post_init__(self) -> None:
        if self.speed is not None and not self.speed > 0:
            raise ConfigError("--speed", self.speed, "must be a positive multiple, or max")
        if not self.settle_s >= 0:
            raise ConfigError("--settle", self.settle_s, "must be zero or positive seconds")


@dataclass(slots=True)
class Progress:
    """What every session has replayed so far, read by the command's progress line."""

    frames: int = 0
    replayed_ns: int = 0  # the latest receive time replayed, UTC nanoseconds
    passes: int = 0  # passes over the day begun (one per session, more with --loop)
    ended: int = 0  # passes that reached the end of the day
    sent_at: float = 0.0  # clock.monotonic() of the latest frames sent


class _Pass:
    """One walk over the day on one clock: due(item) maps a receive time to a monotonic time."""

    def __init__(self, day: RecordedDay, speed: float | None, now_s: float) -> None:
        self._items: Iterator[RecordedItem] = iter(day)
        self._speed = speed
        self._start = now_s
        self._first_ns: int | None = None
        self.sent = 0  # frames this pass sent its client
        self.done = False  # reached the end of the day
        self.resumed = False  # set when a dropped session left it; cleared by the next frame
        self.head: RecordedItem | None = next(self._items, None)

    def due(self, item: RecordedItem) -> float:
        if self._speed is None:
            return self._start
        if self._first_ns is None:
            self._first_ns = item.recv_ns
        return self._start + (item.recv_ns - self._first_ns) / 1e9 / self._speed

    def advance(self) -> None:
        self.head = next(self._items, None)


class ReplayFeedSource:
    """A :class:`capture.exchange.feed.FeedSource` over a recorded day."""

    def __init__(self, day: RecordedDay, options: ReplayOptions, clock: Clock) -> None:
        self.day = day
        self.options = options
        self.clock = clock
        self.progress = Progress()
        self._paused: dict[str, _Pass] = {}  # app key -> the pass its dropped session left
        self._lock = threading.Lock()  # progress is read from the command's thread

    def open(self, subscriptions: Collection[Pair], app_keys: Set[str]) -> ReplayFeed:
        return ReplayFeed(self, subscriptions, app_keys)

    def begin(self, app_keys: Set[str]) -> _Pass:
        """The pass a session starts on: the one its app key's dropped session left, or new."""
        for app_key in app_keys:
            paused = self._paused.pop(app_key, None)
            if paused is not None:
                return paused
        return self.new_pass()

    def new_pass(self) -> _Pass:
        with self._lock:
            self.progress.passes += 1
        return _Pass(self.day, self.options.speed, self.clock.monotonic())

    def pause(self, app_keys: Set[str], walk: _Pass) -> None:
        for app_key in app_keys:
            self._paused[app_key] = walk

    def sent(self, walk: _Pass, frames: Sequence[RecordedFrame]) -> None:
        walk.sent += len(frames)
        with self._lock:
            self.progress.frames += len(frames)
            self.progress.replayed_ns = max(self.progress.replayed_ns, frames[-1].recv_ns)
            self.progress.sent_at = self.clock.monotonic()

    def ended(self, walk: _Pass, subscriptions: Collection[Pair], sending: int) -> None:
        """A pass reached the end of the day with ``sending`` frames still to count as sent;
        one that sent nothing says why it may have."""
        with self._lock:
            self.progress.ended += 1
        if walk.sent + sending == 0:
            log.warning(
                "the replay of %s held nothing for a client subscribed to %d pair(s): check "
                "--isins, --start and --end against what was recorded",
                self.day.window.date, len(subscriptions),
            )  # fmt: skip

    def snapshot(self) -> Progress:
        with self._lock:
            p = self.progress
            return Progress(p.frames, p.replayed_ns, p.passes, p.ended, p.sent_at)


class ReplayFeed:
    """One session's pass over the day; see the module docstring."""

    def __init__(
        self, source: ReplayFeedSource, subscriptions: Collection[Pair], app_keys: Set[str]
    ) -> None:
        self._source = source
        self._subscriptions = subscriptions
        self._app_keys = app_keys
        self._pass: _Pass | None = None
        self._drop: str | None = None  # set when a batch stopped at a gap to drop on

    def close(self) -> None:
        """Nothing to release: each session replays the day on its own."""

    async def next_batch(self) -> Sequence[FeedFrame | PreparedFrame]:
        if self._drop is not None:
            raise DropSession(self._drop)
        if self._pass is None:
            await self._settle()
            self._pass = self._source.begin(self._app_keys)
        clock = self._source.clock
        while True:
            batch = self._due(clock.monotonic())
            if batch:
                self._source.sent(self._pass, batch)
                return batch
            if self._drop is not None:
                raise DropSession(self._drop)
            await asyncio.sleep(self._wait(clock.monotonic()))

    async def _settle(self) -> None:
        """Wait for subscriptions, then until they have not changed for ``settle_s``."""
        clock, settle = self._source.clock, self._source.options.settle_s
        seen: frozenset[Pair] = frozenset()
        quiet_since = clock.monotonic()
        while True:
            current = frozenset(self._subscriptions)
            if current != seen:
                seen, quiet_since = current, clock.monotonic()
            elif seen and clock.monotonic() - quiet_since >= settle:
                return
            await asyncio.sleep(min(IDLE_POLL, settle) if seen else IDLE_POLL)

    def _due(self, now_s: float) -> list[RecordedFrame]:
        """The frames due by ``now`` that this client subscribed, up to :data:`BATCH_MAX`."""
        assert self._pass is not None
        walk, batch = self._pass, []
        for _ in range(EXAMINED_MAX):  # bounded, so a client subscribed to little still yields
            if len(batch) == BATCH_MAX:
                break
            item = walk.head
            if item is None:
                if not walk.done:
                    walk.done = True
                    self._source.ended(walk, self._subscriptions, sending=len(batch))
                if not self._source.options.loop:
                    break
                walk = self._pass = self._source.new_pass()
                if walk.head is None:
                    break
                continue
            if walk.due(item) > now_s:
                break
            walk.advance()
            if isinstance(item, RecordedGap):
                # one drop per recorded disconnect, however many of the client's pairs it hit
                if self._drops_at(item) and not walk.resumed:
                    walk.resumed = True
                    self._source.pause(self._app_keys, walk)
                    self._drop = f"a recorded gap of {item.pair[0]} {item.pair[1]}"
                    break
                continue
            walk.resumed = False
            frame = self._subscribed(item)
            if frame is not None:
                batch.append(frame)
        return batch

    def _drops_at(self, gap: RecordedGap) -> bool:
        return self._source.options.gaps_as_disconnects and gap.pair in self._subscriptions

    def _subscribed(self, frame: RecordedFrame) -> RecordedFrame | None:
        tr_id, subscribed = frame.tr_id, self._subscriptions
        wanted = [isin for isin in frame.isins if (tr_id, isin) in subscribed]
        if len(wanted) == len(frame.isins):
            return frame
        return frame.only(frozenset(wanted)) if wanted else None

    def _wait(self, now_s: float) -> float:
        """Seconds to sleep before the next frame can be due (0 to yield at full speed)."""
        walk = self._pass
        if walk is None or walk.head is None:
            return IDLE_POLL  # the day is over: the session stays open, with its pings
        return max(0.0, min(walk.due(walk.head) - now_s, IDLE_POLL))
