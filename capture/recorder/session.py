"""One websocket session: one credential, one thread, reconnecting until the recorder stops.

The receive loop is the hot path and does as little as possible: take the receive time,
append the exact bytes to raw as FRAME_RECV, and only then look at the frame, and only if it
is not a data frame (a PINGPONG to answer, or a subscription answer to track). Subscriptions
are sent by a second, paced thread per connection; websocket-client serialises sends.

On every disconnect the session writes the reason, opens a gap for each registration that
was live on the connection (from the last frame received on it), backs off with full jitter
and reconnects; the gap closes when the new connection's ack arrives.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import websocket

from capture.clock import Clock
from capture.errors import ApprovalError, MalformedFrame
from capture.kis.protocol import (
    ControlResponse,
    Pair,
    Ping,
    classify,
    is_data_frame,
    subscription_request,
)
from capture.rawlog import RawLogWriter, RecordKind, events
from capture.recorder.approval import AppCredential, ApprovalKeys
from capture.recorder.backoff import Backoff
from capture.recorder.options import RecorderOptions
from capture.recorder.redact import Redactor
from capture.recorder.subscriptions import Step, SubscriptionTable

log = logging.getLogger(__name__)

PINGS_BEFORE_DEAD = 3
_DATA_OPCODES = (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY)


HANDSHAKE_ABORT_WAIT_S = 1.0
"""How long stop() waits for a connecting socket to exist, to abort its handshake."""


class _Closed(Exception):
    """The connection ended; ``reason`` is what the disconnect event says."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Connection:
    conn: int
    ws: websocket.WebSocket
    table: SubscriptionTable
    connected_ns: int
    last_ping: float  # monotonic
    last_frame_ns: int | None = None
    close_reason: str | None = None
    closed: threading.Event = field(default_factory=threading.Event)
    sent_keys: dict[Pair, str] = field(default_factory=dict)  # approval key each pair went with


