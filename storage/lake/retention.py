"""Vacuum: replaced lake files are deleted only once they have been replaced for longer than
the retention (``[lake] retention_s``), as Iceberg, Delta Lake and DuckLake do, so that a
reader that opened the catalog before a compaction can still read every file it planned on.

A reader holding a catalog opened longer ago than the retention may find a file gone (DuckDB's
"Cannot open file"): reopening the catalog reads the lake as it is now. The vacuum runs under
the lake's one-writer lock, right after a writer's commit (storage/lake/manifest.py), so the
tombstones it works from are the current ones.
"""

from __future__ import annotations

from pathlib import Path

from capture.durable import fsync_dir
from capture.errors import StorageError
from storage.lake.manifest import Manifest, still_dropped, write_manifest

DEFAULT_RETENTION_S = 3600.0
"""An hour: longer than any one query, and than the 30 minutes between intraday compactions,
so a notebook's catalog outlives one compaction; the end of day's vacuum clears the rest."""


def vacuum(lake_root: Path, manifest: Manifest, now_ns: int, retention_s: float) -> int:
    """Delete the tombstones older than ``retention_s``, then record that in the manifest;
    the number of files deleted. A crash midway leaves files that are gone listed as
    tombstones (the next commit drops them) or tombstones not yet deleted (the next vacuum
    does): both harmless.

    Raises:
        StorageError: a file or the manifest cannot be removed or written.
    """
    limit = now_ns - int(retention_s * 1e9)
    due = sorted(rel for rel, since in manifest.tombstones.items() if since <= limit)
    dropped = still_dropped(lake_root, manifest.dropped)
    due_dropped = sorted(rel for rel, (_, since) in dropped.items() if since <= limit)
    if not due and not due_dropped and dropped == manifest.dropped:
        return 0
    try:
        for rel in due + due_dropped:
            delete(lake_root / rel)
        for folder in sorted({(lake_root / rel).parent for rel in due + due_dropped}):
            if folder.exists():
                fsync_dir(folder)
    except OSError as exc:
        raise StorageError(f"cannot delete the replaced file(s) in {lake_root}: {exc}") from exc
    for rel in due:
        del manifest.tombstones[rel]
    manifest.dropped = {rel: v for rel, v in dropped.items() if rel not in due_dropped}
    write_manifest(lake_root, manifest)
    return len(due) + len(due_dropped)


def delete(path: Path) -> None:
    """One replaced file goes (the crash tests stop a vacuum here)."""
    path.unlink(missing_ok=True)
