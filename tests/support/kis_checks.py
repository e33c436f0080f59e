"""Shared test helpers: the value rules every synthetic record must obey, and a KIS client.

The client side is deliberately the recorder's stack (websocket-client, urllib), never the
simulator's own code, so the tests see exactly the bytes a real client would.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import websocket
import websockets

from capture.exchange.faults import FaultOptions
from capture.exchange.server import ExchangeOptions
from capture.exchange.simulator import SimulatorOptions
from capture.kis import aes, rest_book
from capture.kis.layouts import ORDER_BOOK, TRADES
from capture.kis.protocol import ControlResponse, classify, subscription_request

PRICE = re.compile(r"-?\d+\.\d{2}")
YIELD = re.compile(r"\d+\.\d{3}")
QTY = re.compile(r"\d+")
HHMMSS = re.compile(r"([01]\d|2[0-3])[0-5]\d[0-5]\d")
TIMEOUT = 5.0


def check_book(record: list[str]) -> None:
    """Assert the H0BJASP0 value rules: formats, asks above bids, levels ordered, totals."""
    assert len(record) == ORDER_BOOK.width
    assert HHMMSS.fullmatch(record[1])
    levels = [record[2 + 6 * n : 8 + 6 * n] for n in range(5)]
    for ask_y, bid_y, ask, bid, ask_q, bid_q in levels:
        assert YIELD.fullmatch(ask_y) and YIELD.fullmatch(bid_y)
        assert PRICE.fullmatch(ask) and PRICE.fullmatch(bid)
        assert QTY.fullmatch(ask_q) and QTY.fullmatch(bid_q)
    asks = [Decimal(level[2]) for level in levels]
    bids = [Decimal(level[3]) for level in levels]
    ask_yields = [Decimal(level[0]) for level in levels]
    bid_yields = [Decimal(level[1]) for level in levels]
    assert asks[0] > bids[0] and ask_yields[0] < bid_yields[0]
    assert asks == sorted(set(asks)) and bids == sorted(set(bids), reverse=True)
    assert ask_yields == sorted(set(ask_yields), reverse=True)  # price up, yield down
    assert bid_yields == sorted(set(bid_yields))
    assert int(record[-2]) >= sum(int(level[4]) for level in levels)
    assert int(record[-1]) >= sum(int(level[5]) for level in levels)


def check_trade(record: list[str]) -> None:
    """Assert the H0BJCNT0 value rules: formats, open/high/low, change vs previous close."""
    assert len(record) == TRADES.width
    _isin, name, hhmmss, sign, change, rate, price, qty, open_, high, low, prev_close = record[:12]
    trade_y, open_y, high_y, low_y, cum, prev_vol, _kind = record[12:]
    assert name and HHMMSS.fullmatch(hhmmss)
    for value in (change, price, open_, high, low, prev_close):
        assert PRICE.fullmatch(value)
    for value in (trade_y, open_y, high_y, low_y):
        assert YIELD.fullmatch(value)
    assert QTY.fullmatch(qty) and QTY.fullmatch(cum) and QTY.fullmatch(prev_vol)
    assert Decimal(low) <= Decimal(price) <= Decimal(high)
    assert Decimal(low) <= Decimal(open_) <= Decimal(high)
    assert Decimal(high_y) <= Decimal(trade_y) <= Decimal(low_y)
    assert Decimal(change) == Decimal(price) - Decimal(prev_close)
    expected_sign = "2" if Decimal(change) > 0 else "5" if Decimal(change) < 0 else "3"
    assert sign == expected_sign
    assert abs(Decimal(rate) - Decimal(change) / Decimal(prev_close) * 100) <= Decimal("0.005")
    assert int(cum) >= int(qty)


def post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST JSON, return (status, JSON body) for success and HTTP errors alike."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def get_book(
    rest_url: str, isin: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """GET the REST book of ``isin``: (status, response headers, JSON body), errors alike."""
    request = urllib.request.Request(
        f"{rest_url}{rest_book.BOOK_PATH}?{rest_book.book_query(isin)}", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.load(exc)


def book_record(output: dict[str, str], isin: str) -> list[str]:
    """The H0BJASP0 record a REST book's ``output`` carries, in wire order (for check_book)."""
    by_column = {column: output[field] for field, column in rest_book.BOOK_OUTPUT}
    return [isin if column == "isin" else by_column[column] for column in ORDER_BOOK.columns]


