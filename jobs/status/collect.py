"""What `bondtape status` reports, as one JSON-able dict, read from data_dir alone.

The recorder's ``status.json``, the daemon's ``daemon.json``, the disk, and how far the
normalizer's checkpoint is behind the raw log. Light on purpose: it runs from a shell while
the recorder records, so it imports neither DuckDB nor Arrow (the lake's checkpoint is read
by :func:`storage.lake.checkpoint_position`, which needs neither) and reads at most one raw
record.

Whether all is well (``ok``, the command's exit status): the recorder is live, or a live
daemon has it down because the recording window is over (the normal state overnight).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from capture.clock import NS_PER_S, seoul_date
from capture.errors import StorageError
from capture.rawlog import RawRecord, list_segments, read_records
from capture.status_files import DAEMON_STATE_NAME, STATUS_NAME, is_live, read_status
from storage.lake import checkpoint_position


def gather(data_dir: Path, now_ns: int) -> dict[str, Any]:
    """The whole report; the keys are documented in docs/operating.md ("status --json")."""
    recorder = read_status(data_dir / STATUS_NAME)
    daemon = read_status(data_dir / DAEMON_STATE_NAME)
    if recorder is not None:
        recorder["live"] = is_live(recorder, now_ns)
    if daemon is not None:
        daemon["live"] = is_live(daemon, now_ns)
    recorder_live = bool(recorder and recorder["live"])
    window_over = bool(daemon and daemon["live"] and not daemon.get("window", {}).get("recording"))
    return {
        "data_dir": str(data_dir),
        "generated_ns": now_ns,
        "ok": recorder_live or window_over,
        "daemon": daemon,
        "recorder": recorder,
        "gaps_today": _gaps_today(recorder, now_ns),
        "stale": recorder.get("stale", []) if recorder_live and recorder else [],
        "disk": disk_use(data_dir),
        "normalizer": normalizer_lag(data_dir, now_ns),
    }


def _gaps_today(recorder: dict[str, Any] | None, now_ns: int) -> dict[str, Any] | None:
    """The recorder's tally, if it wrote its status today (Seoul); zeros if earlier."""
    if recorder is None or "gaps_today" not in recorder:
        return None
    if seoul_date(int(recorder.get("updated_ns", 0))) != seoul_date(now_ns):
        return {"count": 0, "seconds": 0.0}
    return recorder["gaps_today"]


def disk_use(data_dir: Path) -> dict[str, int]:
    """Bytes under raw/ and lake/, and the free and total bytes of data_dir's filesystem."""
    usage = shutil.disk_usage(data_dir)
    return {
        "raw_bytes": _tree_bytes(data_dir / "raw"),
        "lake_bytes": _tree_bytes(data_dir / "lake"),
        "free_bytes": usage.free,
        "total_bytes": usage.total,
    }


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except OSError:  # sealed or compacted away while we walked
                continue
    return total


def normalizer_lag(data_dir: Path, now_ns: int) -> dict[str, Any]:
    """How far the lake's checkpoint is behind raw: ``behind_bytes`` of raw not normalized
    (sealed segments count at their compressed size), and ``behind_s``, the age of the first
    record not normalized (0 when none; None when that record sits in a sealed segment,
    which would have to be decompressed to find it)."""
    try:
        position = checkpoint_position(data_dir / "lake")
    except StorageError:  # unreadable: counted as nothing normalized yet, as before
        position = None
    raw = data_dir / "raw"
    segments = list_segments(raw) if raw.is_dir() else []
    behind = 0
    first_behind_plain = position is None
    for info in segments:
        if position is None or info.name > position.segment:
            behind += info.size_bytes
        elif info.name == position.segment and not info.sealed:
            behind += max(0, info.size_bytes - position.offset)
            first_behind_plain = True
    behind_s: float | None = 0.0
    if behind:
        behind_s = None
        if first_behind_plain or not any(s.name == position.segment for s in segments):
            first = next((r for r in read_records(raw, position) if isinstance(r, RawRecord)), None)
            behind_s = 0.0 if first is None else max(0.0, (now_ns - first.recv_ns) / NS_PER_S)
    return {
        "position": None
        if position is None
        else {"segment": position.segment, "offset": position.offset},
        "behind_bytes": behind,
        "behind_s": behind_s,
    }
