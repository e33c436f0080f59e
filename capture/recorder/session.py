"""One websocket session: one credential, one thread, reconnecting until the recorder stops.

The receive loop (:mod:`.receiver`) is the hot path and does as little as possible: frames
go to raw as FRAME_RECV with their receive time, and only then does the session act on what
is not data (a PINGPONG to answer, or a subscription answer to track). Subscriptions are sent
by a second, paced thread per connection; websocket-client serialises sends.

On every disconnect the session writes the reason, opens a gap for each registration that
was live on the connection (from the last frame received on it, see :mod:`.gaps`), backs off
with full jitter and reconnects; the gap closes when the new connection's ack arrives. A
disconnect is recorded exactly once, by the session's thread or, on a stop it is too stuck to
see through, by the recorder (:meth:`Session.record_stop`), always before ``recorder_stop``.

While the disk is full the session goes on receiving (and answering pings) but what it would
append is dropped; when space returns, the raw writer asks each session for the gaps of that
time (:meth:`Session.disk_full_gap_events`).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Sequence
from typing import Any

import websocket

from capture.backoff import Backoff
from capture.clock import Clock
from capture.errors import ApprovalError, DiskFull
from capture.kis.protocol import ControlResponse, Pair, Ping
from capture.rawlog import RawLogWriter, RecordKind, events
from capture.recorder.approval import AppCredential, ApprovalKeys
from capture.recorder.connection import Closed, Connection, Handshake
from capture.recorder.feed_health import FeedHealth
from capture.recorder.gaps import GapBook, disk_full_events
from capture.recorder.options import RecorderOptions
from capture.recorder.receiver import Receiver
from capture.recorder.redact import Redactor
from capture.recorder.sender import Sender
from capture.recorder.subscriptions import Step, SubscriptionTable

log = logging.getLogger(__name__)

PINGS_BEFORE_DEAD = 3

SENDER_JOIN_S = 1.0
"""How long a closed connection waits for its sender thread, which may be stuck in an
approval request; the disconnect is recorded before, so nothing waits on it."""

STOP_REASON = "recorder stop"


class Session:
    """The reconnect loop of one credential; :meth:`run` is the thread's body.

    ``gaps`` holds the gaps already open for this session's pairs (carried from a previous
    run); ``next_conn_id`` hands out connection ids unique across restarts. The session exists
    before the raw writer, so that the writer's first segment starts with its STATE.
    """

    def __init__(
        self,
        options: RecorderOptions,
        credential: AppCredential,
        pairs: Sequence[Pair],
        *,
        clock: Clock,
        rng: random.Random,
        redactor: Redactor,
        next_conn_id: Callable[[], int],
        gaps: GapBook,
    ) -> None:
        self.credential = credential
        self.pairs = tuple(pairs)
        self._options = options
        self._writer: RawLogWriter | None = None  # given by run()
        self._clock = clock
        self._redactor = redactor
        self._next_conn_id = next_conn_id
        self._gaps = gaps
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
        # Guards _current, the table and the gaps; held while a disconnect is written, so the
        # recorder's record_stop() and this thread never both write one.
        self._lock = threading.Lock()
        self._current: Connection | None = None
        self._handshake = Handshake()
        self._sender = Sender(
            keys=self._keys,
            clock=clock,
            table_lock=self._lock,
            custtype=options.custtype,
            interval_s=options.subscribe_interval_s,
            append=self._append,
            redact=redactor.redact,
        )
        self._state_snapshot: tuple[int, bytes] | None = None
        self._gaps_snapshot: dict[Pair, int] = {}
        self._publish_down_state()
        self.state = "starting"
        self.since_ns = clock.now_ns()
        self._receiver: Receiver | None = None  # made by run(), with the writer
        self.health = FeedHealth(self.pairs, options)
        self._rate_mark = (0, self.since_ns)  # frames and time at the last status
        self.reconnects = 0
        self.last_error: str | None = None
        self.failure: BaseException | None = None

    # --- what the coordinator reads -----------------------------------------------------

    @property
    def frames(self) -> int:
        """Data frames received over the session's life."""
        return self._receiver.frames if self._receiver is not None else 0

    def state_record(self) -> tuple[int, bytes] | None:
        """The STATE payload of this session (its live connection, or its open gaps while
        down), lock-free: the raw writer calls this with its own lock held, while this
        session may be waiting on that lock."""
        return self._state_snapshot

    def disk_full_gap_events(self, since_ns: int, until_ns: int) -> list[tuple[int, bytes]]:
        """The gaps of a disk-full episode as EVENT records (:func:`.gaps.disk_full_events`),
        lock-free: the raw writer calls this with its lock held."""
        return disk_full_events(self.pairs, self._gaps_snapshot, since_ns, until_ns)

    def status(self) -> dict[str, Any]:
        """This session's part of ``status.json``; its frame rate is over the time since the
        last call (the recorder calls it once per status)."""
        current = self._current
        now_ns = self._clock.now_ns()
        last = current.last_frame_ns if current else None
        frames, (marked, marked_ns) = self.frames, self._rate_mark
        self._rate_mark = (frames, now_ns)
        gaps_today, lost_today_s = self._gaps.day_tally(now_ns)
        return {
            "credential": self.credential.name,
            "conn": current.conn if current else None,
            "state": self.state,
            "since_ns": self.since_ns,
            "subscriptions": self.subscribed(),
            "assigned": len(self.pairs),
            "frames": frames,
            "frames_per_s": (frames - marked) / max((now_ns - marked_ns) / 1e9, 1e-3),
            "last_frame_age_s": None if last is None else (now_ns - last) / 1e9,
            **self.health.status(now_ns),
            "gaps": {
                "open": len(self._gaps),
                "open_s": self._gaps.open_seconds(now_ns),
                "today": gaps_today,
                "today_s": lost_today_s,
                "closed_s_total": self._gaps.closed_s_total,
            },
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }

    @property
    def gaps(self) -> GapBook:
        """The open gaps and the day's tally, for status and metrics (read-only use)."""
        return self._gaps

    def subscribed(self) -> int:
        """Registrations acked on the live connection (0 while down)."""
        current = self._current
        return len(current.table.acked()) if current else 0

    def check_stale(self) -> None:
        """Note pairs turned stale or recovered (see :mod:`.feed_health`); called by the
        coordinator about once a second."""
        current = self._current
        if current is None:
            self.health.check(self._clock.now_ns(), None)
        else:
            self.health.check(self._clock.now_ns(), (current.conn, current.connected_ns))

    def check_alive(self) -> None:
        """Close the connection if it missed three pings (called by the coordinator)."""
        current = self._current
        limit = PINGS_BEFORE_DEAD * self._options.ping_interval_s
        if current is not None and self._clock.monotonic() - current.last_ping > limit:
            self._close(current, f"no PINGPONG for {limit:g} s ({PINGS_BEFORE_DEAD} intervals)")

    def open_gaps_at_start(self, pairs: Sequence[Pair], start_ns: int) -> list[Pair]:
        """Open gaps for ``pairs`` before the thread starts (a previous run had them live when
        it died); the pairs newly opened, for the recorder to write as ``gap_open`` events."""
        with self._lock:
            opened = self._gaps.open(pairs, start_ns)
            self._publish_down_state()
        return opened

    def stop(self) -> None:
        """Ask the thread to end; the live connection is closed and its pairs gapped, and a
        websocket handshake in progress is aborted, so the thread ends at once rather than
        after the connect timeout."""
        self._stop.set()
        current = self._current
        if current is not None:
            self._close(current, STOP_REASON)
        self._handshake.abort()

    # --- the thread -----------------------------------------------------------------------

    def record_stop(self) -> None:
        """Write the disconnect and stop gaps of the live connection now, unless the thread
        already has: the recorder calls this before ``recorder_stop``, whatever the thread is
        stuck on (an approval request, a sender that will not join)."""
        current = self._current
        if current is not None:
            self._record_disconnect(current, stopping=True)

    def run(self, writer: RawLogWriter) -> None:
        """The thread body; a failure (the raw log cannot be written) is kept in
        :attr:`failure` for the coordinator, which then stops the recorder."""
        self._writer = writer
        self._receiver = Receiver(
            writer, self._clock, note=self.health.arrivals.note, on_ping=self._answer_ping,
            on_control=self._on_control,
        )  # fmt: skip
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
        options = self._options
        try:
            self._keys.get()
            ws = self._handshake.connect(
                options.ws_url, options.connect_timeout_s, self._stop.is_set
            )
        except (ApprovalError, OSError, websocket.WebSocketException) as exc:
            if self._stop.is_set():
                return 0.0
            self.last_error = self._redactor.redact(f"{type(exc).__name__}: {exc}")
            log.warning("%s: cannot connect: %s", self.credential.name, self.last_error)
            return self._backoff.next_delay(self._clock.monotonic())
        if ws is None:
            return 0.0
        connection = Connection(
            conn=self._next_conn_id(),
            ws=ws,
            table=SubscriptionTable(self.pairs),
            connected_ns=self._clock.now_ns(),
            last_ping=self._clock.monotonic(),
        )
        return self._serve(connection)

    def _serve(self, c: Connection) -> float:
        log.info(
            "conn %d (%s): connected to %s", c.conn, self.credential.name, self._options.ws_url
        )
        self._event(
            c.conn,
            events.Connect(conn=c.conn, url=self._options.ws_url, credential=self.credential.name),
        )
        self._backoff.connected(self._clock.monotonic())
        with self._lock:
            self._current = c
        if self._stop.is_set():  # stop() ran before _current was visible to it
            self._close(c, STOP_REASON)
        self._set_state("subscribing")
        # A daemon: stuck in an approval request, it must not hold up the recorder's exit.
        sender = threading.Thread(
            target=self._sender.run, args=(c,), name=f"sub-{c.conn}", daemon=True
        )
        sender.start()
        try:
            self._receiver.run(c)
        except Closed as exc:
            self._close(c, exc.reason)
        except (OSError, websocket.WebSocketException) as exc:
            self._close(c, f"{type(exc).__name__}: {exc}".rstrip(": "))
        finally:
            c.closed.set()
            c.ws.shutdown()
        delay = self._disconnected(c)
        sender.join(SENDER_JOIN_S)
        if sender.is_alive():
            log.info("conn %d: its sender is still busy (an approval request?)", c.conn)
        return delay

    def _answer_ping(self, c: Connection, data: bytes, ping: Ping) -> None:
        if self._options.pong_mode == "text":
            c.ws.send(data, websocket.ABNF.OPCODE_TEXT)
        else:
            c.ws.pong(data)
        c.last_ping = self._clock.monotonic()
        self._event(
            c.conn, events.Ping(conn=c.conn, datetime=ping.datetime, answer=self._options.pong_mode)
        )

    def _on_control(self, c: Connection, response: ControlResponse, recv_ns: int) -> None:
        pair = (response.tr_id, response.tr_key)
        with self._lock:
            known = c.table.knows(response)
            step = c.table.answer(response, self._clock.monotonic(), self._options.retry_later_s)
            gap_start = self._gaps.close(pair, recv_ns) if step is Step.ACKED else None
            if step is Step.ACKED:
                self._publish_live_state(c)
        if step is Step.IGNORE:
            log.info("conn %d: %s %s: %s", c.conn, response.tr_id, response.msg_cd, response.msg1)
            return
        answer = events.SubAck if step is Step.ACKED else events.SubError
        fields = {"conn": c.conn, "tr_id": pair[0], "isin": pair[1]}
        self._event(c.conn, answer(**fields, msg_cd=response.msg_cd, msg1=response.msg1))
        what = f"conn {c.conn}: {response.tr_id} {response.tr_key or '?'} {response.msg_cd}"
        if not known:
            log.warning("%s answers no registration sent on this connection", what)
        if gap_start is not None:
            self._event(c.conn, events.GapClose(**fields, end_ns=recv_ns))
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
            self._keys.invalidate(c.sent_keys.get(pair, ""))
        elif step is Step.GIVE_UP:
            log.error("%s (%s): registration refused, not retried", what, response.msg1)
        elif step is Step.KEY_IN_USE:
            raise Closed(f"app key in use by another session ({response.msg_cd})")

    # --- closing --------------------------------------------------------------------------

    def _close(self, c: Connection, reason: str) -> None:
        """Close ``c`` from any thread; the reason is redacted, as it may quote an exception."""
        c.close(self._redactor.redact(reason))

    def _record_disconnect(self, c: Connection, *, stopping: bool) -> None:
        """Write the disconnect and the gaps it opens, once per connection, whichever of the
        session's thread and the recorder's stop gets here first."""
        with self._lock:
            if c.disconnect_recorded:
                return
            c.disconnect_recorded = True
            if self._current is c:
                self._current = None
            reason = c.close_reason or "connection lost"
            # A stop is ours: nothing after "now" is lost. A drop loses what followed the last
            # frame that arrived, so the gap starts there.
            start_ns = self._clock.now_ns() if stopping else (c.last_frame_ns or c.connected_ns)
            lost = self._gaps.open(c.table.acked(), start_ns)
            # Down, the session's state is its open gaps alone: a segment that starts now
            # must still carry them (previous_run reads only the latest segment).
            self._publish_down_state(c.conn)
            self._event(c.conn, events.Disconnect(conn=c.conn, reason=reason))
            for tr_id, isin in lost:
                self._event(
                    c.conn,
                    events.GapOpen(
                        conn=c.conn, tr_id=tr_id, isin=isin, start_ns=start_ns, reason=reason
                    ),
                )
        log.log(
            logging.INFO if stopping else logging.WARNING,
            "conn %d (%s): disconnected: %s; %d registration(s) now in a gap",
            c.conn,
            self.credential.name,
            reason,
            len(lost),
        )

    def _disconnected(self, c: Connection) -> float:
        """Record the disconnect; return the delay before reconnecting."""
        stopping = self._stop.is_set()
        self._record_disconnect(c, stopping=stopping)
        if stopping:
            return 0.0
        reason = c.close_reason or "connection lost"
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

    def _publish_live_state(self, c: Connection) -> None:
        state = events.State(c.conn, tuple(c.table.acked()), c.table.aes, self._gaps.open_gaps())
        self._state_snapshot = (c.conn, events.encode_state(state))
        self._gaps_snapshot = self._gaps.open_gaps()

    def _publish_down_state(self, conn: int = events.RECORDER_CONN) -> None:
        """While down, the session's state is its open gaps alone (none: no STATE at all)."""
        state = events.State(conn, open_gaps=self._gaps.open_gaps())
        self._state_snapshot = (conn, events.encode_state(state)) if len(self._gaps) else None
        self._gaps_snapshot = self._gaps.open_gaps()

    def _event(self, conn: int, event: events.Event) -> None:
        self._append(RecordKind.EVENT, conn, events.encode(event))

    def _append(self, kind: RecordKind, conn: int, payload: bytes) -> None:
        assert self._writer is not None, "run() gives the writer before anything is written"
        with contextlib.suppress(DiskFull):  # counted by the writer; the time becomes a gap
            self._writer.append(kind, conn, payload)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.since_ns = state, self._clock.now_ns()
