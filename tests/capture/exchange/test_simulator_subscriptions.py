from __future__ import annotations

import json
import time

import pytest

from capture.kis.isin import check_digit
from capture.kis.protocol import ControlResponse, Outcome, subscription_request
from tests.capture.conftest import StartSim
from tests.support.kis_checks import approval_key, connect, recv_until, subscribe

ISIN = "KR103502GD31"


def isin_number(n: int) -> str:
    body = f"KR6{n:08d}"
    return body + check_digit(body)


def test_41_registrations_are_acked_with_iv_and_key_and_the_42nd_is_refused(
    start_sim: StartSim,
) -> None:
    sim = start_sim(rate=0.01)
    key, ws = approval_key(sim.rest_url), connect(sim.ws_url)
    acks = [subscribe(ws, key, "H0BJASP0", isin_number(n)) for n in range(40)]
    acks.append(subscribe(ws, key, "H0BJCNT0", ISIN))
    assert {a.msg_cd for a in acks} == {"OPSP0000"} and {a.rt_cd for a in acks} == {"0"}
    assert all(len(a.key or "") == 32 and len(a.iv or "") == 16 for a in acks)
    book_keys = {(a.key, a.iv) for a in acks if a.tr_id == "H0BJASP0"}
    assert len(book_keys) == 1 and (acks[-1].key, acks[-1].iv) not in book_keys
    refused = subscribe(ws, key, "H0BJCNT0", isin_number(99))
    assert (refused.msg_cd, refused.outcome, refused.key) == (
        "OPSP0008",
        Outcome.LIMIT_REACHED,
        None,
    )
    ws.close()


def test_resubscribe_says_already_in_subscribe_and_unsubscribe_twice_says_not_found(
    start_sim: StartSim,
) -> None:
    sim = start_sim(rate=0.01)
    key, ws = approval_key(sim.rest_url), connect(sim.ws_url)
    assert subscribe(ws, key, "H0BJASP0", ISIN).msg_cd == "OPSP0000"
    again = subscribe(ws, key, "H0BJASP0", ISIN)
    assert (again.msg_cd, again.rt_cd, again.msg1) == ("OPSP0002", "1", "ALREADY IN SUBSCRIBE")
    assert subscribe(ws, key, "H0BJASP0", ISIN, register=False).msg_cd == "OPSP0001"
    assert subscribe(ws, key, "H0BJASP0", ISIN, register=False).msg_cd == "OPSP0003"
    ws.close()


def test_an_unknown_approval_key_gets_opsp0011(start_sim: StartSim) -> None:
    sim = start_sim()
    ws = connect(sim.ws_url)
    answer = subscribe(ws, "00000000-0000-4000-8000-000000000000", "H0BJASP0", ISIN)
    assert (answer.msg_cd, answer.outcome) == ("OPSP0011", Outcome.BAD_APPROVAL_KEY)
    ws.close()


def _request(**changes: object) -> str:
    message = json.loads(subscription_request("KEY", "P", "H0BJASP0", ISIN))
    message["header"].update({k: v for k, v in changes.items() if k in message["header"]})
    message["body"]["input"].update({k: v for k, v in changes.items() if k in ("tr_id", "tr_key")})
    return json.dumps(message)


@pytest.mark.parametrize(
    ("text", "msg_cd"),
    [
        ("{not json", "OPSP8997"),
        ('{"header": {}}', "OPSP8997"),
        (_request(custtype="X"), "OPSP8998"),
        (_request(tr_type="3"), "OPSP8998"),
        (_request(tr_id="H0XXXXX0"), "OPSP8991"),
        (_request(tr_key="KR1"), "OPSP8992"),
    ],
)
def test_malformed_requests_get_the_code_kis_answers(
    start_sim: StartSim, text: str, msg_cd: str
) -> None:
    sim = start_sim()
    ws = connect(sim.ws_url)
    ws.send(text.replace("KEY", approval_key(sim.rest_url)))
    answer = recv_until(ws, lambda m: isinstance(m, ControlResponse))
    assert (answer.msg_cd, answer.rt_cd, answer.outcome) == (msg_cd, "1", Outcome.MALFORMED_REQUEST)
    ws.close()


def test_a_second_session_on_the_same_app_key_gets_opsp8996_until_the_first_closes(
    start_sim: StartSim,
) -> None:
    sim = start_sim(rate=0.01)
    first, second = connect(sim.ws_url), connect(sim.ws_url)
    assert subscribe(first, approval_key(sim.rest_url), "H0BJASP0", ISIN).msg_cd == "OPSP0000"
    refused = subscribe(second, approval_key(sim.rest_url), "H0BJASP0", ISIN)
    assert (refused.msg_cd, refused.outcome) == ("OPSP8996", Outcome.KEY_IN_USE)
    other_app = approval_key(sim.rest_url, app_key="other")
    assert subscribe(second, other_app, "H0BJCNT0", ISIN).msg_cd == "OPSP0000"
    first.close()
    third = connect(sim.ws_url)
    # The server frees the app key when it sees the close: retry, a bounded number of times.
    answers = (subscribe(third, approval_key(sim.rest_url), "H0BJCNT0", ISIN) for _ in range(50))
    assert any(answer.msg_cd == "OPSP0000" for answer in answers)
    second.close()
    third.close()


def test_slow_acks_delay_the_answer(start_sim: StartSim) -> None:
    sim = start_sim(slow_acks=0.3)
    key, ws = approval_key(sim.rest_url), connect(sim.ws_url)
    started = time.monotonic()
    assert subscribe(ws, key, "H0BJASP0", ISIN).msg_cd == "OPSP0000"
    assert time.monotonic() - started >= 0.3
    ws.close()
