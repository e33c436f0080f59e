"""One websocket session: one credential, one thread, reconnecting until the recorder stops.

The session is the loop and the I/O; what to record and what to answer is decided by its
:class:`~capture.recorder.session_logic.SessionLogic`, which it calls under its lock. The
receive loop (:mod:`.receiver`) is the hot path and does as little as possible: frames go to
raw as FRAME_RECV with their receive time, and only then does the session act on what is not
data (a PINGPONG to answer, or a subscription answer to track). Subscriptions are sent by a
second, paced thread per connection; websocket-client serialises sends.

On every disconnect the session writes the reason and the gaps it opens, backs off with full
jitter and reconnects; the gaps close when the new connection's acks arrive. A disconnect is
recorded exactly once, by the session's thread or, on a stop it is too stuck to see through,
by the recorder (:meth:`Session.record_stop`), always before ``recorder_stop``.

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
from capture.kis import Pair
from capture.rawlog import RawLogWriter, RecordKind, events
from capture.recorder.approval import AppCredential, ApprovalKeys
from capture.recorder.connection import Closed, Connection, Handshake
from capture.recorder.feed_health import FeedHealth
from capture.recorder.gaps import GapBook
from capture.recorder.options import RecorderOptions
from capture.recorder.receiver import Receiver
from capture.recorder.redact import Redactor
from capture.recorder.sender import Sender
from capture.recorder.session_logic import KEY_IN_USE, Actions, SessionLogic
from capture.recorder.snapshots import book_snapshots
from capture.recorder.wire import NORMAL_CLOSURE

log = logging.getLogger(__name__)

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
        self._logic = SessionLogic(
            self.pairs, gaps, url=options.ws_url, credential=credential.name,
            pong_mode=options.pong_mode, ping_interval_s=options.ping_interval_s,
            retry_later_s=options.retry_later_s,
        )  # fmt: skip
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
        # Guards _current and the logic (tables and gaps); held while a disconnect is written,
        # so the recorder's record_stop() and this thread never both write one.
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
        self.state = "starting"
        self.since_ns = clock.now_ns()
        self._receiver: Receiver | None = None  # made by run(), with the writer
        self.snapshots = book_snapshots(
            options, credential, clock=clock, rng=random.Random(rng.random()),
            on_new_token=redactor.add, append=self._append,
        )  # fmt: skip
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
        return self._logic.state_record

    def disk_full_gap_events(self, since_ns: int, until_ns: int) -> list[tuple[int, bytes]]:
        """The gaps of a disk-full episode as EVENT records (:func:`.gaps.disk_full_events`),
        lock-free: the raw writer calls this with its lock held."""
        return self._logic.disk_full_events(since_ns, until_ns)

    def status(self) -> dict[str, Any]:
        """This session's part of ``status.json``; its frame rate is over the time since the
        last call (the recorder calls it once per status)."""
        current = self._current
        now_ns = self._clock.now_ns()
        last = current.link.last_frame_ns if current else None
        frames, (marked, marked_ns) = self.frames, self._rate_mark
        self._rate_mark = (frames, now_ns)
        gaps = self._logic.gaps
        gaps_today, lost_today_s = gaps.day_tally(now_ns)
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
                "open": len(gaps),
                "open_s": gaps.open_seconds(now_ns),
                "today": gaps_today,
                "today_s": lost_today_s,
                "closed_s_total": gaps.closed_s_total,
            },
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "rest_snapshots": None if self.snapshots is None else self.snapshots.status(),
        }

    @property
    def gaps(self) -> GapBook:
        """The open gaps and the day's tally, for status and metrics (read-only use)."""
        return self._logic.gaps

    def subscribed(self) -> int:
        """Registrations acked on the live connection (0 while down)."""
        current = self._current
        return len(current.link.table.acked()) if current else 0

    def check_stale(self) -> None:
        """Note pairs turned stale or recovered (see :mod:`.feed_health`); called by the
        coordinator about once a second."""
        current = self._current
        if current is None:
            self.health.check(self._clock.now_ns(), None)
        else:
            self.health.check(self._clock.now_ns(), (current.conn, current.link.connected_ns))

    def check_alive(self) -> None:
        """Close the connection if it missed three pings (called by the coordinator)."""
        current = self._current
        if current is not None:
            reason = self._logic.overdue(current.link, self._clock.monotonic())
            if reason is not None:
                self._close(current, reason)

    def open_gaps_at_start(self, pairs: Sequence[Pair], start_ns: int) -> list[Pair]:
        """Open gaps for ``pairs`` before the thread starts (a previous run had them live when
        it died); the pairs newly opened, for the recorder to write as ``gap_open`` events."""
        with self._lock:
            return self._logic.open_carried(pairs, start_ns)

    def stop(self) -> None:
        """Ask the thread to end; the live connection is closed and its pairs gapped, and a
        websocket handshake in progress is aborted, so the thread ends at once rather than
        after the connect timeout."""
        self._stop.set()
        if self.snapshots is not None:
            self.snapshots.stop()
        current = self._current
        if current is not None:
            self._close(current, STOP_REASON, close_code=NORMAL_CLOSURE)
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
            writer, self._clock, note=self.health.arrivals.note, on_message=self._on_message
        )
        if self.snapshots is not None:
            self.snapshots.start()
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
        try:
            conn = self._next_conn_id()
            with self._lock:
                link, actions = self._logic.connected(
                    conn, self._clock.now_ns(), self._clock.monotonic()
                )
        except BaseException:
            ws.shutdown()  # not served yet: nothing else would close it
            raise
        return self._serve(Connection(link, ws), actions)

    def _serve(self, c: Connection, connected: Actions) -> float:
        log.info(
            "conn %d (%s): connected to %s", c.conn, self.credential.name, self._options.ws_url
        )
        self._perform(c, connected)
        self._backoff.connected(self._clock.monotonic())
        with self._lock:
            self._current = c
        if self._stop.is_set():  # stop() ran before _current was visible to it
            self._close(c, STOP_REASON, close_code=NORMAL_CLOSURE)
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

    def _on_message(self, c: Connection, data: bytes, recv_ns: int) -> None:
        """A message that is not data arrived on ``c`` and is in raw: do what it asks."""
        with self._lock:
            actions = self._logic.received(c.link, data, recv_ns, self._clock.monotonic())
        self._perform(c, actions)

    def _perform(self, c: Connection, actions: Actions) -> None:
        """Do what the logic decided, in its order: send, record, then the rest.

        Raises:
            Closed: the logic closes the connection (the app key is in use elsewhere).
            OSError, websocket.WebSocketException: a frame could not be sent.
        """
        for opcode, payload in actions.frames:
            c.ws.send(payload, opcode)
        for conn, event in actions.records:
            self._event(conn, event)
        for isin in actions.snapshots if self.snapshots is not None else ():
            self.snapshots.request(c.conn, isin)
        if actions.renew_key is not None:
            self._keys.invalidate(actions.renew_key)
        if actions.live:
            self._set_state("live")
        if actions.close is not None:
            raise Closed(actions.close)

    # --- closing --------------------------------------------------------------------------

    def _close(self, c: Connection, reason: str, *, close_code: int | None = None) -> None:
        """Close ``c`` from any thread; the reason is redacted, as it may quote an exception."""
        c.close(self._redactor.redact(reason), close_code=close_code)

    def _record_disconnect(self, c: Connection, *, stopping: bool) -> None:
        """Write the disconnect and the gaps it opens, once per connection, whichever of the
        session's thread and the recorder's stop gets here first."""
        with self._lock:
            if self._current is c:
                self._current = None
            reason = c.close_reason or "connection lost"
            actions = self._logic.disconnected(
                c.link, reason, self._clock.now_ns(), stopping=stopping
            )
            for conn, event in actions.records:
                self._event(conn, event)

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
        if reason.startswith(KEY_IN_USE):
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

    def _event(self, conn: int, event: events.Event) -> None:
        self._append(RecordKind.EVENT, conn, events.encode(event))

    def _append(self, kind: RecordKind, conn: int, payload: bytes) -> None:
        assert self._writer is not None, "run() gives the writer before anything is written"
        with contextlib.suppress(DiskFull):  # counted by the writer; the time becomes a gap
            self._writer.append(kind, conn, payload)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.since_ns = state, self._clock.now_ns()
