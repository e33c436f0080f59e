"""Recorder throughput against its ceiling, and its memory over a long session.

    python -m benchmarks.bench_recorder [--seconds 10] [--isins 10] [--minutes 1]

Throughput: `bondtape simulate --rate 0` sends as fast as it can. The ceiling is a bare
websocket-client loop that only receives and discards (``skip_utf8_validation=True``, as the
recorder); then the recorder runs against the same simulator. Loss is checked against the
simulator's ``--truth`` file: what raw holds must be an unbroken prefix of what was sent.

Memory: a `bondtape record` process at 2,000 frames/s for ``--minutes``; its RSS is sampled
every few seconds from /proc and printed as first / last / max.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import websocket

from capture.kis.isin import check_digit
from capture.kis.protocol import (
    is_data_frame,
    split_data_frame,
    split_records,
    subscription_request,
)
from capture.rawlog import RawRecord, RecordKind, read_records
from capture.recorder.approval import AppCredential, request_approval_key
from capture.recorder.options import RecorderOptions
from capture.recorder.recorder import Recorder
from jobs.config import CaptureConfig, KisConfig

ROOT = Path(__file__).resolve().parents[1]
TR = "H0BJASP0"


def isins(n: int) -> list[str]:
    return [body + check_digit(body) for body in (f"KR1035{i:05d}" for i in range(n))]


def start_simulator(tmp: Path, *args: str) -> tuple[subprocess.Popen, str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "simulate", "--ws-port", "0", "--rest-port", "0",
         "--seed", "1", "--truth", str(tmp / "truth.jsonl"), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    urls: dict[str, str] = {}
    assert process.stdout is not None
    while len(urls) < 2:
        name, _, url = process.stdout.readline().strip().partition(": ")
        if process.poll() is not None:
            raise SystemExit("the simulator did not start")
        if name in ("ws", "rest"):
            urls[name] = url
    return process, urls["ws"], urls["rest"] + "/oauth2/Approval"


def ceiling(ws_url: str, approval_url: str, pairs: list[str], seconds: float) -> float:
    """Frames/s of a loop that receives with websocket-client and throws frames away."""
    credential = AppCredential(name="ceiling", app_key="bench-ceiling", app_secret="s")
    key = request_approval_key(approval_url, credential)
    ws = websocket.create_connection(ws_url, skip_utf8_validation=True)
    for isin in pairs:
        ws.send(subscription_request(key, "P", TR, isin))
    recv = ws.recv_data
    while not is_data_frame(recv(True)[1]):
        pass
    frames, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        recv(True)
        frames += 1
        if frames % 1024 == 0 and time.perf_counter() >= deadline:
            break
    rate = frames / (time.perf_counter() - start)
    ws.close()
    return rate


def recorder_run(
    tmp: Path, ws_url: str, approval_url: str, pairs: list[str], seconds: float
) -> tuple[float, int, int]:
    """Frames/s the recorder stored, data records stored, and records of them not in truth
    order (0 means an unbroken prefix of what the simulator sent: zero loss)."""
    kis, capture = KisConfig(), CaptureConfig()  # the config's defaults, but for the pause
    options = RecorderOptions(
        data_dir=tmp / "data", recorder_id="bench", ws_url=ws_url, approval_url=approval_url,
        custtype="P", credentials=(AppCredential(name="b", app_key="bench-rec", app_secret="s"),),
        pairs=tuple((TR, isin) for isin in pairs), pong_mode=kis.pong_mode,
        ping_interval_s=kis.ping_interval_s, subscribe_interval_s=0.0,
        fsync_interval_s=capture.fsync_interval_s, stale_after_factor=capture.stale_after_factor,
        stale_min_s=capture.stale_min_s, session_hours=(dt.time(0), dt.time(23, 59)),
        metrics_address="127.0.0.1", metrics_port=0,
    )  # fmt: skip
    recorder = Recorder(options, rng=random.Random(1))
    thread = threading.Thread(target=recorder.run)
    thread.start()
    time.sleep(seconds)
    recorder.stop("benchmark done")
    thread.join()
    data = [
        r
        for r in read_records(options.raw_dir)
        if isinstance(r, RawRecord) and r.kind is RecordKind.FRAME_RECV and is_data_frame(r.payload)
    ]
    rate = (len(data) - 1) / ((data[-1].recv_ns - data[0].recv_ns) / 1e9)
    received = []
    for r in data:
        frame = split_data_frame(r.payload.decode())
        received.extend((frame.tr_id, values) for values in split_records(frame))
    return rate, len(data), _holes(tmp / "truth.jsonl", received)


def _holes(truth_path: Path, received: list[tuple[str, list[str]]]) -> int:
    """How far ``received`` is from being a prefix of one simulator connection's records."""
    sent: dict[int, list[tuple[str, list[str]]]] = {}
    with truth_path.open() as lines:
        for line in lines:
            record = json.loads(line)
            if "values" in record:
                sent.setdefault(record["conn"], []).append((record["tr_id"], record["values"]))
    best = len(received)
    for records in sent.values():
        prefix = records[: len(received)]
        best = min(best, sum(1 for a, b in zip(prefix, received, strict=False) if a != b)
                   + len(received) - len(prefix))  # fmt: skip
    return best


