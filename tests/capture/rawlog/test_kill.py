"""A real recorder-like process killed with SIGKILL mid-stream loses nothing it appended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from capture.rawlog import RecordKind, read_records
from tests.support.rawlog import records
from tests.support.recorder import running

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from capture.clock import SystemClock
    from capture.rawlog import RawLogWriter, RecordKind

    writer = RawLogWriter(Path(sys.argv[1]), "child", clock=SystemClock(), fsync_interval_s=60)
    seq = 0
    while True:
        writer.append(RecordKind.FRAME_RECV, 7, b"seq=%d|" % seq + b"x" * (seq % 200))
        if seq == 200:
            print("ready", flush=True)
        seq += 1
    """
)


def test_a_process_killed_mid_append_leaves_an_unbroken_prefix(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, env=env
    )
    with running(child):
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"  # the child keeps appending meanwhile
        child.send_signal(signal.SIGKILL)
        child.wait()
    got = records(read_records(tmp_path))
    assert len(got) > 200
    assert all(r.kind is RecordKind.FRAME_RECV for r in got)
    assert [r.payload.split(b"|")[0] for r in got] == [b"seq=%d" % i for i in range(len(got))]
