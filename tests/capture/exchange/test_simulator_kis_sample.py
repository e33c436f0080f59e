"""KIS's official sample client, reduced to its protocol steps, runs unmodified against us.

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
import json

import websockets

from capture.kis import aes
from tests.capture.conftest import StartSim
from tests.capture.exchange.kis_checks import post_json


async def _sample_client(ws_url: str, approval_key: str, pings_wanted: int) -> tuple[int, int]:
    code_list = [["1", "H0BJASP0", "KR103502GD31"], ["1", "H0BJCNT0", "KR103502GD31"]]
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


def test_the_official_sample_flow_subscribes_decrypts_and_survives_pingpong(
    start_sim: StartSim,
) -> None:
    sim = start_sim(rate=20, encrypt=True, ping_interval=0.2)
    status, body = post_json(
        f"{sim.rest_url}/oauth2/Approval",
        {"grant_type": "client_credentials", "appkey": "app", "secretkey": "secret"},
    )
    assert status == 200
    records, pings = asyncio.run(_sample_client(sim.ws_url, body["approval_key"], 8))
    assert pings == 8 and records > 0
