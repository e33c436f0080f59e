"""Recorder throughput against its ceiling, and its memory over a long session.

    python -m benchmarks.bench_recorder [--seconds 10] [--isins 10] [--minutes 1]

Throughput: benchmarks.frame_source sends pre-encoded frames as fast as the socket takes them;
how fast is measured by reading the socket raw, to show it is not the bottleneck. The ceiling
is a bare websocket-client loop that only receives and discards (``skip_utf8_validation=True``,
as websocket-client is used by most clients); a loop that reads as the recorder does (whole
socket reads parsed at once, capture.recorder.wire) shows its own reading path bare; then
`bondtape record` runs against the same source, its RSS sampled. Loss and order are checked
byte for byte: the source's k-th frame is its pool's k mod pool size.

Memory: a `bondtape record` process at 2,000 frames/s for ``--minutes``; its RSS is sampled
every few seconds from /proc and printed as first / last / max.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websocket

from benchmarks.frame_source import pool_frames
from capture.kis.isin import check_digit
from capture.kis.protocol import (
    is_data_frame,
    subscription_request,
)
from capture.rawlog import RawRecord, RecordKind, read_records
from capture.recorder.approval import AppCredential, request_approval_key
from capture.recorder.wire import FrameReader

ROOT = Path(__file__).resolve().parents[1]
TR = "H0BJASP0"
POOL = 1024  # distinct frames the source cycles through


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


def start_source(tmp: Path) -> tuple[subprocess.Popen, str, str]:
    """benchmarks.frame_source as a process of its own: it must not share our GIL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.frame_source", "--pool", str(POOL)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.stdout is not None
    urls = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(2))
    return process, urls["ws"], urls["rest"] + "/oauth2/Approval"


def _subscribed(ws_url: str, approval_url: str, pairs: list[str], name: str) -> websocket.WebSocket:
    credential = AppCredential(name=name, app_key=f"bench-{name}", app_secret="s")
    key = request_approval_key(approval_url, credential)
    ws = websocket.create_connection(ws_url, skip_utf8_validation=True)
    for isin in pairs:
        ws.send(subscription_request(key, "P", TR, isin))
    return ws


def source_rate(ws_url: str, approval_url: str, pairs: list[str], seconds: float) -> float:
    """Frames/s the source puts on the socket: bytes read raw (no websocket parsing) over the
    mean size of a serialized frame. Shows the source is not what limits the loops below."""
    ws = _subscribed(ws_url, approval_url, pairs, "source")
    sock, received = ws.sock, 0
    assert sock is not None
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        received += len(sock.recv(1 << 20))
    rate = received / (time.perf_counter() - start)
    ws.close()
    frames = pool_frames(POOL)
    frame_bytes = sum(len(f) + (2 if len(f) < 126 else 4) for f in frames) / len(frames)
    return rate / frame_bytes


def ceiling(ws_url: str, approval_url: str, pairs: list[str], seconds: float) -> float:
    """Frames/s of a loop that receives with websocket-client and throws frames away."""
    ws = _subscribed(ws_url, approval_url, pairs, "ceiling")
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


def bulk_ceiling(ws_url: str, approval_url: str, pairs: list[str], seconds: float) -> float:
    """Frames/s of a loop that reads as the recorder does (capture.recorder.wire.FrameReader,
    whole socket reads) and throws the frames away: the recorder's own reading path, bare."""
    ws = _subscribed(ws_url, approval_url, pairs, "bulk")
    assert ws.sock is not None
    read, frames = FrameReader(ws.sock).read, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        frames += len(read())
    rate = frames / (time.perf_counter() - start)
    ws.close()
    return rate


def recorder_run(
    tmp: Path, ws_url: str, approval_url: str, pairs: list[str], seconds: float
) -> tuple[float, int, int, float]:
    """`bondtape record` against the source for ``seconds``: frames/s stored, frames stored,
    frames missing or out of order (frame k must be the pool's k mod its size), max RSS MB."""
    config = tmp / "bondtape.toml"
    config.write_text(
        f'data_dir = "{tmp / "data"}"\n[kis]\nws_url = "{ws_url}"\n'
        f'approval_url = "{approval_url}"\n[[kis.credentials]]\n'
        'app_key_env = "BENCH_KEY"\napp_secret_env = "BENCH_SECRET"\n'
        f'[capture]\nisins = {json.dumps(pairs)}\ntrs = ["{TR}"]\nsubscribe_interval_s = 0.01\n'
    )
    recorder = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "record", "--config", str(config)],
        cwd=ROOT, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BENCH_KEY": "k", "BENCH_SECRET": "s"},
    )  # fmt: skip
    peak = 0.0
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.5)  # the RSS sampling period, not synchronisation
            peak = max(peak, rss_mb(recorder.pid))
    finally:
        recorder.send_signal(signal.SIGTERM)
        recorder.wait(10)
    data = [
        r for r in read_records(tmp / "data" / "raw")
        if isinstance(r, RawRecord) and r.kind is RecordKind.FRAME_RECV
        and is_data_frame(r.payload)
    ]  # fmt: skip
    pool = pool_frames(POOL)
    wrong = sum(1 for k, r in enumerate(data) if r.payload != pool[k % POOL])
    rate = (len(data) - 1) / ((data[-1].recv_ns - data[0].recv_ns) / 1e9)
    return rate, len(data), wrong, peak


def throughput(seconds: float, n_isins: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        source, ws_url, approval_url = start_source(tmp)
        try:
            pairs = isins(n_isins)
            pushed = source_rate(ws_url, approval_url, pairs, seconds)
            top = ceiling(ws_url, approval_url, pairs, seconds)
            bulk = bulk_ceiling(ws_url, approval_url, pairs, seconds)
            rate, stored, wrong, peak = recorder_run(tmp, ws_url, approval_url, pairs, seconds)
        finally:
            source.send_signal(signal.SIGTERM)
            source.wait(10)
    print(f"source    pre-encoded frames read raw off the socket: {pushed:10,.0f} frames/s")
    print(
        f"ceiling   websocket-client recv_data loop:           {top:10,.0f} frames/s "
        f"(the source is {pushed / top:.1f}x faster: not the bottleneck)"
    )
    print(f"bulk      the recorder's own reader, bare:            {bulk:10,.0f} frames/s")
    print(f"recorder  bondtape record to raw, fsync 1 s:         {rate:10,.0f} frames/s "
          f"= {rate / top:.0%} of the ceiling (target >= 80 %), {rate / bulk:.0%} of its own "
          "reader bare")  # fmt: skip
    print(f"          {stored:,} frames stored, {wrong} missing or out of order; peak RSS "
          f"{peak:.0f} MB (target < 100 MB)")  # fmt: skip


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
