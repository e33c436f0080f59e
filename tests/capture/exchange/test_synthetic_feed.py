"""SyntheticFeedSource: the market is the exchange's, so it goes on across sessions.

``rate`` 0 makes :meth:`next_batch` return a full batch at once, so these run without sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from capture.clock import ManualClock, seoul_datetime
from capture.exchange.feed import FeedFrame
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
