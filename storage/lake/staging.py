"""Swapping a rebuilt lake (or one rebuilt date) into place, recoverably.

A rebuild writes into a staging root ``lake/rebuild/`` (same file system), then swaps each unit
(a table directory, or one ``TABLE/date=D`` partition) with two renames: the old one into
``rebuild/old/``, the new one into ``live/``; the unit's compacted files under ``hist/`` move
out too (until they do, they supersede the rebuilt files of the same ranges). The plan is
written to ``rebuild/COMPLETE`` first, so a crash mid-swap is finished by the next normalizer
run (every step checks whether it is already done); a staging root without that marker is an
abandoned rebuild and goes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from capture.durable import fsync_dir
from capture.errors import StorageError
from storage.lake.checkpoint import CHECKPOINT_NAME
from storage.lake.durable import write_bytes_durably

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
    """Mark the staged rebuild complete, then swap it in; ``hist_units`` are the compacted
    folders derived from what is rebuilt (the units' own, and their day indexes).

    Raises:
        StorageError: a rename fails (the next run retries the swap).
    """
    plan = {"units": units, "checkpoint": with_checkpoint, "hist_units": hist_units}
    write_bytes_durably(lake_dir / STAGING / MARKER, json.dumps(plan).encode())
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
        for unit in plan["units"]:
            new, live, old = (
                staging / "live" / unit,
                lake_dir / "live" / unit,
                staging / "old" / unit,
            )
            if new.exists():  # else swapped in by an earlier attempt
                if live.exists():
                    old.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(live, old)
                live.parent.mkdir(parents=True, exist_ok=True)
                os.rename(new, live)
                fsync_dir(live.parent)

        # The compacted tier of what was rebuilt goes too: it was derived from what the
        # rebuild replaced (an older schema, perhaps), and compaction makes it again.
        for unit in plan["hist_units"]:
            hist = lake_dir / "hist" / unit
            if hist.exists():
                gone = staging / "old-hist" / unit
                gone.parent.mkdir(parents=True, exist_ok=True)
                os.rename(hist, gone)
                fsync_dir(hist.parent)
        staged_checkpoint = staging / CHECKPOINT_NAME
        if plan["checkpoint"] and staged_checkpoint.exists():
            os.replace(staged_checkpoint, lake_dir / CHECKPOINT_NAME)
            fsync_dir(lake_dir)
    except OSError as exc:
        raise StorageError(f"cannot swap the rebuilt lake into {lake_dir}: {exc}") from exc
    shutil.rmtree(staging)
