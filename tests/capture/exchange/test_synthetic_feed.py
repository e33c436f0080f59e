"""SyntheticFeedSource: the market is the exchange's, so it goes on across sessions.

``rate`` 0 makes :meth:`next_batch` return a full batch at once, so these run without sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from capture.clock import ManualClock, seoul_datetime
from capture.exchange.feed import FeedFrame, Unsent
from capture.exchange.market import Market
from capture.exchange.synthetic_feed import SyntheticFeedSource
from capture.kis.layouts import ORDER_BOOK, TRADES
from capture.kis.protocol import Pair

BOOK = (ORDER_BOOK.tr_id, "KR103502GD31")
MIXED = [BOOK, (ORDER_BOOK.tr_id, "KR2005021A35"), (TRADES.tr_id, "KR103502GD31")]


def _source(seed: int, multi_record_ratio: float = 0.0) -> SyntheticFeedSource:
    return SyntheticFeedSource(
        seed=seed, rate=0, multi_record_ratio=multi_record_ratio, clock=ManualClock()
    )


def _session(source: SyntheticFeedSource, subscriptions: Collection[Pair]) -> list[FeedFrame]:
    """One session's first batch."""
    return asyncio.run(source.open(subscriptions, set()).next_batch())


def test_a_new_session_continues_the_market_where_the_last_one_left_it() -> None:
    source = _source(seed=5)
    first, second = _session(source, [BOOK]), _session(source, [BOOK])
    sent = [record for _tr, records in first + second for record in records]
    hhmmss = seoul_datetime(ManualClock().now_ns()).strftime("%H%M%S")
    market = Market(5)
    assert sent == [market.next_record(*BOOK, hhmmss) for _ in sent]
    assert second[0] != first[0]


def test_each_session_draws_its_own_frames_and_the_same_seed_replays_them_all() -> None:
    runs = []
    for _ in range(2):
        source = _source(seed=9, multi_record_ratio=0.5)
        runs.append([_session(source, MIXED) for _ in range(3)])
    assert runs[0] == runs[1]
    shapes = [[(tr, [r[0] for r in records]) for tr, records in s] for s in runs[0]]
    assert shapes[0] != shapes[1] and shapes[1] != shapes[2]
    assert _session(_source(seed=10, multi_record_ratio=0.5), MIXED) != runs[0][0]


TRADE = (TRADES.tr_id, "KR103502GD31")
CUM, QTY = TRADES.columns.index("cum_volume"), TRADES.columns.index("trade_qty")


def test_a_trade_stream_trades_on_while_no_session_carries_it_and_the_counter_says_so() -> None:
    clock = ManualClock()
    source = SyntheticFeedSource(seed=3, rate=0, multi_record_ratio=0.0, clock=clock)
    first = source.open([TRADE], set())
    before = asyncio.run(first.next_batch())
    first.close()
    clock.advance(5.0)  # the client is away 5 s: about 100 trades at the flat-out rate
    second = source.open([TRADE], set())
    [off_air] = asyncio.run(second.next_batch())
    after = asyncio.run(second.next_batch())
    assert isinstance(off_air, Unsent) and off_air.why == "off_air"
    assert 50 < len(off_air.records) < 200
    made = (
        [r for _, rs in before for r in rs] + off_air.records + [r for _, rs in after for r in rs]
    )
    counter = [int(r[CUM]) for r in made]
    steps = [b - a for a, b in zip([0, *counter], counter, strict=False)]
    assert steps == [int(r[QTY]) for r in made]  # one stream, nothing left out of the truth
    times = {r[TRADES.columns.index("exch_time")] for r in off_air.records}
    start = seoul_datetime(clock.now_ns() - 5 * 10**9).strftime("%H%M%S")
    assert min(times) >= start and max(times) <= seoul_datetime(clock.now_ns()).strftime("%H%M%S")


def test_a_stream_never_let_go_makes_no_off_air_trades() -> None:
    clock = ManualClock()
    source = SyntheticFeedSource(seed=3, rate=0, multi_record_ratio=0.0, clock=clock)
    feed = source.open([TRADE, BOOK], set())
    asyncio.run(feed.next_batch())
    clock.advance(5.0)
    assert all(isinstance(frame, tuple) for frame in asyncio.run(feed.next_batch()))
