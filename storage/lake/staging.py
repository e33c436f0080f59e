"""Putting a rebuilt lake (or one rebuilt date) in place, recoverably, under readers.

A rebuild writes into a staging root ``lake/rebuild/`` (same file system). Its plan, written
to ``rebuild/COMPLETE`` first, names the units (a table directory, or one ``TABLE/date=D``
partition) and the files the rebuild takes out of the lake: the old live files of the units
it did not make again, and the units' compacted files under ``hist/`` (which would otherwise
supersede the rebuilt files of the same ranges). Those are recorded as dropped in the lake's
manifest (storage/lake/manifest.py), by inode, and stay on disk for the readers that planned
on them until the retention ends; then each rebuilt file is renamed over its path (a reader
opens either file, both holding the same raw range). No folder is moved, so no path a reader
planned on goes away. A crash mid-way is finished by the next normalizer run (each step is
idempotent); a staging root without the marker is an abandoned rebuild and goes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from capture.durable import fsync_dir
from capture.errors import StorageError
from storage.lake.checkpoint import CHECKPOINT_NAME
from storage.lake.durable import write_bytes_durably
from storage.lake.manifest import drop
from storage.lake.ranges import OPEN_GAPS_FILE

STAGING = "rebuild"
MARKER = "COMPLETE"


def prepare(lake_dir: Path, units: list[str]) -> Path:
    """A fresh staging root with an (empty) directory per unit, so every unit gets swapped."""
    staging = lake_dir / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    for unit in units:
        (staging / "live" / unit).mkdir(parents=True, exist_ok=True)
    return staging


def commit(
    lake_dir: Path, units: list[str], *, with_checkpoint: bool, hist_units: list[str]
) -> None:
    """Mark the staged rebuild complete, then put it in place; ``hist_units`` are the
    compacted folders derived from what is rebuilt (the units' own, and their day indexes).

    Raises:
        StorageError: a rename fails (the next run retries).
    """
    staging = lake_dir / STAGING
    drop = []
    for unit in units:
        rebuilt = {p.relative_to(staging / "live") for p in _files(staging / "live" / unit)}
        drop += [
            str(p.relative_to(lake_dir))
            for p in _files(lake_dir / "live" / unit)
            if p.relative_to(lake_dir / "live") not in rebuilt
        ]
    drop += [
        str(p.relative_to(lake_dir)) for u in hist_units for p in _files(lake_dir / "hist" / u)
    ]
    plan = {"units": units, "checkpoint": with_checkpoint, "hist_units": hist_units, "drop": drop}
    write_bytes_durably(staging / MARKER, json.dumps(plan).encode())
    finish(lake_dir)


def finish(lake_dir: Path) -> None:
    """Complete an interrupted swap, or discard an abandoned staging root.

    Raises:
        StorageError: a rename fails or the plan is unreadable.
    """
    staging = lake_dir / STAGING
    if not staging.exists():
        return
    try:
        plan = json.loads((staging / MARKER).read_text())
    except FileNotFoundError:
        shutil.rmtree(staging)
        return
    except (OSError, ValueError) as exc:
        raise StorageError(f"unreadable rebuild plan in {staging}: {exc}") from exc
    try:
        gone = [lake_dir / rel for rel in plan.get("drop", [])]
        drop(lake_dir, [p for p in gone if p.name != OPEN_GAPS_FILE], time.time_ns())
        for path in gone:  # the open gaps are read by glob, not from the manifest: now
            if path.name == OPEN_GAPS_FILE:
                path.unlink(missing_ok=True)
        for unit in plan["units"]:
            for new in _files(staging / "live" / unit):  # those left: the rest are in place
                live = lake_dir / "live" / new.relative_to(staging / "live")
                live.parent.mkdir(parents=True, exist_ok=True)
                os.replace(new, live)
                fsync_dir(live.parent)
        staged_checkpoint = staging / CHECKPOINT_NAME
        if plan["checkpoint"] and staged_checkpoint.exists():
            os.replace(staged_checkpoint, lake_dir / CHECKPOINT_NAME)
            fsync_dir(lake_dir)
    except OSError as exc:
        raise StorageError(f"cannot put the rebuilt lake in {lake_dir}: {exc}") from exc
    shutil.rmtree(staging)


def _files(folder: Path) -> list[Path]:
    """The Parquet files under ``folder``, at any depth (none if it is not there)."""
    return sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
