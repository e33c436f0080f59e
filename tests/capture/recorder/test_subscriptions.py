from __future__ import annotations

from capture.kis.protocol import classify, control_response
from capture.recorder.subscriptions import Step, SubscriptionTable

A, B = ("H0BJASP0", "KR103502GD31"), ("H0BJCNT0", "KR103502GD31")


def answer(table: SubscriptionTable, pair: tuple[str, str], msg_cd: str, now: float = 0.0) -> Step:
    response = classify(control_response(*pair, msg_cd, key="k" * 32, iv="i" * 16))
    return table.answer(response, now, retry_after_s=5.0)


def test_pairs_are_sent_in_order_once_each_until_answered() -> None:
    table = SubscriptionTable([A, B])
    assert table.next_to_send(0.0) == A
    table.mark_sent(A)
    assert table.next_to_send(0.0) == B
    table.mark_sent(B)
    assert table.next_to_send(100.0) is None  # a slow ack never causes a second send


def test_an_ack_or_already_subscribed_makes_a_pair_live_with_its_aes_key() -> None:
    table = SubscriptionTable([A, B])
    assert answer(table, A, "OPSP0000") is Step.ACKED
    assert answer(table, B, "OPSP0002") is Step.ACKED
    assert table.acked() == [A, B]
    assert table.aes["H0BJASP0"] == ("k" * 32, "i" * 16)


def test_internal_error_and_bad_approval_key_are_sent_again_after_a_pause() -> None:
    table = SubscriptionTable([A, B])
    assert answer(table, A, "OPSP0007", now=10.0) is Step.RETRY
    assert answer(table, B, "OPSP0011", now=10.0) is Step.RENEW_KEY
    assert table.next_to_send(14.9) is None
    assert table.next_to_send(15.0) == A
    assert table.next_due() == 15.0


def test_malformed_requests_and_the_limit_are_given_up_and_key_in_use_drops_the_session() -> None:
    table = SubscriptionTable([A, B])
    assert answer(table, A, "OPSP8992") is Step.GIVE_UP
    assert answer(table, B, "OPSP0008") is Step.GIVE_UP
    assert table.count("failed") == 2 and table.next_to_send(1e9) is None
    assert answer(SubscriptionTable([A]), A, "OPSP8996") is Step.KEY_IN_USE
