from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.kis_checks import approval_key, connect, subscribe
from tests.support.recorder import STOP_TIMEOUT_S, bondtape, running


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_simulate_prints_its_urls_serves_and_exits_0_on_a_signal(
    stop_signal: signal.Signals, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.jsonl"
    args = ["--seed", "4", "--rate", "200", "--truth", str(truth), "--credential", "app:secret"]
    with running(bondtape("simulate", *args, stdout=subprocess.PIPE, text=True)) as proc:
        assert proc.stdout is not None
        ws_line, rest_line = proc.stdout.readline(), proc.stdout.readline()
        assert ws_line.startswith("ws: ws://127.0.0.1:") and rest_line.startswith("rest: http://")
        ws = connect(ws_line.split()[1])
        key = approval_key(rest_line.split()[1], "app", "secret")
        assert subscribe(ws, key, "H0BJASP0", "KR103502GD31").msg_cd == "OPSP0000"
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=STOP_TIMEOUT_S) == 0
    lines = truth.read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line)["tr_id"] == "H0BJASP0" for line in lines)


def test_simulate_refuses_a_stall_without_its_interval_with_exit_2() -> None:
    with running(bondtape("simulate", "--stall", "1", stderr=subprocess.PIPE, text=True)) as proc:
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "--stall-every" in stderr
