"""The key/iv tracker: what each record puts in force, and what it lets go."""

from __future__ import annotations

from capture.kis import classify, control_response
from capture.rawlog import KeyTracker, events

KEY, IV = "0123456789abcdef0123456789abcdef", "fedcba9876543210"
OTHER = ("f" * 32, "0" * 16)


def _ack(keys: KeyTracker, conn: int, tr_id: str, key_iv: tuple[str, str] = (KEY, IV)) -> None:
    message = classify(control_response(tr_id, "KR103502GD31", "OPSP0000", key=key_iv[0],
                                        iv=key_iv[1]).encode())  # fmt: skip
    keys.answer(conn, message)  # type: ignore[arg-type]


def _connect(keys: KeyTracker, conn: int, credential: str) -> None:
    keys.event(events.Connect(conn=conn, url="ws://127.0.0.1:1", credential=credential))


def test_a_subscribe_ack_puts_its_key_in_force_for_its_connection_and_tr_only() -> None:
    keys = KeyTracker()
    _ack(keys, 3, "H0BJASP0")
    assert keys.of(3) == {"H0BJASP0": (KEY, IV)}
    assert keys.of(4) == {}


def test_a_state_record_replaces_its_connections_table_and_an_empty_one_clears_it() -> None:
    keys = KeyTracker()
    _ack(keys, 3, "H0BJASP0")
    keys.state(events.State(3, aes={"H0BJCNT0": OTHER}))
    assert keys.of(3) == {"H0BJCNT0": OTHER}
    keys.state(events.State(3))
    assert keys.to_json()["keys"] == {}


def test_a_disconnect_ends_its_connections_keys_and_no_other() -> None:
    keys = KeyTracker()
    _connect(keys, 3, "a")
    _ack(keys, 3, "H0BJASP0")
    _ack(keys, 4, "H0BJASP0")
    keys.event(events.Disconnect(conn=3, reason="connection lost"))
    assert keys.to_json() == {"keys": {"4": {"H0BJASP0": [KEY, IV]}}, "credentials": {}}


def test_a_connect_replaces_the_earlier_connection_of_its_credential_only() -> None:
    keys = KeyTracker()
    _connect(keys, 3, "a")
    _connect(keys, 4, "b")
    _ack(keys, 3, "H0BJASP0")
    _ack(keys, 4, "H0BJASP0")
    _connect(keys, 5, "a")  # a's conn 3 was never disconnected: the recorder was killed
    assert keys.of(3) == {}
    assert keys.of(4) == {"H0BJASP0": (KEY, IV)}
    assert keys.to_json()["credentials"] == {"4": "b", "5": "a"}


def test_the_tracker_round_trips_through_json_and_reads_a_checkpoint_without_credentials() -> None:
    keys = KeyTracker()
    _connect(keys, 3, "a")
    _ack(keys, 3, "H0BJASP0")
    again = KeyTracker.from_json(keys.to_json())
    assert again.to_json() == keys.to_json()
    older = KeyTracker.from_json({"keys": {"7": {"H0BJCNT0": [KEY, IV]}}})
    assert older.of(7) == {"H0BJCNT0": (KEY, IV)}
