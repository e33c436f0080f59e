"""A session's decisions without a socket: messages in, records to append and frames to send
out (capture/recorder/session_logic.py)."""

from __future__ import annotations

from capture.kis.protocol import control_response, ping_message
from capture.rawlog import events
from capture.recorder.gaps import GapBook
from capture.recorder.session_logic import KEY_IN_USE, Actions, Link, SessionLogic
from capture.recorder.wire import OPCODE_PONG, OPCODE_TEXT

A, B = ("H0BJASP0", "KR103502GD31"), ("H0BJCNT0", "KR103502GD31")
KEY, IV = "k" * 32, "i" * 16
T0 = 1_800_000_000_000_000_000


def logic(gaps: GapBook | None = None, *, pong_mode: str = "pong") -> SessionLogic:
    return SessionLogic(
        [A, B], gaps or GapBook(), url="ws://x", credential="cred0", pong_mode=pong_mode,
        ping_interval_s=10.0, retry_later_s=5.0,
    )  # fmt: skip


def ack(pair: tuple[str, str], msg_cd: str = "OPSP0000") -> bytes:
    return control_response(*pair, msg_cd, key=KEY, iv=IV).encode()


def gap_close(conn: int, pair: tuple[str, str], end_ns: int) -> events.GapClose:
    return events.GapClose(conn=conn, tr_id=pair[0], isin=pair[1], end_ns=end_ns)


def live(s: SessionLogic, conn: int, at_ns: int) -> tuple[Link, list[Actions]]:
    """A connection ``conn`` up at ``at_ns`` with A and B acked 1 ns and 2 ns later."""
    link, _ = s.connected(conn, at_ns, 0.0)
    return link, [s.received(link, ack(pair), at_ns + i, 0.0) for i, pair in ((1, A), (2, B))]


def test_a_connect_is_recorded_with_its_url_and_credential_and_sends_nothing() -> None:
    s = logic()
    link, actions = s.connected(7, T0, 0.0)
    assert (link.conn, link.connected_ns, s.link) == (7, T0, link)
    assert actions == Actions(
        records=[(7, events.Connect(conn=7, url="ws://x", credential="cred0"))]
    )


def test_acks_are_recorded_and_the_session_is_live_once_every_registration_is() -> None:
    s = logic()
    link, (first, second) = live(s, 3, T0)
    sub_ack = events.SubAck(
        conn=3, tr_id=A[0], isin=A[1], msg_cd="OPSP0000", msg1="SUBSCRIBE SUCCESS"
    )
    assert first.records == [(3, sub_ack)]
    assert not first.live and second.live and not second.frames
    assert link.table.acked() == [A, B]
    assert s.state_record is not None
    state = events.read_state(s.state_record[1])
    assert (s.state_record[0], state.subscriptions, dict(state.aes)) == (
        3, (A, B), {A[0]: (KEY, IV), B[0]: (KEY, IV)},
    )  # fmt: skip


def test_a_pingpong_is_answered_verbatim_as_a_pong_and_recorded_and_feeds_the_watchdog() -> None:
    s = logic()
    link, _ = s.connected(1, T0, 0.0)
    ping = ping_message("20261204101010").encode()
    assert s.overdue(link, 25.0) is None
    assert s.overdue(link, 31.0) == "no PINGPONG for 30 s (3 intervals)"
    actions = s.received(link, ping, T0 + 5, 29.0)
    assert actions.frames == [(OPCODE_PONG, ping)]
    assert actions.records == [(1, events.Ping(conn=1, datetime="20261204101010", answer="pong"))]
    assert s.overdue(link, 31.0) is None


def test_in_text_mode_a_pingpong_is_echoed_as_a_text_frame() -> None:
    s = logic(pong_mode="text")
    link, _ = s.connected(1, T0, 0.0)
    ping = ping_message("20261204101010").encode()
    assert s.received(link, ping, T0, 1.0).frames == [(OPCODE_TEXT, ping)]


def test_a_drop_opens_a_gap_from_the_last_frame_for_each_live_registration_only() -> None:
    s = logic()
    link, _ = s.connected(2, T0, 0.0)
    s.received(link, ack(A), T0 + 1, 0.0)  # B is never acked: it was not live
    link.last_frame_ns = T0 + 500
    actions = s.disconnected(link, "connection lost", T0 + 9_000, stopping=False)
    assert actions.records == [
        (2, events.Disconnect(conn=2, reason="connection lost")),
        (
            2,
            events.GapOpen(
                conn=2, tr_id=A[0], isin=A[1], start_ns=T0 + 500, reason="connection lost"
            ),
        ),
    ]
    assert s.link is None and s.gaps.open_gaps() == {A: T0 + 500}
    assert s.state_record is not None
    assert events.read_state(s.state_record[1]).open_gaps == {A: T0 + 500}


