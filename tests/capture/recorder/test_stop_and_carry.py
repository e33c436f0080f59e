"""Gaps survive restarts and stops: a gap carried through a run that never reconnects stays
open for the run after it, and a stop writes its gaps before ``recorder_stop`` even while a
session is stuck in an approval request. In-process recorders on a test clock, real sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from capture.clock import ManualClock
from capture.rawlog import RawLogWriter, RecordKind, list_segments
from capture.recorder.previous_run import read_previous_run
from capture.recorder.recorder import STOP_JOIN_S, Recorder
from tests.support.rawlog import seoul_ns
from tests.support.recorder import events, isins, recorder_options, recording, simulator, wait_until


def event(**fields: object) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_gap_carried_through_a_run_that_never_reconnects_is_still_open_for_the_next_run(
    tmp_path: Path,
) -> None:
    data, pair = tmp_path / "data", ("H0BJASP0", isins(1)[0])
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 30, 0))
    dropped_at = clock.now_ns()
    with RawLogWriter(data / "raw", "rec1", clock=clock, seal_in_background=False) as w:
        w.append(RecordKind.EVENT, 0, event(type="recorder_start", conn=0, recorder_id="rec1",
                                            pid=1, previous_last_ns=None))  # fmt: skip
        w.append(RecordKind.EVENT, 4, event(type="sub_ack", conn=4, tr_id=pair[0],
                                            isin=pair[1], msg_cd="OPSP0000", msg1=""))  # fmt: skip
        w.append(RecordKind.EVENT, 4, event(type="disconnect", conn=4, reason="dropped"))
        w.append(RecordKind.EVENT, 4, event(type="gap_open", conn=4, tr_id=pair[0], isin=pair[1],
                                            start_ns=dropped_at, reason="dropped"))  # fmt: skip
        w.append(RecordKind.EVENT, 0, event(type="recorder_stop", conn=0, recorder_id="rec1",
                                            reason="SIGTERM"))  # fmt: skip

    # Run 2 starts in a later hour (a segment of its own) and never reaches the exchange.
    clock.set_ns(seoul_ns(2026, 11, 26, 11, 5, 0))
    nowhere = f"http://127.0.0.1:{closed_port()}"
    run2 = Recorder(recorder_options(data, (pair,), f"ws://127.0.0.1:{closed_port()}", nowhere),
                    clock=clock)  # fmt: skip
    with recording(run2):
        wait_until(lambda: len(events(data, "recorder_start")) == 2, 10, "run 2 to start")
    assert len(list_segments(data / "raw")) == 2

    # Run 3 reads only run 2's segment: the gap must still be open there.
    assert pair in read_previous_run(data / "raw", "rec1").gapped
    with simulator(tmp_path) as sim:
        run3 = Recorder(recorder_options(data, (pair,), sim.ws_url, sim.rest_url), clock=clock)
        with recording(run3):
            wait_until(lambda: events(data, "gap_close"), 20, "the gap to close")
    (close,) = events(data, "gap_close")
    assert (close["tr_id"], close["isin"]) == pair
    ack = events(data, "sub_ack")[-1]
    assert (ack["conn"], ack["tr_id"], ack["isin"]) == (close["conn"], *pair)


class _StallingApproval(ThreadingHTTPServer):
    """An approval endpoint that forwards to the simulator's, until ``stall`` is set: then a
    request gets no answer until ``release`` (as a KIS endpoint that stopped answering)."""

    daemon_threads = True

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.target = target
        self.stall, self.stalled, self.release = (threading.Event() for _ in range(3))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    server: _StallingApproval

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.stall.is_set():
            self.server.stalled.set()
            self.server.release.wait(30)
        request = urllib.request.Request(self.server.target + self.path, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            data = answer.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_stop_writes_its_gaps_before_recorder_stop_while_a_session_waits_on_approval(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first, second = (("H0BJASP0", isin) for isin in isins(2))
    clock = ManualClock(time.time_ns())
    with simulator(tmp_path) as sim:
        approval = _StallingApproval(sim.rest_url)
        serving = threading.Thread(target=approval.serve_forever, args=(0.05,), daemon=True)
        serving.start()
        recorder = Recorder(
            recorder_options(data, (first, second), sim.ws_url, approval.url,
                    subscribe_interval_s=1.0, ping_interval_s=1e6),
            clock=clock,
        )  # fmt: skip
        try:
            with recording(recorder) as thread:
                wait_until(lambda: events(data, "sub_ack"), 20, "the first ack")
                # The key is now old: the sender asks for a new one before the second
                # registration, and the approval endpoint does not answer.
                approval.stall.set()
                clock.advance(21 * 3600)
                assert approval.stalled.wait(10), "the sender did not ask for a new key"
                started = time.monotonic()
                recorder.stop()
                thread.join(STOP_JOIN_S + 3)
                assert not thread.is_alive(), "the recorder did not stop"
                assert time.monotonic() - started < STOP_JOIN_S + 3
        finally:
            approval.release.set()
            approval.shutdown()
            approval.server_close()
    kinds = [(e["type"], e.get("tr_id"), e.get("isin"), e.get("reason")) for e in events(data)]
    stop_at = kinds.index(("recorder_stop", None, None, "stopped"))
    assert ("gap_open", *first, "recorder stop") in kinds[:stop_at]
    assert stop_at == len(kinds) - 1, f"written after recorder_stop: {kinds[stop_at + 1 :]}"
