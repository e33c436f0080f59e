"""A synthetic bond market: H0BJASP0 books and H0BJCNT0 trades for any valid Korean ISIN.

Pure given its seed: no clock, no sockets. The simulator and the tests ask it for the next
record of a (TR, ISIN) stream and pass the exchange time in. Each stream draws from its own RNG
seeded by (seed, TR, ISIN), so a stream's sequence of records does not depend on which other
streams a session interleaves with it, nor on timing: that is what makes ``--seed`` runs
reproducible.

Values are made with integer arithmetic (prices in hundredths of KRW, yields in thousandths
of a percent) and rendered exactly as KIS does: ``10575.00``, ``3.012``. Yields follow prices
through a linear duration model, so a higher price always shows a lower yield.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from capture.kis import ORDER_BOOK, TRADES, isin_problem

TICK = 100  # 1 KRW, in hundredths: prices are quoted per 10,000 KRW face
PAR = 1_000_000  # 10,000.00 KRW
LEVELS = 5
MAX_DRIFT = 150 * TICK  # how far a stream's price may wander from its fair price

_MUNICIPAL = ("서울도시철도채권", "부산도시철도채권", "지역개발채권")
_SPECIAL = ("한국전력", "한국토지주택공사", "한국도로공사", "한국가스공사", "한국수자원공사")
_FINANCIAL = ("산업금융채권", "중소기업금융채권", "국민은행", "신한은행", "하나은행")
_CORPORATE = ("삼성물산", "현대자동차", "SK텔레콤", "LG화학", "포스코", "롯데쇼핑", "CJ제일제당")


@dataclass(frozen=True, slots=True)
class BondProfile:
    """What does not change during a day: name, fair price and the price-yield slope."""

    isin: str
    name: str
    fair_price: int  # hundredths of KRW per 10,000 face
    fair_yield: int  # thousandths of a percent
    duration: float  # years; 1.5-4.5 keeps a 1 KRW tick at least 0.002 % of yield
    prev_close: int
    prev_volume: int

    def yield_at(self, price: int) -> int:
        """Yield in thousandths of a percent, falling as the price rises (strictly, per tick)."""
        return self.fair_yield - round((price - self.fair_price) * 100_000 / (PAR * self.duration))


def bond_profile(isin: str, seed: int) -> BondProfile:
    """The seeded reference data of one bond; the 3rd ISIN character picks the issuer type.

    Raises:
        ValueError: ``isin`` is not a valid Korean ISIN.
    """
    problem = isin_problem(isin)
    if problem:
        raise ValueError(f"{isin!r}: {problem}")
    rng = random.Random(f"bondtape-market:{seed}:{isin}")
    coupon = rng.randrange(1000, 5500, 125)
    fair_yield = rng.randrange(2500, 4500)
    duration = rng.uniform(1.5, 4.5)
    fair_price = round(PAR * (1 + (coupon - fair_yield) / 100_000 * duration) / TICK) * TICK
    return BondProfile(
        isin=isin,
        name=_bond_name(isin[2], coupon, rng),
        fair_price=fair_price,
        fair_yield=fair_yield,
        duration=duration,
        prev_close=fair_price + rng.randint(-30, 30) * TICK,
        prev_volume=rng.randrange(1_000_000, 20_000_000),
    )


def _bond_name(issuer_type: str, coupon: int, rng: random.Random) -> str:
    """A name in the style KRX lists, e.g. ``국고03250-5303(23-2)`` for a government bond."""
    year, month = rng.randrange(15, 26), rng.choice((3, 6, 9, 12))
    if issuer_type == "1":
        maturity = year + rng.choice((3, 5, 10, 20, 30))
        return f"국고{coupon:05d}-{maturity % 100:02d}{month:02d}({year}-{rng.randint(1, 12)})"
    if issuer_type == "2":
        return f"{rng.choice(_MUNICIPAL)}{year}-{month:02d}"
    if issuer_type == "3":
        return f"{rng.choice(_SPECIAL)}{rng.randrange(100, 1500)}"
    if issuer_type in "45":
        return f"{rng.choice(_FINANCIAL)}{year}-{month:02d}"
    return f"{rng.choice(_CORPORATE)}{rng.randrange(10, 600)}-{rng.randint(1, 3)}"


def fixed(value: int, decimals: int) -> str:
    """Render an integer count of 10**-decimals units exactly: ``fixed(-505, 2) == "-5.05"``."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def _quantity(rng: random.Random) -> int:
    """Order sizes spread over four orders of magnitude, as on the KRX bond book."""
    return int(10 ** rng.uniform(1, 5.8))


class _Stream:
    """One (TR, ISIN) stream: its RNG and a mean-reverting drift around the fair price."""

    def __init__(self, profile: BondProfile, rng: random.Random) -> None:
        self.profile = profile
        self.rng = rng
        self.drift = 0

    def step(self) -> int:
        """Move and return the current mid price (a whole tick)."""
        pull = -1 if self.drift > 0 else 1 if self.drift < 0 else 0
        move = self.rng.choice((-1, 0, 1, pull))
        self.drift = max(-MAX_DRIFT, min(MAX_DRIFT, self.drift + move * TICK))
        return self.profile.fair_price + self.drift