def approval_key(rest_url: str, app_key: str = "app", secret: str = "secret") -> str:
    status, body = post_json(
        f"{rest_url}/oauth2/Approval",
        {"grant_type": "client_credentials", "appkey": app_key, "secretkey": secret},
    )
    assert status == 200, body
    return body["approval_key"]


def connect(ws_url: str, **options: Any) -> websocket.WebSocket:
    return websocket.create_connection(ws_url, timeout=TIMEOUT, **options)


def recv_until(
    ws: websocket.WebSocket, wanted: Callable[[Any], bool], timeout: float = TIMEOUT
) -> Any:
    """Classify messages until one is ``wanted``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = classify(ws.recv())
        if wanted(message):
            return message
    raise AssertionError(f"nothing wanted arrived within {timeout} s")


def subscribe(
    ws: websocket.WebSocket, key: str, tr_id: str, isin: str, *, register: bool = True
) -> ControlResponse:
    """Send a (un)subscribe and return its control response, skipping data and pings."""
    ws.send(subscription_request(key, "P", tr_id, isin, register=register))
    return recv_until(
        ws, lambda m: isinstance(m, ControlResponse) and (m.tr_id, m.tr_key) == (tr_id, isin)
    )


def simulator_options(**kwargs: Any) -> SimulatorOptions:
    """SimulatorOptions from flat keywords: each ExchangeOptions or FaultOptions field goes
    where it belongs, the rest to SimulatorOptions."""
    fault_keys = set(FaultOptions.__dataclass_fields__)
    exchange_keys = set(ExchangeOptions.__dataclass_fields__) - {"faults"}
    faults = FaultOptions(**{k: kwargs.pop(k) for k in fault_keys & kwargs.keys()})
    exchange = {k: kwargs.pop(k) for k in exchange_keys & kwargs.keys()}
    return SimulatorOptions(exchange=ExchangeOptions(faults=faults, **exchange), **kwargs)


async def official_sample_client(
    ws_url: str, approval_key: str, pings_wanted: int, isin: str = "KR103502GD31"
) -> tuple[int, int]:
    """KIS's official sample client's protocol steps (the module docstring of
    test_simulator_kis_sample.py says which); (records, pings) once ``pings_wanted`` pings
    were answered."""
    code_list = [["1", "H0BJASP0", isin], ["1", "H0BJCNT0", isin]]
    records = pings = 0
    aes_keys: dict[str, tuple[str, str]] = {}
    async with websockets.connect(ws_url, ping_interval=None) as websocket:
        for cmd in code_list:
            senddata = (
                '{"header":{"approval_key":"' + approval_key + '","custtype":"P","tr_type":"'
                + cmd[0] + '","content-type":"utf-8"},"body":{"input":{"tr_id":"' + cmd[1]
                + '","tr_key":"' + cmd[2] + '"}}}'
            )  # fmt: skip
            await websocket.send(senddata)
            await asyncio.sleep(0.1)
        while pings < pings_wanted:
            data = await websocket.recv()
            if data[0] in ("0", "1"):
                recvstr = data.split("|")
                payload = recvstr[3]
                if data[0] == "1":
                    payload = aes.decrypt(payload, *aes_keys[recvstr[1]])
                records += len(payload.split("^")) // (34 if recvstr[1] == "H0BJASP0" else 19)
            else:
                json_object = json.loads(data)
                if json_object["header"]["tr_id"] == "PINGPONG":
                    await websocket.pong(data)
                    pings += 1
                elif json_object["body"]["rt_cd"] == "0":
                    output = json_object["body"]["output"]
                    aes_keys[json_object["header"]["tr_id"]] = (output["key"], output["iv"])
                else:
                    raise AssertionError(json_object["body"]["msg1"])
    return records, pings
