"""Replay speed and pacing, over a generated day.

    python -m benchmarks.bench_replay [--frames 500000] [--pacing-frames 3000]

A day of ``--frames`` data frames at a busy 200 frames/s (Poisson spacing, 10 ISINs, books and
trades) is written to raw through the real writer. ``bondtape replay --speed max`` then
serves it, once to a bare websocket-client loop that only receives (the ceiling: what one
client can take here), and once to the bondtape recorder, whose raw must hold every frame,
byte for byte and in order. Speed is frames/s and a multiple of the day's real time; the
target is 20,000 frames/s (100x a busy day). Pacing: a shorter day replayed at ``--speed 10``
to a bare client; the error of each frame's spacing against the recorded spacing / 10, beside
the error of plain ``time.sleep`` hitting the same schedule (the best a sleeper does here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import websocket

from benchmarks.query_day import frame_pools, isins, seoul_ns
from capture.clock import NS_PER_S, ManualClock
from capture.kis.protocol import is_data_frame, subscription_request
from capture.rawlog import RawLogWriter, RawRecord, RecordKind, read_records
from capture.recorder.approval import AppCredential, request_approval_key
from capture.recorder.options import RecorderOptions
from capture.recorder.recorder import Recorder

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 11, 26)
TRS = ("H0BJASP0", "H0BJCNT0")
BUSY_DAY_FPS = 200.0
N_ISINS = 10


def write_day(raw_dir: Path, frames: int, seed: int = 3) -> list[bytes]:
    """``frames`` frames from 09:00 Seoul at a Poisson 200 frames/s; the frames, in order."""
    rng = random.Random(seed)
    codes = isins(N_ISINS)
    pools = frame_pools(codes)
    now = seoul_ns(DAY, dt.time(9, 0))
    writer = RawLogWriter(raw_dir, "bench", clock=ManualClock(now), fsync_interval_s=None)
    written = []
    for i in range(frames):
        tr = TRS[0] if rng.random() < 0.8 else TRS[1]
        frame = pools[tr][i % N_ISINS][(i // N_ISINS) % len(pools[tr][0])]
        now += int(rng.expovariate(BUSY_DAY_FPS) * NS_PER_S) + 1
        writer.append(RecordKind.FRAME_RECV, 1, frame, now)
        written.append(frame)
    writer.close()
    return written


@contextmanager
def replay(data_dir: Path, *options: str) -> Iterator[tuple[str, str, int]]:
    """A `bondtape replay` process of the day; its websocket and approval URLs, and pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "replay", "--data-dir", str(data_dir),
         "--date", DAY.isoformat(), "--settle", "0.2", *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        urls = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(2))
        yield urls["ws"], urls["rest"] + "/oauth2/Approval", process.pid
    finally:
        process.terminate()
        process.wait(10)


def receive(ws_url: str, approval_url: str, frames: int) -> list[float]:
    """A bare client: subscribe to every pair, take ``frames`` data frames; their arrivals."""
    credential = AppCredential(name="bench", app_key=f"bench-{time.monotonic_ns()}", app_secret="s")
    key = request_approval_key(approval_url, credential)
    ws = websocket.create_connection(ws_url, skip_utf8_validation=True)
    for tr in TRS:
        for isin in isins(N_ISINS):
            ws.send(subscription_request(key, "P", tr, isin))
    recv, clock, arrivals = ws.recv_data, time.perf_counter, []
    while len(arrivals) < frames:
        if is_data_frame(recv(True)[1]):
            arrivals.append(clock())
    ws.close()
    return arrivals


