"""The websocket core of a loopback KIS exchange: sessions, subscriptions, acks, PINGPONG, faults.

What it sends comes from a :class:`FeedSource` (the synthetic market for `bondtape simulate`,
a captured day for `bondtape replay`); everything else is docs/kis-protocol.md, byte for byte:

- a text frame from the client is a subscribe/unsubscribe request, answered with a control
  response (``OPSP0000`` with the session's key/iv for that TR, ``0002``, ``0001``, ``0003``,
  ``0008`` past 41 registrations, ``0011`` for an unknown or expired approval key, and the
  malformed-request codes of :func:`capture.kis.protocol.parse_subscription_request`);
- one session per app key: a session that uses the approval key of an app key held by another
  live session gets ``OPSP8996`` for that request and stays open, so the client decides what
  to do (the app key is released when its session ends);
- every ``ping_interval`` the server sends a PINGPONG text frame; the client answers with a
  websocket pong control frame carrying the same text (KIS's samples) or by echoing the text
  as a text frame. A ping unanswered after ``ping_timeout`` closes the session (code 1008).

Frames a client sends that are not UTF-8 text make websockets close the session with 1007.
Invalid UTF-8 malformed data frames (``--malformed-rate``) are sent as *text* frames holding
the raw bytes, as a broken server would: websocket-client reads them with
``skip_utf8_validation=True`` and ``recv_data()``; its default ``recv()`` raises instead.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import string
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Event

from capture.clock import Clock, seoul_datetime
from capture.errors import BadRequest, ConfigError, MalformedFrame
from capture.exchange.approval_server import ApprovalRegistry
from capture.exchange.faults import MALFORMED_KINDS, FaultOptions, malformed_frame, stall_remaining
from capture.exchange.feed import (
    DropSession,
    Feed,
    FeedFrame,
    FeedSource,
    PreparedFrame,
    Unsent,
)
from capture.exchange.truth import TruthLog
from capture.kis import (
    REGISTRATIONS_PER_SESSION,
    TRADES,
    Pair,
    Ping,
    classify,
    control_response,
    data_frame,
    isin_problem,
    parse_subscription_request,
    ping_message,
)

logger = logging.getLogger(__name__)

_KEY_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True, kw_only=True, slots=True)
class ExchangeOptions:
    """How the websocket side behaves. ``ping_timeout`` None means twice the interval.

    Raises:
        ConfigError: a non-positive ping interval or timeout.
    """

    ping_interval: float = 10.0
    ping_timeout: float | None = None
    encrypt: bool = False
    faults: FaultOptions = field(default_factory=FaultOptions)

    def __post_init__(self) -> None:
        if self.ping_interval <= 0:
            raise ConfigError("ping_interval", self.ping_interval, "must be positive seconds")
        if self.ping_timeout is not None and self.ping_timeout <= 0:
            raise ConfigError("ping_timeout", self.ping_timeout, "must be positive seconds")

    @property
    def effective_ping_timeout(self) -> float:
        return self.ping_timeout if self.ping_timeout is not None else 2 * self.ping_interval


class KisConnection(ServerConnection):
    """A server connection that reports every pong it receives.

    websockets drops pongs that answer none of its own pings; KIS clients send exactly such
    "unsolicited" pongs (``ws.pong(ping_text)``), so :meth:`process_event` passes them on.
    """

    on_pong: Callable[[bytes], None] | None = None  # set by the exchange per session

    def process_event(self, event: Event) -> None:
        super().process_event(event)
        if isinstance(event, Frame) and event.opcode is Opcode.PONG and self.on_pong:
            self.on_pong(bytes(event.data))


@dataclass(eq=False, slots=True)
class _Session:
    conn_id: int
    ws: KisConnection
    started: float  # monotonic seconds, for the fault schedules
    rng: random.Random
    subscriptions: dict[Pair, None] = field(default_factory=dict)  # ordered set
    key_iv: dict[str, tuple[str, str]] = field(default_factory=dict)
    pending_pings: dict[str, float] = field(default_factory=dict)  # text -> first sent
    app_keys: set[str] = field(default_factory=set)
    frames_sent: int = 0

    def register(self, tr_id: str, isin: str) -> str:
        if (tr_id, isin) in self.subscriptions:
            return "OPSP0002"
        if len(self.subscriptions) >= REGISTRATIONS_PER_SESSION:
            return "OPSP0008"
        self.subscriptions[(tr_id, isin)] = None
        if tr_id not in self.key_iv:
            key = "".join(self.rng.choices(_KEY_ALPHABET, k=32))
            self.key_iv[tr_id] = (key, "".join(self.rng.choices(_KEY_ALPHABET, k=16)))
        return "OPSP0000"

    def unregister(self, tr_id: str, isin: str) -> str:
        if self.subscriptions.pop((tr_id, isin), False) is None:
            return "OPSP0001"
        return "OPSP0003"

    def answer_ping(self, text: str) -> bool:
        """Clear the ping ``text`` answers and every older one; False if none matches."""
        if text not in self.pending_pings:
            return False
        for pending in list(self.pending_pings):
            del self.pending_pings[pending]
            if pending == text:
                return True
        raise AssertionError("unreachable: text was in pending_pings")


class Exchange:
    """Serves KIS websocket sessions on an asyncio loop; see the module docstring."""

    def __init__(
        self,
        options: ExchangeOptions,
        *,
        registry: ApprovalRegistry,
        feed_source: FeedSource,
        clock: Clock,
        seed: int,
        truth: TruthLog | None = None,
    ) -> None:
        self.options = options
        self._registry = registry
        self._feed_source = feed_source
        self._clock = clock
        self._seed = seed
        self._truth = truth
        self._conn_ids = itertools.count(1)
        self._app_key_owner: dict[str, int] = {}

    async def serve(self, host: str, port: int) -> Server:
        """Start listening (port 0 picks a free port).

        Raises:
            OSError: the address cannot be bound.
        """
        return await serve(
            self._handle,
            host,
            port,
            create_connection=KisConnection,
            compression=None,  # KIS does not negotiate permessage-deflate
            ping_interval=None,  # keep-alive is PINGPONG, below, not websocket pings
            close_timeout=1,
            write_limit=2**20,
        )

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, KisConnection)
        conn_id = next(self._conn_ids)
        rng = random.Random(f"bondtape-session:{self._seed}:{conn_id}")
        session = _Session(conn_id, ws, self._clock.monotonic(), rng)
        ws.on_pong = partial(self._on_pong, session)
        logger.info("conn %d: connected from %s", conn_id, ws.remote_address)
        helpers = [
            asyncio.create_task(self._guard(session, job))
            for job in (self._keep_alive(session), self._stream(session), self._drop(session))
        ]
        try:
            await self._guard(session, self._receive(session))
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            for app_key in session.app_keys:
                if self._app_key_owner.get(app_key) == conn_id:
                    del self._app_key_owner[app_key]
            logger.info(
                "conn %d: closed (%s) after %d data frames",
                conn_id,
                ws.close_code,
                session.frames_sent,
            )

    async def _guard(self, session: _Session, job: Coroutine[Any, Any, None]) -> None:
        """Run one of a session's jobs; a bug in it ends the session loudly, not silently."""
        try:
            await job
        except ConnectionClosed:
            pass
        except Exception:
            logger.exception("conn %d: session job failed; dropping the session", session.conn_id)
            session.ws.transport.abort()

    async def _send(self, session: _Session, message: str | bytes) -> None:
        """Every send goes through here, so a ``--stall`` silences acks, pings and data alike."""
        faults = self.options.faults
        elapsed = self._clock.monotonic() - session.started
        pause = stall_remaining(elapsed, faults.stall, faults.stall_every)
        if pause:
            await asyncio.sleep(pause)
        await session.ws.send(message, text=True)

    # --- client messages ------------------------------------------------------------------

    async def _receive(self, session: _Session) -> None:
        async for message in session.ws:
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            if session.answer_ping(text) or _is_ping(text):
                continue  # an echoed PINGPONG (a late one is ignored, as KIS does)
            reply = self._answer(session, text)
            if self.options.faults.slow_acks:
                await asyncio.sleep(self.options.faults.slow_acks)
            await self._send(session, reply)

    def _answer(self, session: _Session, text: str) -> str:
        """The control response to one subscribe/unsubscribe request."""
        try:
            request = parse_subscription_request(text)
        except BadRequest as exc:
            logger.info("conn %d: refused request: %s", session.conn_id, exc)
            return control_response(*_echo_ids(text), exc.msg_cd)
        tr_id, isin = request.tr_id, request.tr_key
        app_key = self._registry.app_key_for(request.approval_key)
        if app_key is None:
            code = "OPSP0011"
        elif self._app_key_owner.setdefault(app_key, session.conn_id) != session.conn_id:
            code = "OPSP8996"
        else:
            session.app_keys.add(app_key)
            code = (session.register if request.register else session.unregister)(tr_id, isin)
        logger.info(
            "conn %d: %s %s %s -> %s",
            session.conn_id,
            "register" if request.register else "unregister",
            tr_id,
            isin,
            code,
        )
        if code != "OPSP0000":
            return control_response(tr_id, isin, code)
        problem = isin_problem(isin)
        if problem:
            logger.warning(
                "conn %d: %s registered but no data will flow: %s", session.conn_id, isin, problem
            )
        key, iv = session.key_iv[tr_id]
        return control_response(tr_id, isin, code, key=key, iv=iv)

    def _on_pong(self, session: _Session, data: bytes) -> None:
        try:
            session.answer_ping(data.decode("utf-8"))
        except UnicodeDecodeError:
            logger.info("conn %d: pong payload is not UTF-8; ignored", session.conn_id)

    # --- server-initiated -----------------------------------------------------------------

    async def _keep_alive(self, session: _Session) -> None:
        interval, timeout = self.options.ping_interval, self.options.effective_ping_timeout
        next_ping = self._clock.monotonic() + interval
        while True:
            now_s = self._clock.monotonic()
            oldest = next(iter(session.pending_pings.values()), None)
            if oldest is not None and now_s - oldest >= timeout:
                logger.info("conn %d: PINGPONG unanswered for %.1f s", session.conn_id, timeout)
                await session.ws.close(CloseCode.POLICY_VIOLATION, "PINGPONG not answered")
                return
            if now_s >= next_ping:
                text = ping_message(seoul_datetime(self._clock.now_ns()).strftime("%Y%m%d%H%M%S"))
                await self._send(session, text)
                session.pending_pings.setdefault(text, self._clock.monotonic())
                next_ping = max(next_ping + interval, now_s)
                continue
            wake = next_ping if oldest is None else min(next_ping, oldest + timeout)
            await asyncio.sleep(wake - now_s)

    async def _stream(self, session: _Session) -> None:
        feed = self._feed_source.open(session.subscriptions.keys(), session.app_keys)
        try:
            await self._stream_feed(session, feed)
        finally:
            feed.close()

    async def _stream_feed(self, session: _Session, feed: Feed) -> None:
        limit = self.options.faults.drop_after_frames
        while True:
            try:
                batch = await feed.next_batch()
            except DropSession as drop:
                logger.info("conn %d: dropped by the feed: %s", session.conn_id, drop)
                session.ws.transport.abort()
                return
            if limit is not None:
                batch = batch[: limit - session.frames_sent]
            for message in self._encode(session, batch):
                await self._send(session, message)
                session.frames_sent += 1
            if limit is not None and session.frames_sent >= limit:
                logger.info("conn %d: dropping after %d frames", session.conn_id, limit)
                session.ws.transport.abort()
                return

    def _encode(
        self, session: _Session, batch: Sequence[FeedFrame | PreparedFrame | Unsent]
    ) -> list[str | bytes]:
        """Frames for a batch, truth lines written and flushed first (so they precede sends)."""
        sent_ns = self._clock.now_ns()
        faults, rng = self.options.faults, session.rng
        messages: list[str | bytes] = []
        for frame in batch:
            if isinstance(frame, Unsent):
                self._unsent(session, sent_ns, frame)
                continue
            if not isinstance(frame, tuple):  # as recorded: re-encrypted with this session's key
                messages.append(frame.message(session.key_iv.get(frame.tr_id)))
                continue
            tr_id, records = frame
            if faults.skip_trades and tr_id == TRADES.tr_id:  # counted by the market, not sent
                skip = [rng.random() < faults.skip_trades for _ in records]
                lost = [r for r, s in zip(records, skip, strict=True) if s]
                if lost:
                    self._unsent(session, sent_ns, Unsent(tr_id, lost, "skipped"))
                    records = [r for r, s in zip(records, skip, strict=True) if not s]
                if not records:
                    continue
            if faults.malformed_rate and rng.random() < faults.malformed_rate:
                kind = rng.choice(MALFORMED_KINDS)
                message = malformed_frame(data_frame(tr_id, records), kind, rng)
                if self._truth:
                    self._truth.malformed(session.conn_id, sent_ns, kind, message)
            else:
                key_iv = session.key_iv.get(tr_id) if self.options.encrypt else None
                message = data_frame(tr_id, records, key_iv=key_iv)
                if self._truth:
                    self._truth.records(session.conn_id, sent_ns, tr_id, records)
            messages.append(message)
        if self._truth:
            self._truth.flush()
        return messages

    def _unsent(self, session: _Session, sent_ns: int, unsent: Unsent) -> None:
        if self._truth:
            self._truth.unsent(session.conn_id, sent_ns, unsent.tr_id, unsent.why, unsent.records)

    async def _drop(self, session: _Session) -> None:
        every = self.options.faults.drop_every
        if every is None:
            return
        await asyncio.sleep(every)
        logger.info("conn %d: dropping after %.1f s (--drop-every)", session.conn_id, every)
        session.ws.transport.abort()


def _is_ping(text: str) -> bool:
    try:
        return isinstance(classify(text), Ping)
    except MalformedFrame:
        return False


def _echo_ids(text: str) -> tuple[str, str]:
    """Best-effort tr_id/tr_key of a refused request, echoed in the error's header."""
    try:
        body_input = json.loads(text)["body"]["input"]
        return str(body_input.get("tr_id", "")), str(body_input.get("tr_key", ""))
    except (ValueError, TypeError, KeyError, AttributeError):
        return "", ""
