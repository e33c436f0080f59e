"""The KIS codec: real sample frames parse to the documented values; builders round-trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture.errors import BadRequest, DecryptError, MalformedFrame
from capture.kis import protocol
from capture.kis.layouts import LAYOUTS, ORDER_BOOK, TRADES
from capture.kis.protocol import DataFrame, Outcome, Ping
from tests.support.samples import ACK_SAMPLE, ORDER_BOOK_SAMPLE, TRADE_SAMPLE

KEY_IV = ("0123456789abcdef0123456789abcdef", "0123456789abcdef")


def as_dict(layout_tr: str, values: list[str]) -> dict[str, str]:
    return dict(zip(LAYOUTS[layout_tr].columns, values, strict=True))


def test_the_order_book_sample_splits_into_the_documented_34_fields() -> None:
    frame = protocol.classify(ORDER_BOOK_SAMPLE)
    assert frame == DataFrame(False, "H0BJASP0", 1, ORDER_BOOK_SAMPLE.split("|", 3)[3])
    [record] = protocol.split_records(frame)
    book = as_dict("H0BJASP0", record)
    assert book["isin"] == "KR103502GD31" and book["exch_time"] == "131743"
    assert book["ask_yield_1"] == "3.012" and book["bid_yield_1"] == "3.020"
    assert book["ask_price_1"] == "10575.00" and book["bid_price_1"] == "10560.00"
    assert book["ask_qty_2"] == "405284" and book["bid_qty_2"] == "57"
    assert book["ask_price_5"] == "10597.00" and book["bid_qty_5"] == "379920"
    assert book["total_ask_qty"] == "1698609" and book["total_bid_qty"] == "4112382"


def test_the_trade_sample_keeps_the_korean_bond_name_and_every_digit() -> None:
    [record] = protocol.split_records(protocol.classify(TRADE_SAMPLE.encode("utf-8")))
    trade = as_dict("H0BJCNT0", record)
    assert trade["bond_name"] == "국고03250-5303(23-2)"
    assert trade["change_sign"] == "2" and trade["change"] == "5.00"
    assert trade["trade_price"] == "10575.00" and trade["trade_qty"] == "1"
    assert trade["trade_yield"] == "3.012" and trade["cum_volume"] == "6594124"
    assert trade["trade_type_code"] == "2"


def test_layouts_carry_the_corrected_kis_field_names() -> None:
    assert ORDER_BOOK.width == 34 and TRADES.width == 19
    names = [f.kis_name for f in ORDER_BOOK.fields]
    assert "ASKP_RSQN5" in names and "BIDP_RSQN5" in names
    assert "ASKP_RSQN52" not in names and "BIDP_RSQN53" not in names
    assert len(set(ORDER_BOOK.columns)) == 34 and len(set(TRADES.columns)) == 19


def test_a_multi_record_frame_gives_every_record_not_just_the_last() -> None:
    records = [[f"{i}{j}" for j in range(TRADES.width)] for i in range(4)]
    frame = protocol.classify(protocol.data_frame("H0BJCNT0", records))
    assert frame.count == 4
    assert protocol.split_records(frame) == records


def test_an_encrypted_frame_decrypts_with_the_acks_key_and_iv() -> None:
    ack = protocol.classify(ACK_SAMPLE)
    assert ack.outcome is Outcome.SUBSCRIBED
    plain = protocol.classify(ORDER_BOOK_SAMPLE)
    records = protocol.split_records(plain)
    encrypted = protocol.classify(
        protocol.data_frame("H0BJASP0", records, key_iv=(ack.key, ack.iv))
    )
    assert encrypted.encrypted and encrypted.payload != plain.payload
    assert protocol.split_records(encrypted, (ack.key, ack.iv)) == records


def test_an_encrypted_frame_without_key_is_a_decrypt_error() -> None:
    frame = protocol.classify(protocol.data_frame("H0BJCNT0", [["x"] * 19], key_iv=KEY_IV))
    with pytest.raises(DecryptError):
        protocol.split_records(frame)
    with pytest.raises(DecryptError):
        protocol.split_records(frame, ("f" * 32, "0" * 16))


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("2|H0BJASP0|001|x", "encryption flag"),
        ("0||001|x", "empty TR"),
        ("0|H0BJASP0|0x1|x", "record count"),
        ("0|H0BJASP0|000|x", "record count"),
        ("0|H0BJASP0|001", "4 '|'-separated"),
        ("{not json", "neither a data frame"),
        ("hello", "4 '|'-separated"),
        ('{"header": {}}', "neither a data frame"),
        ('{"header": {"tr_id": "H0BJASP0"}}', "control response without"),
    ],
)
def test_malformed_messages_raise_malformed_frame_with_a_reason(message: str, reason: str) -> None:
    with pytest.raises(MalformedFrame, match=reason):
        protocol.classify(message)


def test_a_field_count_that_is_not_a_multiple_of_the_width_is_malformed() -> None:
    frame = protocol.classify(ORDER_BOOK_SAMPLE.replace("|001|", "|002|"))
    with pytest.raises(MalformedFrame, match="payload has 34 fields"):
        protocol.split_records(frame)


def test_invalid_utf8_is_malformed_not_a_crash() -> None:
    with pytest.raises(MalformedFrame, match="UTF-8"):
        protocol.classify(b"0|H0BJCNT0|001|\xff\xfe")


def test_pingpong_is_recognised_with_its_exact_text() -> None:
    text = protocol.ping_message("20261126131743")
    ping = protocol.classify(text)
    assert ping == Ping(text=text, datetime="20261126131743")


@pytest.mark.parametrize("msg_cd", sorted(protocol.MESSAGE_CODES))
def test_every_control_code_round_trips_to_its_outcome(msg_cd: str) -> None:
    response = protocol.classify(protocol.control_response("H0BJASP0", "KR103502GD31", msg_cd))
    assert response.msg_cd == msg_cd
    assert response.outcome is protocol.MESSAGE_CODES[msg_cd].outcome
    assert response.key is None


def test_already_subscribed_counts_as_subscribed() -> None:
    response = protocol.classify(protocol.control_response("H0BJASP0", "KR103502GD31", "OPSP0002"))
    assert response.rt_cd == "1" and response.outcome is Outcome.SUBSCRIBED


def test_subscribe_message_round_trips_through_the_server_parser() -> None:
    text = protocol.subscription_request("k" * 36, "P", "H0BJASP0", "KR103502GD31")
    request = protocol.parse_subscription_request(text)
    assert request.register and request.tr_id == "H0BJASP0" and request.tr_key == "KR103502GD31"
    assert json.loads(text)["header"]["tr_type"] == "1"
    off = protocol.subscription_request("k", "B", "H0BJCNT0", "KR103502GD31", register=False)
    assert not protocol.parse_subscription_request(off).register


@pytest.mark.parametrize(
    ("text", "msg_cd"),
    [
        ("nope", "OPSP8997"),
        ('{"header": {}}', "OPSP8997"),
        (protocol.subscription_request("k", "X", "H0BJASP0", "KR103502GD31"), "OPSP8998"),
        (protocol.subscription_request("k", "P", "H0STCNT0", "KR103502GD31"), "OPSP8991"),
        (protocol.subscription_request("k", "P", "H0BJASP0", "KR1"), "OPSP8992"),
    ],
)
def test_malformed_subscribe_requests_get_the_kis_error_code(text: str, msg_cd: str) -> None:
    with pytest.raises(BadRequest) as caught:
        protocol.parse_subscription_request(text)
    assert caught.value.msg_cd == msg_cd


field_text = st.text(
    alphabet=st.characters(blacklist_characters="^|", blacklist_categories=("Cs",)), max_size=12
)


@given(
    tr_id=st.sampled_from(sorted(LAYOUTS)),
    count=st.integers(1, 5),
    data=st.data(),
    encrypt=st.booleans(),
)
def test_data_frames_round_trip_for_any_field_text(
    tr_id: str, count: int, data: st.DataObject, encrypt: bool
) -> None:
    width = LAYOUTS[tr_id].width
    records = [
        data.draw(st.lists(field_text, min_size=width, max_size=width)) for _ in range(count)
    ]
    key_iv = KEY_IV if encrypt else None
    frame = protocol.classify(protocol.data_frame(tr_id, records, key_iv=key_iv).encode("utf-8"))
    assert protocol.split_records(frame, key_iv) == records


@given(st.binary(max_size=300))
def test_any_bytes_classify_to_a_message_or_a_documented_error(raw: bytes) -> None:
    try:
        message = protocol.classify(raw)
        if isinstance(message, DataFrame):
            protocol.split_records(message, KEY_IV)
    except (MalformedFrame, DecryptError):
        pass


def test_json_nested_too_deep_to_parse_is_a_malformed_frame_not_a_recursion_error() -> None:
    with pytest.raises(MalformedFrame):
        protocol.classify("{" + '"a":[' * 100_000)
    with pytest.raises(MalformedFrame):
        protocol.classify('{"header":' + "[" * 100_000)
