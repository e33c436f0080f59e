"""KIS's official sample clients, reduced to their protocol steps, run unmodified against us:
the websocket sample, and the REST sample of the bond book (inquire_asking_price).

The sample (koreainvestment/open-trading-api, websocket/python) gets an approval key with a
JSON POST, opens ``websockets.connect(url, ping_interval=None)``, sends subscribe strings
built by concatenation, and in its receive loop: ``data[0] in "01"`` -> split on ``|`` and
``^`` (decrypting ``1|`` frames with the ack's key/iv), otherwise JSON: keep
``body.output.key/iv`` from ``rt_cd == "0"`` acks (the sample keeps one pair, for its one
encrypted TR; with two encrypted TRs here, one pair per TR), and answer PINGPONG with
``await websocket.pong(data)``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.parse
import urllib.request
from collections import namedtuple

from capture.kis import rest_book
from tests.capture.conftest import StartSim
from tests.support.kis_checks import book_record, check_book, official_sample_client, post_json


def test_the_official_sample_flow_subscribes_decrypts_and_survives_pingpong(
    start_sim: StartSim,
) -> None:
    sim = start_sim(rate=20, encrypt=True, ping_interval=0.2)
    status, body = post_json(
        f"{sim.rest_url}/oauth2/Approval",
        {"grant_type": "client_credentials", "appkey": "app", "secretkey": "secret"},
    )
    assert status == 200
    records, pings = asyncio.run(official_sample_client(sim.ws_url, body["approval_key"], 8))
    assert pings == 8 and records > 0


def official_rest_sample(rest_url: str, isin: str) -> dict[str, str]:
    """KIS's official REST sample for the bond book (examples_llm/domestic_bond/
    inquire_asking_price, over examples_llm/kis_auth.py), reduced to its protocol steps, with
    urllib standing in for requests: a JSON POST to tokenP with its base headers (JSON
    content type, ``Accept: text/plain``, ``charset``, a browser User-Agent), the token and
    its expiry read as ``%Y-%m-%d %H:%M:%S``; then a GET with the base headers plus
    ``authorization: Bearer``, ``appkey``, ``appsecret``, ``tr_id``, ``custtype`` and an empty
    ``tr_cont``. On HTTP 200 it turns every all-lower-case response header name and every
    body key into a namedtuple field (so each must be a Python identifier), calls it a
    success on ``rt_cd == "0"``, takes ``output`` as one row, and asks for a next page only
    on ``tr_cont == "M"``. Returns the row it would print."""
    base = {"Content-Type": "application/json", "Accept": "text/plain", "charset": "UTF-8",
            "User-Agent": "Mozilla/5.0"}  # fmt: skip
    body = {"grant_type": "client_credentials", "appkey": "app", "appsecret": "secret"}
    request = urllib.request.Request(
        f"{rest_url}/oauth2/tokenP", data=json.dumps(body).encode(), headers=base
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        answer = json.load(response)
    token = namedtuple("res", answer.keys())(**answer).access_token
    dt.datetime.strptime(answer["access_token_token_expired"], "%Y-%m-%d %H:%M:%S")
    headers = {**base, "authorization": f"Bearer {token}", "appkey": "app",
               "appsecret": "secret", "tr_id": "FHKBJ773401C0", "custtype": "P",
               "tr_cont": ""}  # fmt: skip
    query = urllib.parse.urlencode({"FID_COND_MRKT_DIV_CODE": "B", "FID_INPUT_ISCD": isin})
    url = f"{rest_url}/uapi/domestic-bond/v1/quotations/inquire-asking-price?{query}"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as res:
        assert res.status == 200
        fields = {k: res.headers[k] for k in res.headers.keys() if k.islower()}  # noqa: SIM118
        header = namedtuple("header", fields.keys())(**fields)
        payload = json.load(res)
    result = namedtuple("body", payload.keys())(**payload)
    assert result.rt_cd == "0", (result.msg_cd, result.msg1)
    assert header.tr_cont != "M", "one page holds the whole book"
    return dict(result.output)


def test_the_official_rest_sample_gets_a_token_and_the_book_of_a_bond(
    start_sim: StartSim,
) -> None:
    sim = start_sim()
    row = official_rest_sample(sim.rest_url, "KR2033022D33")  # the sample's own ISIN
    assert list(row) == [field for field, _ in rest_book.BOOK_OUTPUT]
    check_book(book_record(row, "KR2033022D33"))
