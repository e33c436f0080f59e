"""The report's ledger: what each raw record owes the lake, by its own reading of the rules."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from capture.kis import aes
from capture.kis.protocol import control_response, data_frame, ping_message
from capture.rawlog import RecordKind, events
from storage.report.ledger import Accounting, Category, Entry, Ledger
from tests.support.rawdata import ISINS, IV, KEY
from tests.support.samples import ORDER_BOOK_SAMPLE, TRADE_SAMPLE

BOOK = ORDER_BOOK_SAMPLE.encode()
REJECT = Entry("rejects", None, None)


def frame(ledger: Ledger, payload: bytes | str, conn_id: int = 1) -> Accounting:
    data = payload.encode() if isinstance(payload, str) else payload
    return ledger.account(RecordKind.FRAME_RECV, conn_id, data)


def event(ledger: Ledger, **fields: object) -> Accounting:
    return ledger.account(RecordKind.EVENT, 0, json.dumps(fields).encode())


def test_a_data_frame_owes_a_row_per_record_in_its_isins_partition() -> None:
    fields = ORDER_BOOK_SAMPLE.split("|", 3)[3].split("^")
    other = [ISINS[1], *fields[1:]]
    got = frame(Ledger(), data_frame("H0BJASP0", [fields, other, fields]))
    assert got.category is Category.DATA_FRAME and got.table == "quotes"
    assert got.entries == (
        Entry("quotes", ISINS[0], 0),
        Entry("quotes", ISINS[1], 1),
        Entry("quotes", ISINS[0], 2),
    )
    assert got.isins == (ISINS[0], ISINS[1], ISINS[0])
    assert frame(Ledger(), TRADE_SAMPLE).entries == (Entry("trades", ISINS[0], 0),)


def test_a_record_with_a_bad_value_owes_a_reject_of_that_record_and_keeps_its_isin() -> None:
    bad = ORDER_BOOK_SAMPLE.replace("10575.00", "10575.005", 1)
    fields = ORDER_BOOK_SAMPLE.split("|", 3)[3].split("^")
    two = data_frame("H0BJASP0", [fields, bad.split("|", 3)[3].split("^")])
    got = frame(Ledger(), two)
    assert got.entries == (Entry("quotes", ISINS[0], 0), Entry("rejects", None, 1))
    assert got.isins == (ISINS[0], ISINS[0])


def test_a_frame_that_is_not_well_formed_owes_one_reject() -> None:
    ledger = Ledger()
    for payload in [
        BOOK.rsplit(b"^", 1)[0],  # a field short
        BOOK.replace(b"|001|", b"|002|"),  # says 2 records, holds 1
        BOOK.replace(b"|001|", b"|000|"),
        BOOK.replace(b"|001|", b"|0x1|"),
        BOOK.replace(b"H0BJASP0", b"H0BJXXX0"),
        b"0|H0BJASP0|001",
        b"0|\xff|001|x",
        b"1|H0BJASP0|001|" + aes.encrypt("x", KEY, IV).encode(),  # no key in force
        b"{not json",
        b"plain text",
    ]:
        assert frame(ledger, payload) == Accounting(Category.BAD_FRAME, (REJECT,)), payload


def test_an_encrypted_frame_is_read_with_the_key_of_its_connections_ack_or_state() -> None:
    ledger = Ledger()
    plain = ORDER_BOOK_SAMPLE.split("|", 3)[3]
    encrypted = f"1|H0BJASP0|001|{aes.encrypt(plain, KEY, IV)}"
    assert frame(ledger, control_response("H0BJASP0", ISINS[0], "OPSP0000", key=KEY, iv=IV)) == (
        Accounting(Category.CONTROL)
    )
    assert frame(ledger, encrypted).entries == (Entry("quotes", ISINS[0], 0),)
    assert frame(ledger, encrypted, conn_id=2).category is Category.BAD_FRAME
    state = events.encode_state(events.State(2, (), {"H0BJASP0": (KEY, IV)}))
    assert ledger.account(RecordKind.STATE, 2, state) == Accounting(Category.STATE)
    assert frame(ledger, encrypted, conn_id=2).entries == (Entry("quotes", ISINS[0], 0),)
    wrong_key = KEY[::-1]
    state = events.encode_state(events.State(2, (), {"H0BJASP0": (wrong_key, IV)}))
    ledger.account(RecordKind.STATE, 2, state)  # replaces the connection's keys
    assert frame(ledger, encrypted, conn_id=2).category is Category.BAD_FRAME


def test_pings_control_responses_and_sent_frames_owe_nothing() -> None:
    ledger = Ledger()
    assert frame(ledger, ping_message("20261126100003")) == Accounting(Category.PING)
    refused = control_response("H0BJASP0", ISINS[0], "OPSP0008")
    assert frame(ledger, refused) == Accounting(Category.CONTROL)
    sent = ledger.account(RecordKind.FRAME_SENT, 1, b"anything")
    assert sent == Accounting(Category.SENT)


def test_a_rest_book_snapshot_owes_nothing_until_the_lake_holds_snapshots() -> None:
    assert Ledger().account(RecordKind.REST_RECV, 2, b"{}\nbody") == Accounting(Category.REST)


def test_a_gap_close_owes_a_reject_only_when_no_gap_of_its_pair_is_open() -> None:
    ledger = Ledger()
    pair = {"tr_id": "H0BJASP0", "isin": ISINS[0]}
    close = {"type": "gap_close", "conn": 2, "end_ns": 9, **pair}
    assert event(ledger, **close).entries == (REJECT,)
    assert event(ledger, type="gap_open", conn=1, start_ns=5, reason="x", **pair).entries == ()
    assert event(ledger, **close).entries == ()
    assert event(ledger, **close).entries == (REJECT,)
    # A STATE record declares the gaps still open: a close of one is expected.
    state = events.State(1, (), {}, {("H0BJASP0", ISINS[0]): 5})
    assert ledger.account(RecordKind.STATE, 1, events.encode_state(state)).entries == ()
    assert event(ledger, **close).entries == ()


def test_an_event_or_state_that_does_not_read_owes_a_reject() -> None:
    ledger = Ledger()
    assert ledger.account(RecordKind.EVENT, 0, b"\x00garbage").entries == (REJECT,)
    assert event(ledger, type="gap_open", conn=1).entries == (REJECT,)
    assert ledger.account(RecordKind.STATE, 0, b"[]").entries == (REJECT,)
    assert event(ledger, type="something_new", conn=3).entries == ()


@given(st.sampled_from(list(RecordKind)), st.binary(max_size=300))
def test_any_bytes_of_any_kind_are_accounted_for_and_never_raise(
    kind: RecordKind, payload: bytes
) -> None:
    got = Ledger().account(kind, 1, payload)
    assert isinstance(got, Accounting)


@given(st.text(max_size=200))
def test_any_text_after_a_data_frame_header_is_accounted_for(rest: str) -> None:
    got = frame(Ledger(), "0|H0BJASP0|" + rest)
    assert got.category in (Category.DATA_FRAME, Category.BAD_FRAME)
