"""A KIS exchange on loopback, whatever feeds it: approval REST on one thread, the websocket
core on an asyncio loop on another.

:class:`~capture.exchange.simulator.Simulator` runs one over the synthetic market and the
replay server (:mod:`capture.exchange.replay`) one over a captured day; both are used as
context managers, or with :meth:`LoopbackExchange.start` and :meth:`LoopbackExchange.stop`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from capture.clock import Clock
from capture.errors import ConfigError
from capture.exchange.approval_server import (
    ApprovalRegistry,
    ApprovalServer,
    BookSource,
    Credential,
)
from capture.exchange.feed import FeedSource
from capture.exchange.server import Exchange, ExchangeOptions
from capture.exchange.truth import TruthLog

logger = logging.getLogger(__name__)

START_TIMEOUT = 10.0  # seconds to wait for the websocket server to listen


@dataclass(frozen=True, kw_only=True, slots=True)
class Listen:
    """Where the exchange listens and whom it lets in (ports 0 pick free ones).

    ``credentials`` None accepts any non-empty appkey/secret pair; otherwise only the pairs
    given.
    """

    host: str = "127.0.0.1"
    ws_port: int = 0
    rest_port: int = 0
    credentials: tuple[Credential, ...] | None = None
    exchange: ExchangeOptions = field(default_factory=ExchangeOptions)


class LoopbackExchange:
    """A running exchange serving ``feed_source``; its URLs are set once :meth:`start` returns.

    Raises:
        ConfigError: (from :meth:`start`) a port that cannot be bound, or a truth file that
            cannot be opened.
    """

    def __init__(
        self,
        listen: Listen,
        feed_source: FeedSource,
        clock: Clock,
        *,
        seed: int,
        truth: Path | None = None,
        books: BookSource | None = None,
    ) -> None:
        self.listen = listen
        self.books = books  # the REST book snapshot's source; None: it answers an error
        self.feed_source = feed_source
        self.seed = seed
        self._clock = clock
        self._truth_path = truth
        self._registry = ApprovalRegistry(clock)
        self._truth: TruthLog | None = None
        self._rest: ApprovalServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self.ws_url = ""
        self.rest_url = ""

    @property
    def approval_keys_issued(self) -> list[str]:
        """The approval keys this exchange has handed out (secrets a client must keep)."""
        return self._registry.issued()

    @property
    def access_tokens_issued(self) -> list[str]:
        """The REST access tokens this exchange has handed out (secrets too)."""
        return self._registry.tokens_issued()

    def start(self) -> None:
        listen = self.listen
        try:
            self._truth = TruthLog(self._truth_path) if self._truth_path else None
        except OSError as exc:
            raise ConfigError("truth", str(self._truth_path), f"cannot open it: {exc}") from exc
        accepted = frozenset(listen.credentials) if listen.credentials is not None else None
        try:
            self._rest = ApprovalServer(
                listen.host, listen.rest_port, self._registry, accepted, self._clock, self.books
            )
        except OSError as exc:
            self.stop()
            raise ConfigError("rest_port", listen.rest_port, f"cannot listen: {exc}") from exc
        self._rest.start()
        self.rest_url = self._rest.url
        self._thread = threading.Thread(target=self._run, name="exchange-ws", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            self._start_error = TimeoutError(f"no websocket server after {START_TIMEOUT} s")
        if self._start_error is not None:
            self.stop()
            raise ConfigError(
                "ws_port", listen.ws_port, f"cannot listen: {self._start_error}"
            ) from self._start_error

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        exchange = Exchange(
            self.listen.exchange,
            registry=self._registry,
            feed_source=self.feed_source,
            clock=self._clock,
            seed=self.seed,
            truth=self._truth,
        )
        try:
            server = await exchange.serve(self.listen.host, self.listen.ws_port)
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
            self._truth = None

    def __enter__(self) -> LoopbackExchange:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
