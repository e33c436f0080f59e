from __future__ import annotations

import os
from pathlib import Path

from capture.status_files import is_live, read_status, write_status


def test_a_fresh_status_of_a_running_pid_is_live_and_a_stale_or_dead_one_is_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "status.json"
    write_status(path, {"pid": os.getpid(), "state": "running", "updated_ns": 10**18})
    status = read_status(path)
    assert status is not None and not list(tmp_path.glob(".*.tmp"))
    assert is_live(status, 10**18 + 10**9)
    assert not is_live(status, 10**18 + 60 * 10**9)
    assert not is_live({**status, "state": "stopped"}, 10**18)
    assert not is_live({**status, "pid": 2**22 + 12345}, 10**18)


def test_a_missing_or_broken_status_reads_as_none(tmp_path: Path) -> None:
    assert read_status(tmp_path / "status.json") is None
    (tmp_path / "status.json").write_text("{")
    assert read_status(tmp_path / "status.json") is None
