from __future__ import annotations

import datetime as dt
import uuid

from tests.capture.conftest import StartSim
from tests.support.kis_checks import post_json

APPROVAL = {"grant_type": "client_credentials", "appkey": "app", "secretkey": "secret"}
TOKEN = {"grant_type": "client_credentials", "appkey": "app", "appsecret": "secret"}


def test_approval_answers_200_with_a_uuid4_key_for_any_non_empty_pair(start_sim: StartSim) -> None:
    sim = start_sim()
    status, body = post_json(f"{sim.rest_url}/oauth2/Approval", APPROVAL)
    assert status == 200
    key = body["approval_key"]
    assert len(key) == 36 and uuid.UUID(key).version == 4
    status, again = post_json(f"{sim.rest_url}/oauth2/Approval", APPROVAL)
    assert status == 200 and again["approval_key"] != key


def test_approval_refuses_pairs_not_given_with_403_egw00103(start_sim: StartSim) -> None:
    sim = start_sim(credentials=(("app", "secret"),))
    assert post_json(f"{sim.rest_url}/oauth2/Approval", APPROVAL)[0] == 200
    status, body = post_json(f"{sim.rest_url}/oauth2/Approval", {**APPROVAL, "secretkey": "x"})
    assert status == 403 and body["error_code"] == "EGW00103" and body["error_description"]


def test_approval_answers_400_for_a_missing_or_empty_field(start_sim: StartSim) -> None:
    sim = start_sim()
    for body in ({**APPROVAL, "appkey": ""}, {"grant_type": "client_credentials"}, []):
        status, answer = post_json(f"{sim.rest_url}/oauth2/Approval", body)  # type: ignore[arg-type]
        assert status == 400 and "error_code" in answer


def test_token_has_the_shape_kis_samples_read(start_sim: StartSim) -> None:
    sim = start_sim()
    status, body = post_json(f"{sim.rest_url}/oauth2/tokenP", TOKEN)
    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert len(body["access_token"]) > 32
    dt.datetime.strptime(body["access_token_token_expired"], "%Y-%m-%d %H:%M:%S")


def test_unknown_paths_get_404_json(start_sim: StartSim) -> None:
    sim = start_sim()
    assert post_json(f"{sim.rest_url}/oauth2/nothing", TOKEN)[0] == 404