def record(tmp: Path, ws_url: str, approval_url: str, frames: int) -> list[RawRecord]:
    """The bondtape recorder (in a thread) until raw holds ``frames`` data frames; those."""
    options = RecorderOptions(
        data_dir=tmp / "recorded", recorder_id="bench", ws_url=ws_url, approval_url=approval_url,
        rest_url=approval_url.rsplit("/oauth2/", 1)[0], rest_snapshots=False, rest_rate_per_s=10.0,
        custtype="P", credentials=(AppCredential(name="b", app_key="bench-rec", app_secret="s"),),
        pairs=tuple((tr, isin) for tr in TRS for isin in isins(N_ISINS)), pong_mode="pong",
        ping_interval_s=10.0, subscribe_interval_s=0.0, fsync_interval_s=1.0,
        stale_after_factor=10.0, stale_min_s=60.0, session_hours=(dt.time(0), dt.time(23, 59)),
        metrics_address="127.0.0.1", metrics_port=0,
    )  # fmt: skip
    recorder = Recorder(options, rng=random.Random(1))
    thread = threading.Thread(target=recorder.run)
    thread.start()
    data: list[RawRecord] = []
    try:
        while len(data) < frames:
            time.sleep(2.0)  # a look at raw every 2 s: each look reads all of it
            data = [
                r for r in read_records(options.raw_dir)
                if isinstance(r, RawRecord) and r.kind is RecordKind.FRAME_RECV
                and is_data_frame(r.payload)
            ]  # fmt: skip
    finally:
        recorder.stop("benchmark done")
        thread.join()
    return data


def pacing_errors_ms(arrivals: list[float], recorded_ns: list[int], speed: float) -> list[float]:
    """|actual - intended| spacing of consecutive frames, in ms, sorted."""
    return sorted(
        abs((arrivals[i] - arrivals[i - 1]) - (recorded_ns[i] - recorded_ns[i - 1]) / 1e9 / speed)
        * 1e3
        for i in range(1, len(arrivals))
    )


def sleep_baseline(recorded_ns: list[int], speed: float) -> list[float]:
    """The same schedule hit by sleeping until each instant: the timer's own error here."""
    start, arrivals = time.perf_counter(), []
    for ns in recorded_ns:
        delay = start + (ns - recorded_ns[0]) / 1e9 / speed - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        arrivals.append(time.perf_counter())
    return pacing_errors_ms(arrivals, recorded_ns, speed)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def p(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=500_000, help="frames in the day")
    parser.add_argument("--pacing-frames", type=int, default=3_000, help="frames at speed 10")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        written = write_day(tmp / "day" / "raw", args.frames)
        span_s = args.frames / BUSY_DAY_FPS
        with replay(tmp / "day", "--speed", "max") as (ws_url, approval_url, pid):
            arrivals = receive(ws_url, approval_url, args.frames)
            ceiling = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
            data = record(tmp, ws_url, approval_url, args.frames)
            peak_mb = peak_rss_mb(pid)
        rate = (len(data) - 1) / ((data[-1].recv_ns - data[0].recv_ns) / 1e9)
        wrong = sum(1 for r, w in zip(data, written, strict=False) if r.payload != w)
        wrong += abs(len(data) - len(written))
        print(f"replay    {args.frames:,} frames, a day of {span_s / 60:.0f} min at "
              f"{BUSY_DAY_FPS:.0f} frames/s, --speed max")  # fmt: skip
        print(f"ceiling   a bare websocket-client loop: {ceiling:10,.0f} frames/s")
        print(
            f"recorder  bondtape record, to raw:      {rate:10,.0f} frames/s = "
            f"{rate / BUSY_DAY_FPS:,.0f}x real time, {rate / ceiling:.0%} of the ceiling "
            f"(target >= 20,000 frames/s)"
        )
        print(f"          {wrong} frames missing, changed or out of order; replay process peak "
              f"RSS {peak_mb:.0f} MB after two passes over the day")  # fmt: skip

        small = tmp / "small"
        written = write_day(small / "raw", args.pacing_frames, seed=5)
        recorded_ns = [
            r.recv_ns for r in read_records(small / "raw")
            if isinstance(r, RawRecord) and r.kind is RecordKind.FRAME_RECV
        ]  # fmt: skip
        with replay(small, "--speed", "10") as (ws_url, approval_url, _):
            errors = pacing_errors_ms(receive(ws_url, approval_url, len(written)), recorded_ns, 10)
        baseline = sleep_baseline(recorded_ns, 10)
        print(f"pacing    --speed 10, {len(written):,} frames, |actual - intended spacing|: "
              f"p50 {p(errors, 0.5):.2f} ms, p99 {p(errors, 0.99):.2f} ms, max {errors[-1]:.1f} ms "
              f"(target p99 < 5 ms); time.sleep alone: p99 {p(baseline, 0.99):.2f} ms, "
              f"mean {statistics.fmean(baseline):.2f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
