"""The decisions of one websocket session, without I/O, as python-websockets' protocol
objects: for each thing that happens, what to record in raw and what to send.

:class:`SessionLogic` is told of a connection made (:meth:`~SessionLogic.connected`), a text
message received once it is in raw (:meth:`~SessionLogic.received`), and a connection lost
or stopped (:meth:`~SessionLogic.disconnected`); each returns :class:`Actions`: the EVENT
records to append and the frames to send, and whether to close the connection or renew the
approval key. It never touches a socket, a file, a clock or a thread: times come in as
arguments, and the session (:mod:`.session`) serialises the calls under its lock and does
the I/O.

What it keeps: each connection's registrations (a
:class:`~capture.recorder.subscriptions.SubscriptionTable`, in its :class:`Link`), the open
gaps (:class:`~capture.recorder.gaps.GapBook`), and the STATE payload a new raw segment
starts with. A gap opens, on a drop, from the last frame received (what followed is lost),
on a stop, at the stop (nothing after it is); the next ack of the registration closes it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from capture.errors import MalformedFrame
from capture.kis import ORDER_BOOK, ControlResponse, Pair, Ping, classify
from capture.rawlog import events
from capture.recorder.gaps import GapBook, disk_full_events
from capture.recorder.subscriptions import Step, SubscriptionTable
from capture.recorder.wire import OPCODE_PONG, OPCODE_TEXT

log = logging.getLogger(__name__)

PINGS_BEFORE_DEAD = 3
KEY_IN_USE = "app key in use by another session"
"""How a disconnect's reason starts when the server said the app key is used elsewhere."""

Record = tuple[int, events.Event]
"""An EVENT record to append: (its conn, the event)."""


@dataclass(slots=True)
class Actions:
    """What the session does next, in this order: send ``frames`` (opcode, payload), then
    append ``records``; ask for the REST book of each ISIN in ``snapshots`` (its H0BJASP0
    registration was just acked); renew the key, close the connection, or note it is
    ``live``."""

    records: list[Record] = field(default_factory=list)
    frames: list[tuple[int, bytes]] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    renew_key: str | None = None  # the approval key the server refused
    close: str | None = None  # close the connection, with this reason
    live: bool = False  # every registration of the session is acked


@dataclass(slots=True)
class Link:
    """What the decisions know of one connection (its socket side is
    :class:`capture.recorder.connection.Connection`)."""

    conn: int  # its id in raw, unique across the recorder's restarts
    table: SubscriptionTable
    connected_ns: int
    last_ping_s: float  # monotonic time of the last PINGPONG (or of the connect)
    last_frame_ns: int | None = None  # set by the receive loop, once per read
    sent_keys: dict[Pair, str] = field(default_factory=dict)  # approval key each pair went with
    ended: bool = False  # its disconnect is recorded: nothing more is decided for it


