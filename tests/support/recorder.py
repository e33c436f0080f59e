"""Real processes for the recorder tests: `bondtape record` as a subprocess, against an
in-process simulator on free loopback ports. Tests wait on conditions (raw events, the truth
file), never on sleeps, and start every subprocess under :func:`running`, so a failed wait
never leaves one behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from capture.exchange.simulator import Simulator
from capture.kis.isin import check_digit
from capture.kis.protocol import Pair, split_data_frame, split_records
from capture.rawlog import RawRecord, RecordKind, read_records
from capture.recorder.approval import AppCredential
from capture.recorder.options import RecorderOptions
from capture.recorder.recorder import Recorder
from tests.support.kis_checks import simulator_options

ROOT = Path(__file__).resolve().parents[2]
TRS = ("H0BJASP0", "H0BJCNT0")
STOP_TIMEOUT_S = 5.0  # the recorder must stop, fsync and close within this after SIGTERM
POLL_S = 0.1  # each poll may decode the whole raw log, in the simulator's process (and GIL)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_S)


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server that takes its port from a config (another
    process could take it meanwhile: unlikely on loopback within a test's second)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape(port: int) -> dict[str, float]:
    """The samples of a Prometheus endpoint on 127.0.0.1, ``name{labels}`` -> value; {} while
    it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def isins(n: int) -> list[str]:
    bodies = [f"KR1035{i:05d}" for i in range(n)]
    return [body + check_digit(body) for body in bodies]


def bondtape(*args: str, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        **popen,
    )


def stop(process: subprocess.Popen) -> int:
    """SIGTERM ``process`` and return its exit status, waiting at most ``STOP_TIMEOUT_S``.

    Raises:
        subprocess.TimeoutExpired: it did not exit in time (:func:`running` then kills it).
    """
    process.terminate()
    return process.wait(STOP_TIMEOUT_S)