def test_a_stop_opens_its_gaps_at_the_stop_and_a_disconnect_is_recorded_once() -> None:
    s = logic()
    link, _ = live(s, 2, T0)
    link.last_frame_ns = T0 + 500
    stopped = s.disconnected(link, "recorder stop", T0 + 9_000, stopping=True)
    assert {e.start_ns for _, e in stopped.records if isinstance(e, events.GapOpen)} == {T0 + 9_000}
    assert s.disconnected(link, "connection lost", T0 + 10_000, stopping=False) == Actions()
    assert s.received(link, ping_message("20261204101010").encode(), T0, 1.0) == Actions()


def test_a_reconnect_closes_the_gaps_of_the_drop_at_the_new_acks() -> None:
    s = logic()
    first, _ = live(s, 1, T0)
    s.disconnected(first, "connection lost", T0 + 100, stopping=False)
    _, (on_a, on_b) = live(s, 2, T0 + 5_000)
    assert on_a.records[1:] == [(2, gap_close(2, A, T0 + 5_001))]
    assert on_b.records[1:] == [(2, gap_close(2, B, T0 + 5_002))]
    assert len(s.gaps) == 0 and s.gaps.closed_s_total > 0


def test_gaps_carried_from_a_previous_run_are_in_the_state_and_closed_by_the_first_ack() -> None:
    s = logic(GapBook({A: T0 - 10}))
    assert s.state_record is not None
    assert events.read_state(s.state_record[1]).open_gaps == {A: T0 - 10}
    assert s.open_carried([A, B], T0) == [B]
    _, (on_a, _) = live(s, 1, T0 + 100)
    assert on_a.records[1] == (1, gap_close(1, A, T0 + 101))


def test_refusals_are_recorded_and_say_what_to_do() -> None:
    s = logic()
    link, _ = s.connected(4, T0, 0.0)
    link.sent_keys[A] = "the-old-key"
    retry = s.received(link, ack(A, "OPSP0007"), T0, 0.0)
    assert [type(e) for _, e in retry.records] == [events.SubError]
    assert (retry.close, retry.renew_key, link.table.next_to_send(4.0)) == (None, None, B)
    assert link.table.next_to_send(5.0) == A  # due again after retry_later_s
    renew = s.received(link, ack(A, "OPSP0011"), T0, 0.0)
    assert renew.renew_key == "the-old-key"
    in_use = s.received(link, ack(B, "OPSP8996"), T0, 0.0)
    assert in_use.close == f"{KEY_IN_USE} (OPSP8996)"
    refused = events.SubError(
        conn=4, tr_id=B[0], isin=B[1], msg_cd="OPSP8996", msg1="ALREADY IN USE appkey"
    )
    assert in_use.records == [(4, refused)]


def test_what_cannot_be_classified_or_is_an_unsubscribe_answer_asks_for_nothing() -> None:
    s = logic()
    link, _ = s.connected(1, T0, 0.0)
    assert s.received(link, b'{"header": 1', T0, 0.0) == Actions()
    assert s.received(link, ack(A, "OPSP0001"), T0, 0.0) == Actions()


def test_a_disk_full_episode_gaps_every_pair_from_its_start() -> None:
    s = logic()
    _, _ = live(s, 1, T0)
    decoded = [events.read_event(p) for _, p in s.disk_full_events(T0 + 10, T0 + 20)]
    full = "disk full"
    assert decoded == [
        events.GapOpen(
            conn=events.RECORDER_CONN, tr_id=A[0], isin=A[1], start_ns=T0 + 10, reason=full
        ),
        events.GapClose(
            conn=events.RECORDER_CONN, tr_id=A[0], isin=A[1], end_ns=T0 + 20, reason=full
        ),
        events.GapOpen(
            conn=events.RECORDER_CONN, tr_id=B[0], isin=B[1], start_ns=T0 + 10, reason=full
        ),
        events.GapClose(
            conn=events.RECORDER_CONN, tr_id=B[0], isin=B[1], end_ns=T0 + 20, reason=full
        ),
    ]