class _BookStream(_Stream):
    last: list[str] | None = None  # the book in force, read by the REST side's thread

    def next_record(self, hhmmss: str) -> list[str]:
        self.last = self._next_record(hhmmss)
        return self.last

    def _next_record(self, hhmmss: str) -> list[str]:
        p, rng = self.profile, self.rng
        mid = self.step()
        best_bid = mid - rng.randint(0, 5) * TICK
        asks, bids = [best_bid + rng.randint(1, 10) * TICK], [best_bid]
        for _ in range(LEVELS - 1):
            asks.append(asks[-1] + rng.randint(1, 8) * TICK)
            bids.append(bids[-1] - rng.randint(1, 8) * TICK)
        ask_qty = [_quantity(rng) for _ in range(LEVELS)]
        bid_qty = [_quantity(rng) for _ in range(LEVELS)]
        record = [p.isin, hhmmss]
        for ask, bid, aq, bq in zip(asks, bids, ask_qty, bid_qty, strict=True):
            record += [fixed(p.yield_at(ask), 3), fixed(p.yield_at(bid), 3)]
            record += [fixed(ask, 2), fixed(bid, 2), str(aq), str(bq)]
        record.append(str(sum(ask_qty) + rng.randrange(0, 2_000_000)))
        record.append(str(sum(bid_qty) + rng.randrange(0, 2_000_000)))
        return record


class _TradeStream(_Stream):
    def __init__(self, profile: BondProfile, rng: random.Random) -> None:
        super().__init__(profile, rng)
        self.open = self.high = self.low = 0
        self.volume = 0

    def next_record(self, hhmmss: str) -> list[str]:
        p, rng = self.profile, self.rng
        price = self.step() + rng.randint(-2, 2) * TICK
        if not self.volume:
            self.open = self.high = self.low = price
        self.high, self.low = max(self.high, price), min(self.low, price)
        qty = _quantity(rng)
        self.volume += qty
        change = price - p.prev_close
        # Change in hundredths of a percent, rounded half away from zero.
        rate = (abs(change) * 20_000 + p.prev_close) // (2 * p.prev_close)
        sign = "2" if change > 0 else "5" if change < 0 else "3"
        return [
            p.isin,
            p.name,
            hhmmss,
            sign,
            fixed(change, 2),
            fixed(rate if change >= 0 else -rate, 2),
            fixed(price, 2),
            str(qty),
            fixed(self.open, 2),
            fixed(self.high, 2),
            fixed(self.low, 2),
            fixed(p.prev_close, 2),
            fixed(p.yield_at(price), 3),
            fixed(p.yield_at(self.open), 3),
            fixed(p.yield_at(self.high), 3),
            fixed(p.yield_at(self.low), 3),
            str(self.volume),
            str(p.prev_volume),
            rng.choice("12"),
        ]


_STREAM_TYPES: dict[str, type[_BookStream] | type[_TradeStream]] = {
    ORDER_BOOK.tr_id: _BookStream,
    TRADES.tr_id: _TradeStream,
}


class Market:
    """The records of every (TR, ISIN) stream the exchange carries, created on first use and
    going on from there for as long as the market lives (the simulator keeps one per run)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._profiles: dict[str, BondProfile] = {}
        self._streams: dict[tuple[str, str], _BookStream | _TradeStream] = {}

    def profile(self, isin: str) -> BondProfile:
        """The bond's reference data (cached).

        Raises:
            ValueError: ``isin`` is not a valid Korean ISIN.
        """
        if isin not in self._profiles:
            self._profiles[isin] = bond_profile(isin, self.seed)
        return self._profiles[isin]

    def book_now(self, isin: str, hhmmss: str) -> list[str]:
        """The book in force for ``isin``, as a REST snapshot shows it, without moving any
        stream (it is called from the REST server's threads): the last H0BJASP0 record made,
        or before any, an opening book drawn from an RNG of its own, stamped ``hhmmss``.

        Raises:
            ValueError: ``isin`` is not a valid Korean ISIN.
        """
        stream = self._streams.get((ORDER_BOOK.tr_id, isin))
        last = stream.last if isinstance(stream, _BookStream) else None
        if last is not None:
            return last
        rng = random.Random(f"bondtape-opening:{self.seed}:{isin}")
        return _BookStream(self.profile(isin), rng).next_record(hhmmss)

    def next_record(self, tr_id: str, isin: str, hhmmss: str) -> list[str]:
        """The stream's next record, field strings in the TR's wire order.

        Raises:
            ValueError: an ISIN that is not valid, or a TR this market does not make.
        """
        stream = self._streams.get((tr_id, isin))
        if stream is None:
            stream_type = _STREAM_TYPES.get(tr_id)
            if stream_type is None:
                raise ValueError(f"the synthetic market makes no {tr_id!r} records")
            rng = random.Random(f"bondtape-stream:{self.seed}:{tr_id}:{isin}")
            stream = self._streams[(tr_id, isin)] = stream_type(self.profile(isin), rng)
        return stream.next_record(hhmmss)
