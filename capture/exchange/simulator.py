"""The loopback KIS exchange in one object: approval REST + websocket + synthetic market.

The public way to run a simulator in-process (tests, ``bondtape demo``)::

    with Simulator(SimulatorOptions(seed=7, truth=tmp / "truth.jsonl")) as sim:
        key = get_approval(sim.rest_url, ...)    # any non-empty appkey/secretkey
        ws = websocket.create_connection(sim.ws_url)

The websocket server runs its own asyncio loop on a background thread and the REST server
its own thread; :meth:`Simulator.stop` (or leaving the ``with``) closes every session, stops
both servers and closes the truth file.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from capture.clock import Clock, SystemClock
from capture.errors import ConfigError
from capture.exchange.approval_server import ApprovalRegistry, ApprovalServer, Credential
from capture.exchange.server import Exchange, ExchangeOptions
from capture.exchange.synthetic_feed import SyntheticFeedSource
from capture.exchange.truth import TruthLog

logger = logging.getLogger(__name__)

START_TIMEOUT = 10.0  # seconds to wait for the websocket server to listen


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


class Simulator:
    """A running loopback exchange; use as a context manager or call start()/stop().

    Raises:
        ConfigError: (from :meth:`start`) a port that cannot be bound, a truth file that
            cannot be opened, or an invalid option.
    """

    def __init__(self, options: SimulatorOptions, clock: Clock | None = None) -> None:
        self.options = options
        self.seed = (
            options.seed if options.seed is not None else random.SystemRandom().getrandbits(32)
        )
        self._clock = clock or SystemClock()
        self._registry = ApprovalRegistry(self._clock)
        self._feed_source = SyntheticFeedSource(
            seed=self.seed,
            rate=options.rate,
            multi_record_ratio=options.multi_record_ratio,
            clock=self._clock,
        )
        self._truth: TruthLog | None = None
        self._rest: ApprovalServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self.ws_url = ""
        self.rest_url = ""

    def start(self) -> None:
        opts = self.options
        logger.info("simulator seed %d", self.seed)
        try:
            self._truth = TruthLog(opts.truth) if opts.truth else None
        except OSError as exc:
            raise ConfigError("truth", str(opts.truth), f"cannot open it: {exc}") from exc
        accepted = frozenset(opts.credentials) if opts.credentials is not None else None
        try:
            self._rest = ApprovalServer(
                opts.host, opts.rest_port, self._registry, accepted, self._clock
            )
        except OSError as exc:
            self.stop()
            raise ConfigError("rest_port", opts.rest_port, f"cannot listen: {exc}") from exc
        self._rest.start()
        self.rest_url = self._rest.url
        self._thread = threading.Thread(target=self._run, name="simulator-ws", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            self._start_error = TimeoutError(f"no websocket server after {START_TIMEOUT} s")
        if self._start_error is not None:
            self.stop()
            raise ConfigError(
                "ws_port", opts.ws_port, f"cannot listen: {self._start_error}"
            ) from self._start_error

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        exchange = Exchange(
            self.options.exchange,
            registry=self._registry,
            feed_source=self._feed_source,
            clock=self._clock,
            seed=self.seed,
            truth=self._truth,
        )
        try:
            server = await exchange.serve(self.options.host, self.options.ws_port)
        except OSError as exc:
            self._start_error = exc
            self._ready.set()
            return
        self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        host, port = next(iter(server.sockets)).getsockname()[:2]
        self.ws_url = f"ws://{host}:{port}"
        self._ready.set()
        await self._stop_event.wait()
        server.close()
        await server.wait_closed()

    def stop(self) -> None:
        """Close every session and both servers, then the truth file; safe to call twice."""
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
            self._loop = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._rest is not None:
            self._rest.stop()
            self._rest = None
        if self._truth is not None:
            self._truth.close()

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
