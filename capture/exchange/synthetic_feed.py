"""Paces the synthetic market into a session's feed: Poisson arrivals, batched sends.

Each subscribed (TR, ISIN) gets frames at ``rate`` per second on average (exponential gaps
between frames, all streams merged into one Poisson process). Frames that fall due together
are returned as one batch, so a high rate costs one wake-up per batch, not a sleep per frame.
``rate`` 0 means "as fast as the socket takes them": a full batch on every call.

A fraction ``multi_record_ratio`` of frames carry 2-5 records of the same TR (ISINs drawn from
the session's subscriptions to that TR); such a frame counts once against the rate.
Subscriptions to ISINs that are not valid get no data, as KIS sends none for unknown codes.

The market belongs to the exchange, not to a connection: every session draws from the one
:class:`~capture.exchange.market.Market` of its source, so a client that reconnects finds the
books where they went on to, not the seed's first books again. Each session paces and picks
its frames with its own RNG, seeded by the seed and the session's number at this source:
the same seed and the same sequence of connections and subscriptions give the same records.
Two sessions that follow one stream at the same time split its records between them (the
recorder never does: each (TR, ISIN) pair goes to one session).

The market trades on while no session carries a trade stream, as a real one does: when a
session takes up a (H0BJCNT0, ISIN) stream that sessions carried before and then let go (a
dropped client reconnects), the trades of the time between are made first, at ``rate`` per
second (:data:`OFF_AIR_FLAT_RATE` at rate 0), and go to the truth file only, so ``ACML_VOL``
jumps across the gap by their volume. A stream's first session starts its day: the market
opens for a bond when it is first subscribed.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Collection, Sequence, Set

from capture.clock import NS_PER_S, Clock, seoul_datetime
from capture.errors import ConfigError
from capture.exchange.feed import FeedFrame, PreparedFrame, Unsent
from capture.exchange.market import Market
from capture.kis import LAYOUTS, TRADES, Pair, is_valid_isin

BATCH_MAX = 256  # frames per batch: the whole batch at rate 0, a cap when catching up
IDLE_POLL = 0.05  # seconds between looks at a session with nothing to send
MAX_LAG = 1.0  # seconds of backlog kept when the socket cannot keep up with the rate
OFF_AIR_FLAT_RATE = 20.0  # trades per second of a stream off air when the rate is 0
MAX_OFF_AIR = 10_000  # trades made at once for one stream's time off air (a long outage)


class SyntheticFeedSource:
    """A :class:`capture.exchange.server.FeedSource` over :class:`capture.exchange.market.Market`.

    Raises:
        ConfigError: a negative rate, or a multi-record ratio outside [0, 1].
    """

    def __init__(self, *, seed: int, rate: float, multi_record_ratio: float, clock: Clock) -> None:
        if rate < 0:
            raise ConfigError("rate", rate, "frames per second per subscription, 0 = flat out")
        if not 0.0 <= multi_record_ratio <= 1.0:
            raise ConfigError("multi_record_ratio", multi_record_ratio, "must be between 0 and 1")
        self.seed, self.rate, self.multi_record_ratio = seed, rate, multi_record_ratio
        self.clock = clock
        self.market = Market(seed)
        self._sessions = itertools.count(1)
        self._carriers: dict[Pair, int] = {}  # sessions carrying each stream now
        self._off_air_since: dict[Pair, float] = {}  # trade streams let go: monotonic since
        self._off_air_rng = random.Random(f"bondtape-off-air:{seed}")

    def book_now(self, isin: str) -> list[str] | None:
        """The current book of ``isin`` for the REST snapshot (None: not a valid ISIN)."""
        if not is_valid_isin(isin):
            return None
        return self.market.book_now(isin, seoul_datetime(self.clock.now_ns()).strftime("%H%M%S"))

    def open(self, subscriptions: Collection[Pair], app_keys: Set[str]) -> SyntheticFeed:
        rng = random.Random(f"bondtape-feed:{self.seed}:{next(self._sessions)}")
        return SyntheticFeed(self, subscriptions, rng)

    def carry(self, before: Set[Pair], after: Set[Pair]) -> list[Unsent]:
        """A session carries ``after`` now, ``before`` until now; the trades made off air for
        the trade streams it takes up again."""
        now_s = self.clock.monotonic()
        for pair in before - after:
            self._carriers[pair] -= 1
            if not self._carriers[pair]:
                del self._carriers[pair]
                if pair[0] == TRADES.tr_id:
                    self._off_air_since[pair] = now_s
        unsent = []
        for pair in after - before:
            self._carriers[pair] = self._carriers.get(pair, 0) + 1
            since = self._off_air_since.pop(pair, None)
            if since is not None:
                unsent += self._trade_off_air(pair, since, now_s)
        return unsent

    def _trade_off_air(self, pair: Pair, since: float, now_s: float) -> list[Unsent]:
        """The stream's trades between ``since`` and ``now`` (monotonic), a Poisson process."""
        rate, rng = self.rate or OFF_AIR_FLAT_RATE, self._off_air_rng
        now_ns, records, at = self.clock.now_ns(), [], since
        while len(records) < MAX_OFF_AIR:
            at += rng.expovariate(rate)
            if at >= now_s:
                break
            wall = seoul_datetime(now_ns - round((now_s - at) * NS_PER_S)).strftime("%H%M%S")
            records.append(self.market.next_record(*pair, wall))
        return [Unsent(pair[0], records, "off_air")] if records else []


