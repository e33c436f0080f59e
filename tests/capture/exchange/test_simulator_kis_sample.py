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

from tests.capture.conftest import StartSim
from tests.support.kis_checks import official_sample_client, post_json


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
