"""The soak (`make soak`): a daemon's session of BONDTAPE_SOAK_S seconds (an hour by default)
at 2,000 frames/s with a drop a minute, sampling the resident memory of the daemon, the
recorder and each worker every few seconds; memory must stay flat and the day must balance.

Marked ``soak`` and left out of `make test` (pyproject's addopts deselect it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.reliability.daemon_day import PAIRS, daemon_day, reconcile, truth_lines
from tests.support.recorder import running, wait_until

SOAK_S = float(os.environ.get("BONDTAPE_SOAK_S", "3600"))
RATE = 2000.0  # frames/s in all; the simulator's rate is per subscription
SAMPLE_S = 5.0
GROWTH_LIMIT = 1.5  # last sample over the median of the second half's first samples


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@pytest.mark.soak
def test_a_long_session_under_the_daemon_keeps_memory_flat_and_balances(tmp_path: Path) -> None:
    samples: dict[str, list[float]] = {}
    with daemon_day(tmp_path, session_s=SOAK_S, rate=RATE / PAIRS, drop_every=60.0) as day:
        daemon = day.start_daemon()
        with running(daemon):
            end = time.monotonic() + SOAK_S
            while time.monotonic() < end:
                state = day.state()
                pids = {"daemon": daemon.pid, "recorder": state.get("recorder", {}).get("pid")}
                pids.update(state.get("running", {}))
                for name, pid in pids.items():
                    if isinstance(pid, int) and (mb := rss_mb(pid)) is not None:
                        samples.setdefault(name, []).append(mb)
                time.sleep(SAMPLE_S)  # the sampling period, not synchronisation
            wait_until(day.day_closed, 600, "the day's end of day")
            daemon.terminate()
            assert daemon.wait(30) == 0
        result = reconcile(truth_lines(day.sim), day.data / "catalog.duckdb")
    print(f"\nsoak: {SOAK_S:.0f} s at {RATE:.0f} frames/s asked; records sent {result.sent} "
          f"({result.sent / SOAK_S:.0f}/s), in the views {result.in_views}, "
          f"in gaps {result.in_gaps}")  # fmt: skip
    for name, mbs in sorted(samples.items()):
        print(f"soak RSS {name}: first {mbs[0]:.0f} MB, last {mbs[-1]:.0f} MB, "
              f"max {max(mbs):.0f} MB over {len(mbs)} samples")  # fmt: skip
    assert not result.unaccounted and not result.phantoms
    for name in ("daemon", "recorder"):
        mbs = samples[name]
        settled = sorted(mbs[len(mbs) // 4 : len(mbs) // 2] or mbs)
        assert mbs[-1] <= settled[len(settled) // 2] * GROWTH_LIMIT, (name, mbs)