class SyntheticFeed:
    """One session's feed over its source's market; reads its live subscriptions on every
    batch. Runs on the exchange's one asyncio loop, as do all the feeds sharing the market."""

    def __init__(
        self, source: SyntheticFeedSource, subscriptions: Collection[Pair], rng: random.Random
    ) -> None:
        self._source = source
        self._subscriptions = subscriptions
        self._rng = rng
        self._valid: dict[str, bool] = {}
        self._next_due: float | None = None
        self._carried: frozenset[Pair] = frozenset()

    def close(self) -> None:
        self._source.carry(self._carried, frozenset())
        self._carried = frozenset()

    async def next_batch(self) -> Sequence[FeedFrame | PreparedFrame | Unsent]:
        rate, clock = self._source.rate, self._source.clock
        while True:
            streams = self._streams()
            carried = frozenset(streams)
            unsent = self._source.carry(self._carried, carried)
            self._carried = carried
            if unsent:
                return unsent  # before any record the stream makes from now on
            if not streams:
                self._next_due = None
                await asyncio.sleep(IDLE_POLL)
                continue
            if rate == 0:
                await asyncio.sleep(0)  # let acks and pings through between batches
                return self._frames(streams, BATCH_MAX)
            total_rate = rate * len(streams)
            now_s = clock.monotonic()
            if self._next_due is None:
                self._next_due = now_s + self._rng.expovariate(total_rate)
            self._next_due = max(self._next_due, now_s - MAX_LAG)
            due = 0
            while self._next_due <= now_s and due < BATCH_MAX:
                due += 1
                self._next_due += self._rng.expovariate(total_rate)
            if due:
                return self._frames(streams, due)
            await asyncio.sleep(min(self._next_due - now_s, IDLE_POLL))

    def _streams(self) -> list[Pair]:
        """Subscribed (TR, ISIN) pairs that produce data, in registration order."""
        streams = []
        for tr_id, isin in list(self._subscriptions):
            valid = self._valid.get(isin)
            if valid is None:
                valid = self._valid[isin] = is_valid_isin(isin)
            if valid and tr_id in LAYOUTS:
                streams.append((tr_id, isin))
        return streams

    def _frames(self, streams: list[Pair], count: int) -> list[FeedFrame]:
        hhmmss = seoul_datetime(self._source.clock.now_ns()).strftime("%H%M%S")
        rng, frames = self._rng, []
        for _ in range(count):
            tr_id, isin = rng.choice(streams)
            isins = [isin]
            if rng.random() < self._source.multi_record_ratio:
                same_tr = [i for t, i in streams if t == tr_id]
                isins += [rng.choice(same_tr) for _ in range(rng.randint(1, 4))]
            records = [self._source.market.next_record(tr_id, i, hhmmss) for i in isins]
            frames.append((tr_id, records))
        return frames