class Session:
    """The reconnect loop of one credential; :meth:`run` is the thread's body.

    ``open_gaps`` seeds gaps already open for this session's pairs (from a previous run);
    ``next_conn_id`` hands out connection ids unique across restarts.
    """

    def __init__(
        self,
        options: RecorderOptions,
        credential: AppCredential,
        pairs: Sequence[Pair],
        *,
        writer: RawLogWriter,
        clock: Clock,
        rng: random.Random,
        redactor: Redactor,
        next_conn_id: Callable[[], int],
        open_gaps: dict[Pair, int],
    ) -> None:
        self.credential = credential
        self.pairs = tuple(pairs)
        self._options = options
        self._writer = writer
        self._clock = clock
        self._redactor = redactor
        self._next_conn_id = next_conn_id
        self._open_gaps = dict(open_gaps)
        self._keys = ApprovalKeys(
            options.approval_url,
            credential,
            monotonic=clock.monotonic,
            on_new_key=redactor.add,
        )
        self._backoff = Backoff(
            rng=rng,
            base_s=options.backoff_base_s,
            cap_s=options.backoff_cap_s,
            stable_after_s=options.stable_after_s,
        )
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _current, the table and the gaps
        self._current: _Connection | None = None
        self._handshaking: websocket.WebSocket | None = None  # aborted by stop()
        # Gaps seeded from a previous run are state in force before any connection exists.
        self._state_snapshot: tuple[int, bytes] | None = (
            (events.RECORDER_CONN, events.state(events.RECORDER_CONN, (), {}, self._open_gaps))
            if self._open_gaps
            else None
        )
        self.state = "starting"
        self.since_ns = clock.now_ns()
        self.frames = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self.failure: BaseException | None = None

    # --- what the coordinator reads -----------------------------------------------------

    def state_record(self) -> tuple[int, bytes] | None:
        """The STATE payload of this session (its live connection, or its open gaps while
        down), lock-free: the raw writer calls this with its own lock held, while this
        session may be waiting on that lock."""
        return self._state_snapshot

    def status(self) -> dict[str, object]:
        current = self._current
        now_ns = self._clock.now_ns()
        last = current.last_frame_ns if current else None
        return {
            "credential": self.credential.name,
            "conn": current.conn if current else None,
            "state": self.state,
            "since_ns": self.since_ns,
            "subscriptions": len(current.table.acked()) if current else 0,
            "assigned": len(self.pairs),
            "frames": self.frames,
            "last_frame_age_s": None if last is None else (now_ns - last) / 1e9,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }

    def check_alive(self) -> None:
        """Close the connection if it missed three pings (called by the coordinator)."""
        current = self._current
        limit = PINGS_BEFORE_DEAD * self._options.ping_interval_s
        if current is not None and self._clock.monotonic() - current.last_ping > limit:
            self._close(current, f"no PINGPONG for {limit:g} s ({PINGS_BEFORE_DEAD} intervals)")

    def stop(self) -> None:
        """Ask the thread to end; the live connection is closed and its pairs gapped, and a
        websocket handshake in progress is aborted, so the thread ends at once rather than
        after the connect timeout."""
        self._stop.set()
        current = self._current
        if current is not None:
            self._close(current, "recorder stop")
        # WebSocket.abort() does nothing before the handshake is done, so shut its socket.
        # websocket-client assigns that socket only once TCP has connected: wait briefly for
        # it, or the handshake would run on until its timeout.
        deadline = time.monotonic() + HANDSHAKE_ABORT_WAIT_S
        while True:
            with self._lock:
                handshaking = self._handshaking
            sock = handshaking.sock if handshaking is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return
            if handshaking is None or time.monotonic() > deadline:
                return
            time.sleep(0.005)  # polling a library attribute that has no event

    # --- the thread -----------------------------------------------------------------------

    def run(self) -> None:
        """The thread body; a failure (the raw log cannot be written) is kept in
        :attr:`failure` for the coordinator, which then stops the recorder."""
        try:
            self._reconnect_loop()
        except BaseException as exc:
            self.failure = exc
            log.exception("%s: session thread failed", self.credential.name)
        finally:
            self._set_state("stopped")

    def _reconnect_loop(self) -> None:
        while not self._stop.is_set():
            delay = self._connect_once()
            if self._stop.is_set():
                break
            self._set_state("backoff")
            log.info("%s: reconnecting in %.1f s", self.credential.name, delay)
            self._stop.wait(delay)

    def _connect_once(self) -> float:
        """One connection's life; returns the delay before the next attempt."""
        self._set_state("connecting")
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
        with self._lock:
            self._handshaking = ws
        try:
            self._keys.get()
            if self._stop.is_set():  # stop() ran before _handshaking was visible to it
                return 0.0
            ws.connect(self._options.ws_url, timeout=self._options.connect_timeout_s)
        except (ApprovalError, OSError, websocket.WebSocketException) as exc:
            if self._stop.is_set():
                return 0.0
            self.last_error = self._redactor.redact(f"{type(exc).__name__}: {exc}")
            log.warning("%s: cannot connect: %s", self.credential.name, self.last_error)
            return self._backoff.next_delay(self._clock.monotonic())
        finally:
            with self._lock:
                self._handshaking = None
        ws.settimeout(None)  # the coordinator's ping watchdog ends a silent connection
        connection = _Connection(
            conn=self._next_conn_id(),
            ws=ws,
            table=SubscriptionTable(self.pairs),
            connected_ns=self._clock.now_ns(),
            last_ping=self._clock.monotonic(),
        )
        return self._serve(connection)

    def _serve(self, c: _Connection) -> float:
        log.info(
            "conn %d (%s): connected to %s", c.conn, self.credential.name, self._options.ws_url
        )
        self._event(c.conn, events.connect(c.conn, self._options.ws_url, self.credential.name))
        self._backoff.connected(self._clock.monotonic())
        with self._lock:
            self._current = c
        if self._stop.is_set():  # stop() ran before _current was visible to it
            self._close(c, "recorder stop")
        self._set_state("subscribing")
        sender = threading.Thread(target=self._send_loop, args=(c,), name=f"sub-{c.conn}")
        sender.start()
        try:
            self._receive_loop(c)
        except _Closed as exc:
            self._close(c, exc.reason)
        except (OSError, websocket.WebSocketException) as exc:
            self._close(c, f"{type(exc).__name__}: {exc}".rstrip(": "))
        finally:
            c.closed.set()
            c.ws.shutdown()
            sender.join()
        return self._disconnected(c)

    def _receive_loop(self, c: _Connection) -> None:
        """The hot path: everything received is in raw before it is looked at.

        Raises:
            _Closed: the server sent a close frame or the key is in use elsewhere.
            OSError, websocket.WebSocketException: the socket failed or was aborted.
        """
        recv, now_ns = c.ws.recv_data, self._clock.now_ns
        append, conn = self._writer.append, c.conn
        while True:
            opcode, data = recv(True)
            recv_ns = now_ns()
            if opcode in _DATA_OPCODES:
                append(RecordKind.FRAME_RECV, conn, data, recv_ns)
                c.last_frame_ns = recv_ns
                self.frames += 1
                if not is_data_frame(data):
                    self._on_message(c, data, recv_ns)
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                raise _Closed(f"server closed the connection {_close_text(data)}".rstrip())

    def _on_message(self, c: _Connection, data: bytes, recv_ns: int) -> None:
        try:
            message = classify(data)
        except MalformedFrame as exc:
            log.warning("conn %d: unclassifiable frame kept in raw: %s", c.conn, exc.reason)
            return
        if isinstance(message, Ping):
            self._answer_ping(c, data, message)
        elif isinstance(message, ControlResponse):
            self._on_control(c, message, recv_ns)

    def _answer_ping(self, c: _Connection, data: bytes, ping: Ping) -> None:
        if self._options.pong_mode == "text":
            c.ws.send(data, websocket.ABNF.OPCODE_TEXT)
        else:
            c.ws.pong(data)
        c.last_ping = self._clock.monotonic()
        self._event(c.conn, events.ping(c.conn, ping.datetime, self._options.pong_mode))

    def _on_control(self, c: _Connection, response: ControlResponse, recv_ns: int) -> None:
        with self._lock:
            known = c.table.knows(response)
            step = c.table.answer(response, self._clock.monotonic(), self._options.retry_later_s)
            gap_start = self._open_gaps.pop((response.tr_id, response.tr_key), None)
            if step is not Step.ACKED and gap_start is not None:
                self._open_gaps[(response.tr_id, response.tr_key)] = gap_start
                gap_start = None
            if step is Step.ACKED:
                self._publish_state(c)
        if step is Step.IGNORE:
            log.info("conn %d: %s %s: %s", c.conn, response.tr_id, response.msg_cd, response.msg1)
            return
        kind = "sub_ack" if step is Step.ACKED else "sub_error"
        self._event(
            c.conn,
            events.subscription(
                kind, c.conn, response.tr_id, response.tr_key, response.msg_cd, response.msg1
            ),
        )
        what = f"conn {c.conn}: {response.tr_id} {response.tr_key or '?'} {response.msg_cd}"
        if not known:
            log.warning("%s answers no registration sent on this connection", what)
        if gap_start is not None:
            self._event(c.conn, events.gap_close(c.conn, response.tr_id, response.tr_key, recv_ns))
        if step is Step.ACKED:
            log.debug("%s: subscribed", what)
            if c.table.count("acked") == len(self.pairs):
                self._set_state("live")
        elif step is Step.RETRY:
            log.warning(
                "%s (%s): retrying in %g s", what, response.msg1, self._options.retry_later_s
            )
        elif step is Step.RENEW_KEY:
            log.warning("%s: approval key rejected, requesting a new one", what)
            self._keys.invalidate(c.sent_keys.get((response.tr_id, response.tr_key), ""))
        elif step is Step.GIVE_UP:
            log.error("%s (%s): registration refused, not retried", what, response.msg1)
        elif step is Step.KEY_IN_USE:
            raise _Closed(f"app key in use by another session ({response.msg_cd})")

    def _send_loop(self, c: _Connection) -> None:
        """Send due registrations one at a time, ``subscribe_interval_s`` apart."""
        interval = self._options.subscribe_interval_s
        while not c.closed.is_set():
            now = self._clock.monotonic()
            with self._lock:
                pair = c.table.next_to_send(now)
                if pair is not None:
                    c.table.mark_sent(pair)
                due = c.table.next_due()
            if pair is None:
                c.closed.wait(1.0 if due is None else min(1.0, max(0.01, due - now)))
                continue
            try:
                key = self._keys.get()
            except ApprovalError as exc:
                self._close(c, f"approval key renewal failed: {exc}")
                return
            c.sent_keys[pair] = key
            text = subscription_request(key, self._options.custtype, *pair)
            self._writer.append(RecordKind.FRAME_SENT, c.conn, self._redactor.redact(text).encode())
            try:
                c.ws.send(text)
            except (OSError, websocket.WebSocketException) as exc:
                self._close(c, f"send failed: {type(exc).__name__}")
                return
            c.closed.wait(interval)

    # --- closing --------------------------------------------------------------------------

    def _close(self, c: _Connection, reason: str) -> None:
        """Record the first reason given (redacted: it goes to raw and status.json, and may
        quote an exception's text) and wake the receive loop (from any thread)."""
        with self._lock:
            if c.close_reason is None:
                c.close_reason = self._redactor.redact(reason)
        c.closed.set()
        c.ws.abort()

    def _disconnected(self, c: _Connection) -> float:
        """Write the disconnect and the gaps it opens; return the delay before reconnecting."""
        reason = c.close_reason or "connection lost"
        now_ns = self._clock.now_ns()
        stopping = self._stop.is_set()
        # A stop is ours: nothing after "now" is lost. A drop loses what followed the last
        # frame that arrived, so the gap starts there.
        start_ns = now_ns if stopping else (c.last_frame_ns or c.connected_ns)
        with self._lock:
            self._current = None
            lost = [pair for pair in c.table.acked() if pair not in self._open_gaps]
            for pair in lost:
                self._open_gaps[pair] = start_ns
            # Down, the session's state is its open gaps alone: a segment that starts now
            # must still carry them (previous_run reads only the latest segment).
            self._state_snapshot = (c.conn, events.state(c.conn, (), {}, self._open_gaps))
        self._event(c.conn, events.disconnect(c.conn, reason))
        for tr_id, isin in lost:
            self._event(c.conn, events.gap_open(c.conn, tr_id, isin, start_ns, reason))
        level = logging.INFO if stopping else logging.WARNING
        log.log(
            level,
            "conn %d (%s): disconnected: %s; %d registration(s) now in a gap",
            c.conn,
            self.credential.name,
            reason,
            len(lost),
        )
        if stopping:
            return 0.0
        self.reconnects += 1
        self.last_error = reason
        delay = self._backoff.next_delay(self._clock.monotonic())
        if reason.startswith("app key in use"):
            delay = max(delay, self._options.key_in_use_backoff_s)
            log.error(
                "conn %d: the app key of credential %r is already in use by another session "
                "(OPSP8996): another recorder or KIS client is connected with it. Waiting "
                "%.0f s before trying again.",
                c.conn,
                self.credential.name,
                delay,
            )
        return delay

    # --- helpers --------------------------------------------------------------------------

    def _publish_state(self, c: _Connection) -> None:
        self._state_snapshot = (
            c.conn,
            events.state(c.conn, c.table.acked(), c.table.aes, self._open_gaps),
        )

    def _event(self, conn: int, payload: bytes) -> None:
        self._writer.append(RecordKind.EVENT, conn, payload)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.since_ns = state, self._clock.now_ns()


def _close_text(data: bytes) -> str:
    """``(code N: reason)`` from a close frame's payload."""
    if len(data) < 2:
        return ""
    reason = data[2:].decode("utf-8", "replace")
    return f"(code {int.from_bytes(data[:2], 'big')}{': ' + reason if reason else ''})"