class SessionLogic:
    """The bookkeeping of one session's connections, one at a time (:attr:`link`).

    ``gaps`` holds the gaps already open for ``pairs`` (carried from a previous run).
    :attr:`state_record` and :meth:`disk_full_events` may be read from any thread without the
    session's lock: the raw writer calls them with its own lock held.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        gaps: GapBook,
        *,
        url: str,
        credential: str,
        pong_mode: str,
        ping_interval_s: float,
        retry_later_s: float,
    ) -> None:
        self.pairs = tuple(pairs)
        self.gaps = gaps
        self.link: Link | None = None
        self._url = url
        self._credential = credential
        self._pong_mode = pong_mode
        self._ping_limit_s = PINGS_BEFORE_DEAD * ping_interval_s
        self._retry_later_s = retry_later_s
        self.state_record: tuple[int, bytes] | None = None
        self._gaps_snapshot: dict[Pair, int] = {}
        self._publish_down_state(events.RECORDER_CONN)

    def open_carried(self, pairs: Sequence[Pair], start_ns: int) -> list[Pair]:
        """Open gaps from ``start_ns`` for ``pairs`` (a previous run had them live when it
        died); the pairs newly opened, for the recorder's ``gap_open`` events."""
        opened = self.gaps.open(pairs, start_ns)
        self._publish_down_state(events.RECORDER_CONN)
        return opened

    def connected(self, conn: int, now_ns: int, now_s: float) -> tuple[Link, Actions]:
        """A new connection ``conn`` is up; its link, and its ``connect`` event."""
        self.link = Link(conn, SubscriptionTable(self.pairs), now_ns, now_s)
        event = events.Connect(conn=conn, url=self._url, credential=self._credential)
        return self.link, Actions(records=[(conn, event)])

    def received(self, link: Link, text: bytes, recv_ns: int, now_s: float) -> Actions:
        """A message that is not a data frame arrived on ``link`` (it is in raw already): a
        PINGPONG is answered verbatim, a subscription answer is applied; anything else (an
        unclassifiable frame, kept in raw) asks for nothing."""
        if link.ended:
            return Actions()
        try:
            message = classify(text)
        except MalformedFrame as exc:
            log.warning("conn %d: unclassifiable frame kept in raw: %s", link.conn, exc.reason)
            return Actions()
        if isinstance(message, Ping):
            link.last_ping_s = now_s
            event = events.Ping(conn=link.conn, datetime=message.datetime, answer=self._pong_mode)
            opcode = OPCODE_TEXT if self._pong_mode == "text" else OPCODE_PONG
            return Actions(records=[(link.conn, event)], frames=[(opcode, text)])
        if isinstance(message, ControlResponse):
            return self._answer(link, message, recv_ns, now_s)
        return Actions()

    def overdue(self, link: Link, now_s: float) -> str | None:
        """Why ``link`` is dead if it missed three pings, else None."""
        if now_s - link.last_ping_s > self._ping_limit_s:
            return f"no PINGPONG for {self._ping_limit_s:g} s ({PINGS_BEFORE_DEAD} intervals)"
        return None

    def disconnected(self, link: Link, reason: str, now_ns: int, *, stopping: bool) -> Actions:
        """``link`` ended for ``reason``: its ``disconnect`` and a ``gap_open`` for each
        registration live on it, once (a second call returns nothing)."""
        if link.ended:
            return Actions()
        link.ended = True
        if self.link is link:
            self.link = None
        start_ns = now_ns if stopping else (link.last_frame_ns or link.connected_ns)
        lost = self.gaps.open(link.table.acked(), start_ns)
        # Down, the session's state is its open gaps alone: a segment that starts now must
        # still carry them (previous_run reads only the latest segment).
        self._publish_down_state(link.conn)
        records: list[Record] = [(link.conn, events.Disconnect(conn=link.conn, reason=reason))]
        for tr_id, isin in lost:
            gap = events.GapOpen(
                conn=link.conn, tr_id=tr_id, isin=isin, start_ns=start_ns, reason=reason
            )
            records.append((link.conn, gap))
        log.log(
            logging.INFO if stopping else logging.WARNING,
            "conn %d (%s): disconnected: %s; %d registration(s) now in a gap",
            link.conn, self._credential, reason, len(lost),
        )  # fmt: skip
        return Actions(records=records)

    def disk_full_events(self, since_ns: int, until_ns: int) -> list[tuple[int, bytes]]:
        """The gaps of a disk-full episode as EVENT records (:func:`.gaps.disk_full_events`)."""
        return disk_full_events(self.pairs, self._gaps_snapshot, since_ns, until_ns)

    def _answer(self, link: Link, response: ControlResponse, recv_ns: int, now_s: float) -> Actions:
        pair = (response.tr_id, response.tr_key)
        known = link.table.knows(response)
        step = link.table.answer(response, now_s, self._retry_later_s)
        what = f"conn {link.conn}: {response.tr_id} {response.tr_key or '?'} {response.msg_cd}"
        if step is Step.IGNORE:
            log.info("%s: %s", what, response.msg1)
            return Actions()
        if not known:
            log.warning("%s answers no registration sent on this connection", what)
        fields = {"conn": link.conn, "tr_id": pair[0], "isin": pair[1]}
        answer = events.SubAck if step is Step.ACKED else events.SubError
        actions = Actions(
            records=[(link.conn, answer(**fields, msg_cd=response.msg_cd, msg1=response.msg1))]
        )
        if step is Step.ACKED:
            if self.gaps.close(pair, recv_ns) is not None:
                actions.records.append((link.conn, events.GapClose(**fields, end_ns=recv_ns)))
            self._publish_live_state(link)
            if pair[0] == ORDER_BOOK.tr_id:
                actions.snapshots.append(pair[1])
            actions.live = link.table.count("acked") == len(self.pairs)
            log.debug("%s: subscribed", what)
        elif step is Step.RETRY:
            log.warning("%s (%s): retrying in %g s", what, response.msg1, self._retry_later_s)
        elif step is Step.RENEW_KEY:
            log.warning("%s: approval key rejected, requesting a new one", what)
            actions.renew_key = link.sent_keys.get(pair, "")
        elif step is Step.GIVE_UP:
            log.error("%s (%s): registration refused, not retried", what, response.msg1)
        elif step is Step.KEY_IN_USE:
            actions.close = f"{KEY_IN_USE} ({response.msg_cd})"
        return actions

    def _publish_live_state(self, link: Link) -> None:
        acked, aes = tuple(link.table.acked()), link.table.aes
        state = events.State(link.conn, acked, aes, self.gaps.open_gaps())
        self.state_record = (link.conn, events.encode_state(state))
        self._gaps_snapshot = self.gaps.open_gaps()

    def _publish_down_state(self, conn: int) -> None:
        """While down, the session's state is its open gaps alone (none: no STATE at all)."""
        state = events.State(conn, open_gaps=self.gaps.open_gaps())
        self.state_record = (conn, events.encode_state(state)) if len(self.gaps) else None
        self._gaps_snapshot = self.gaps.open_gaps()