def throughput(seconds: float, n_isins: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        sim, ws_url, approval_url = start_simulator(tmp, "--rate", "0")
        try:
            pairs = isins(n_isins)
            top = ceiling(ws_url, approval_url, pairs, seconds)
            rate, stored, holes = recorder_run(tmp, ws_url, approval_url, pairs, seconds)
        finally:
            sim.send_signal(signal.SIGTERM)
            sim.wait(10)
    print(f"ceiling   websocket-client recv_data loop: {top:10,.0f} frames/s")
    print(f"recorder  recorded to raw, fsync 1 s:       {rate:10,.0f} frames/s "
          f"({stored:,} frames, {holes} missing or out of order vs truth)")  # fmt: skip
    print(f"ratio     {rate / top:.1%} of the ceiling (target >= 80 %)")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def memory(minutes: float, n_isins: int) -> None:
    """RSS of a recorder process at 2,000 frames/s (rate is per subscription)."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        sim, ws_url, approval_url = start_simulator(tmp, "--rate", str(2000 / n_isins))
        config = tmp / "bondtape.toml"
        config.write_text(
            f'data_dir = "{tmp / "data"}"\n[kis]\nws_url = "{ws_url}"\n'
            f'approval_url = "{approval_url}"\n[[kis.credentials]]\n'
            'app_key_env = "BENCH_KEY"\napp_secret_env = "BENCH_SECRET"\n'
            f'[capture]\nisins = {json.dumps(isins(n_isins))}\ntrs = ["{TR}"]\n'
        )
        recorder = subprocess.Popen(
            [sys.executable, "-m", "jobs.cli", "record", "--config", str(config)],
            cwd=ROOT, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT), "BENCH_KEY": "k", "BENCH_SECRET": "s"},
        )  # fmt: skip
        samples: list[float] = []
        try:
            deadline = time.monotonic() + minutes * 60
            while time.monotonic() < deadline:
                time.sleep(5)
                samples.append(rss_mb(recorder.pid))
        finally:
            recorder.send_signal(signal.SIGTERM)
            recorder.wait(10)
            sim.send_signal(signal.SIGTERM)
            sim.wait(10)
        raw_bytes = sum(p.stat().st_size for p in (tmp / "data" / "raw").rglob("*.seg*"))
    print(
          f"memory    {minutes:g} min at 2,000 frames/s, {len(samples)} samples, "
          f"{raw_bytes / 1e6:,.0f} MB of raw: RSS first {samples[0]:.1f} MB, "
          f"last {samples[-1]:.1f} MB, max {max(samples):.1f} MB (target < 100 MB, flat)"
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput run length")
    parser.add_argument("--isins", type=int, default=10, help="registrations (one TR)")
    parser.add_argument("--minutes", type=float, default=1.0, help="memory run length")
    args = parser.parse_args(argv)
    throughput(args.seconds, args.isins)
    if args.minutes > 0:
        memory(args.minutes, args.isins)
    return 0


if __name__ == "__main__":
    sys.exit(main())