@contextmanager
def running(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Yield ``process`` and make sure it is gone afterwards, whatever the test did: stopped
    as :func:`stop` does if still running, killed if that times out."""
    try:
        yield process
    finally:
        if process.poll() is None:
            try:
                stop(process)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Sim:
    simulator: Simulator
    truth: Path

    @property
    def ws_url(self) -> str:
        return self.simulator.ws_url

    @property
    def rest_url(self) -> str:
        return self.simulator.rest_url

    def stop(self) -> None:
        self.simulator.stop()

    def truth_records(self) -> list[dict[str, Any]]:
        lines = self.truth.read_text().splitlines() if self.truth.exists() else []
        return [r for r in map(json.loads, lines) if "values" in r]


@contextmanager
def simulator(tmp: Path, *, rate: float = 2.0, **exchange: Any) -> Iterator[Sim]:
    """An in-process simulator; ``exchange`` keywords are ExchangeOptions or FaultOptions."""
    options = simulator_options(seed=7, truth=tmp / "truth.jsonl", rate=rate, **exchange)
    sim = Sim(Simulator(options), tmp / "truth.jsonl")
    sim.simulator.start()
    try:
        yield sim
    finally:
        sim.stop()


class Listening(Protocol):
    """Where an exchange serves: the simulator, or a replay."""

    @property
    def ws_url(self) -> str: ...

    @property
    def rest_url(self) -> str: ...


def write_config(
    tmp: Path,
    sim: Listening,
    isin_list: Sequence[str],
    *,
    credentials: int = 1,
    trs: Sequence[str] = ("H0BJASP0",),
    pong_mode: str = "pong",
    ping_interval_s: float = 10.0,
    subscribe_interval_s: float = 0.01,
) -> tuple[Path, dict[str, str]]:
    """A config for ``sim``, and the environment holding its secrets."""
    env: dict[str, str] = {}
    tables = []
    for i in range(credentials):
        env[f"T_KEY_{i}"] = f"PSappkey{i}x{os.getpid()}ZZsecretish"
        env[f"T_SECRET_{i}"] = f"appsecret{i}-{os.getpid()}-QQQ"
        tables.append(
            f'[[kis.credentials]]\nname = "cred{i}"\n'
            f'app_key_env = "T_KEY_{i}"\napp_secret_env = "T_SECRET_{i}"\n'
        )
    config = tmp / "bondtape.toml"
    config.write_text(
        f'data_dir = "{tmp / "data"}"\n'
        f'[kis]\nws_url = "{sim.ws_url}"\napproval_url = "{sim.rest_url}/oauth2/Approval"\n'
        f'pong_mode = "{pong_mode}"\nping_interval_s = {ping_interval_s}\n'
        + "".join(tables)
        + f"[capture]\nisins = {json.dumps(list(isin_list))}\ntrs = {json.dumps(list(trs))}\n"
        f"subscribe_interval_s = {subscribe_interval_s}\nfsync_interval_s = 0.2\n"
    )
    return config, env


def record(config: Path, env: dict[str, str], **popen: Any) -> subprocess.Popen:
    return bondtape("-vv", "record", "--config", str(config), env=env, **popen)


def raw_records(data_dir: Path) -> list[RawRecord]:
    raw = data_dir / "raw"
    if not raw.exists():
        return []
    return [r for r in read_records(raw) if isinstance(r, RawRecord)]


def events(data_dir: Path, type_: str | None = None) -> list[dict[str, Any]]:
    found = [json.loads(r.payload) for r in raw_records(data_dir) if r.kind is RecordKind.EVENT]
    return [e for e in found if type_ is None or e.get("type") == type_]


def data_records(records: Sequence[RawRecord], conn: int) -> list[tuple[str, list[str]]]:
    """(tr_id, values) of every data record received on ``conn``, in order."""
    out = []
    for r in records:
        if r.kind is RecordKind.FRAME_RECV and r.conn_id == conn and r.payload[:2] == b"0|":
            frame = split_data_frame(r.payload.decode())
            out.extend((frame.tr_id, values) for values in split_records(frame))
    return out


def truth_by_conn(sim: Sim) -> dict[int, list[tuple[str, list[str]]]]:
    out: dict[int, list[tuple[str, list[str]]]] = {}
    for r in sim.truth_records():
        out.setdefault(r["conn"], []).append((r["tr_id"], r["values"]))
    return out


def sim_conn_of(truth: dict[int, list[tuple[str, list[str]]]], first: tuple[str, list[str]]) -> int:
    """The simulator connection whose first record is ``first`` (records carry timestamps)."""
    matches = [conn for conn, recs in truth.items() if recs and recs[0] == first]
    assert len(matches) == 1, f"{len(matches)} simulator connections start with {first}"
    return matches[0]


def recorder_options(
    data: Path, pairs: tuple[Pair, ...], ws_url: str, rest_url: str, **more: Any
) -> RecorderOptions:
    """In-process recorder options for one credential against ``ws_url`` and the REST server
    at ``rest_url``; ``more`` overrides any field (REST snapshots are off unless asked for)."""
    timing = {"pong_mode": "pong", "ping_interval_s": 10.0, "subscribe_interval_s": 0.01,
              "fsync_interval_s": 0.2, "stale_after_factor": 10.0, "stale_min_s": 60.0,
              "session_hours": (dt.time(0), dt.time(23, 59)), "metrics_address": "127.0.0.1",
              "metrics_port": 0, "rest_snapshots": False, "rest_rate_per_s": 10.0}  # fmt: skip
    return RecorderOptions(
        data_dir=data,
        recorder_id="rec1",
        ws_url=ws_url,
        approval_url=f"{rest_url}/oauth2/Approval",
        rest_url=rest_url,
        custtype="P",
        credentials=(AppCredential(name="c0", app_key="test-app-key", app_secret="test-secret"),),
        pairs=pairs,
        **{**timing, **more},
    )


@contextmanager
def recording(recorder: Recorder) -> Iterator[threading.Thread]:
    """Run ``recorder`` on a thread; stopped (and joined) on the way out."""
    thread = threading.Thread(target=recorder.run, name="recorder")
    thread.start()
    try:
        yield thread
    finally:
        recorder.stop()
        thread.join(30)
