"""The loopback KIS exchange in one object: approval REST + websocket + synthetic market.

The public way to run a simulator in-process (tests, ``bondtape demo``)::

    with Simulator(SimulatorOptions(seed=7, truth=tmp / "truth.jsonl")) as sim:
        key = get_approval(sim.rest_url, ...)    # any non-empty appkey/secretkey
        ws = websocket.create_connection(sim.ws_url)

It is a :class:`~capture.exchange.loopback.LoopbackExchange` over the synthetic market: the
websocket server runs its own asyncio loop on a background thread and the REST server its own
thread; :meth:`Simulator.stop` (or leaving the ``with``) closes every session, stops
both servers and closes the truth file.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

from capture.clock import Clock, SystemClock
from capture.exchange.approval_server import Credential
from capture.exchange.loopback import Listen, LoopbackExchange
from capture.exchange.server import ExchangeOptions
from capture.exchange.synthetic_feed import SyntheticFeedSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class SimulatorOptions:
    """Everything ``bondtape simulate`` takes; the defaults give a quiet, healthy exchange.

    ``seed`` None draws one (logged, and kept as :attr:`Simulator.seed`). ``credentials``
    None accepts any non-empty appkey/secret pair; otherwise only the pairs given.
    """

    host: str = "127.0.0.1"
    ws_port: int = 0
    rest_port: int = 0
    seed: int | None = None
    truth: Path | None = None
    rate: float = 2.0  # frames per second per subscription; 0 = as fast as possible
    multi_record_ratio: float = 0.05
    credentials: tuple[Credential, ...] | None = None
    exchange: ExchangeOptions = field(default_factory=ExchangeOptions)


class Simulator(LoopbackExchange):
    """A running loopback exchange over the synthetic market; use as a context manager or
    call start()/stop(). The seed drawn when none is given is logged at start.

    Raises:
        ConfigError: (from :meth:`start`) a port that cannot be bound, a truth file that
            cannot be opened, or an invalid option.
    """

    def __init__(self, options: SimulatorOptions, clock: Clock | None = None) -> None:
        self.options = options
        seed = options.seed if options.seed is not None else random.SystemRandom().getrandbits(32)
        clock = clock or SystemClock()
        feed_source = SyntheticFeedSource(
            seed=seed,
            rate=options.rate,
            multi_record_ratio=options.multi_record_ratio,
            clock=clock,
        )
        listen = Listen(
            host=options.host,
            ws_port=options.ws_port,
            rest_port=options.rest_port,
            credentials=options.credentials,
            exchange=options.exchange,
        )
        super().__init__(
            listen, feed_source, clock, seed=seed, truth=options.truth, books=feed_source.book_now
        )

    def start(self) -> None:
        logger.info("simulator seed %d", self.seed)
        super().start()

    def __enter__(self) -> Simulator:
        self.start()
        return self
