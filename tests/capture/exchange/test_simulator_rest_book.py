"""The simulator serves KIS's REST book snapshot (장내채권현재가(호가)) from the market its
websocket feeds draw from: the book in force, checked for tr_id and the access token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from capture.kis import rest_book
from tests.capture.conftest import StartSim
from tests.support.kis_checks import (
    approval_key,
    book_record,
    check_book,
    connect,
    get_book,
    post_json,
    recv_until,
    subscribe,
)
from tests.support.recorder import wait_until

ISIN = "KR103502GD31"
TOKEN = {"grant_type": "client_credentials", "appkey": "app", "appsecret": "secret"}


def token(rest_url: str, body: dict[str, str] = TOKEN) -> str:
    status, answer = post_json(f"{rest_url}{rest_book.TOKEN_PATH}", body)
    assert status == 200, answer
    return str(answer["access_token"])


def headers(access_token: str, **more: str) -> dict[str, str]:
    return {**rest_book.book_headers(access_token, "app", "secret", "P"), **more}


def test_a_book_before_any_update_is_an_opening_book_with_the_feeds_value_rules(
    start_sim: StartSim,
) -> None:
    sim = start_sim()
    status, head, body = get_book(sim.rest_url, ISIN, headers(token(sim.rest_url)))
    assert status == 200 and (body["rt_cd"], body["msg_cd"]) == ("0", "MCA00000")
    assert [field for field, _ in rest_book.BOOK_OUTPUT] == list(body["output"])
    record = book_record(body["output"], ISIN)
    check_book(record)
    output = body["output"]
    assert int(output["ntby_aspr_rsqn"]) == int(record[-1]) - int(record[-2])
    assert (head["tr_id"], head["tr_cont"]) == (rest_book.BOOK_TR_ID, "D")
    again = get_book(sim.rest_url, ISIN, headers(token(sim.rest_url)))[2]["output"]
    assert {k: v for k, v in again.items() if k != "aspr_acpt_hour"} == {
        k: v for k, v in output.items() if k != "aspr_acpt_hour"
    }, "asking changes nothing: the book stays until the market moves it"


def test_the_book_served_is_the_last_one_the_feed_sent(start_sim: StartSim, tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    sim = start_sim(rate=50, truth=truth)
    ws = connect(sim.ws_url)
    try:
        subscribe(ws, approval_key(sim.rest_url), "H0BJASP0", ISIN)
        recv_until(ws, lambda m: getattr(m, "tr_id", None) == "H0BJASP0")
    finally:
        ws.close()
    access = token(sim.rest_url)

    def served_is_the_last_sent() -> bool:
        sent = [json.loads(line) for line in truth.read_text().splitlines()]
        books = [r["values"] for r in sent if r.get("tr_id") == "H0BJASP0"]
        served = book_record(get_book(sim.rest_url, ISIN, headers(access))[2]["output"], ISIN)
        return bool(books) and served == books[-1]

    # Once the closed session sends no more, the snapshot is the last book it sent.
    wait_until(served_is_the_last_sent, 5.0, "the REST book to be the last book sent")


def test_a_request_without_a_token_of_this_app_key_or_with_another_tr_id_is_refused(
    start_sim: StartSim,
) -> None:
    sim = start_sim(credentials=(("app", "secret"), ("other", "secret2")))
    good = token(sim.rest_url)
    others = token(sim.rest_url, {**TOKEN, "appkey": "other", "appsecret": "secret2"})
    cases: list[tuple[dict[str, str], str]] = [
        (headers("not-issued"), rest_book.TOKEN_INVALID),
        (headers(others), rest_book.TOKEN_INVALID),  # another app key's token
        (headers(good, appsecret="wrong"), rest_book.TOKEN_INVALID),
        (headers(good, tr_id="FHKST01010200"), "EGW00002"),
    ]
    for sent, msg_cd in cases:
        status, _, body = get_book(sim.rest_url, ISIN, sent)
        assert (status, body["rt_cd"], body["msg_cd"]) == (500, "1", msg_cd), sent["tr_id"]
        assert "output" not in body
    status, _, body = get_book(sim.rest_url, "KR1035000000", headers(good))  # bad check digit
    assert (status, body["msg_cd"]) == (500, "EGW00002")


def test_an_answer_is_classified_by_status_and_rt_cd_alone() -> None:
    ok: Any = rest_book.classify_book_answer(200, rest_book.answer_body({}, "MCA00000", "ok"))
    assert ok.ok and not ok.token_refused
    expired = rest_book.classify_book_answer(500, rest_book.answer_body(None, "EGW00123", "x"))
    assert not expired.ok and expired.token_refused
    assert rest_book.classify_book_answer(502, b"<html>").msg_cd == ""
