"""The lake's committed state: which files a reader reads, per table and date, and which ones
were replaced and since when (tombstones), in ``lake/manifest.json``.

Every writer (a normalize run, an intraday or daily compaction, a rebuild) holds the lake's
one-writer lock and, once its files are durable, commits: it lists the lake, applies the
superseded rule of storage/lake/ranges.py in each partition, and replaces the manifest
atomically (the catalog, storage/read/catalog.py, is then generated from it). A reader plans
on one committed file set and never lists the lake itself, so files appearing or being
superseded meanwhile change nothing it reads.

Replaced files are not deleted by the writer that replaces them: they become tombstones,
stamped with the time of the first commit that found them superseded, and a vacuum
(storage/lake/retention.py) deletes them once they are older than the retention, so a reader
that planned on them a moment earlier can still open them. Everything here is derived from
the files on disk: a lost or stale manifest costs nothing but fresh stamps (a later vacuum).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from capture.errors import StorageError
from storage.lake.durable import write_bytes_durably
from storage.lake.ranges import OPEN_GAPS_FILE, superseded

MANIFEST_NAME = "manifest.json"
TIERS = ("live", "hist")


@dataclass(slots=True)
class Manifest:
    """``files[table][date]``: the committed files (paths relative to the lake root) of
    ``date`` (``YYYY-MM-DD``) in both tiers; ``tombstones``: replaced files still on disk,
    each with the UTC ns it was first found replaced at; ``dropped``: files a rebuild took out
    of the lake without a file that supersedes them (what it did not make again, and the
    compacted tier it replaced), each ``[inode, UTC ns]``: left out of every scan while the
    file at that path is still that inode, deleted after the retention like a tombstone."""

    committed_ns: int
    files: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    tombstones: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, list[int]] = field(default_factory=dict)

    def dates(self) -> list[str]:
        """Every date any table has a committed file of, in order."""
        return sorted({day for days in self.files.values() for day in days})

    def to_json(self) -> bytes:
        body = {
            "version": 1,
            "committed_ns": self.committed_ns,
            "files": self.files,
            "tombstones": self.tombstones,
            "dropped": self.dropped,
        }
        return json.dumps(body, indent=0, sort_keys=True).encode()


def manifest_path(lake_root: Path) -> Path:
    return lake_root / MANIFEST_NAME


def read_manifest(lake_root: Path) -> Manifest | None:
    """The last committed manifest, or None before the first commit.

    Raises:
        StorageError: the file exists but is not a manifest.
    """
    path = manifest_path(lake_root)
    try:
        body = json.loads(path.read_bytes())
        return Manifest(
            int(body["committed_ns"]), body["files"], body["tombstones"], body.get("dropped", {})
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(
            f"unreadable lake manifest {path}: {exc}; delete it, and the next "
            "`bondtape catalog` derives it again from the lake's files"
        ) from exc


def write_manifest(lake_root: Path, manifest: Manifest) -> None:
    """Raises: StorageError: the file cannot be written."""
    write_bytes_durably(manifest_path(lake_root), manifest.to_json())


def scan(lake_root: Path, now_ns: int, previous: Manifest | None = None) -> Manifest:
    """The lake's committed state as its files say now: per partition (``TABLE/date=D`` or
    ``TABLE/date=D/isin=I``, both tiers together), the files named for a raw range that no
    other file's range contains; the others are tombstones, keeping the stamp ``previous``
    gave them (else ``now_ns``). A Parquet file named for no range is never superseded (one
    copied in by hand shows, and the report counts it); ``open.parquet``, which each batch
    rewrites, is read by glob instead (storage/read/catalog_sql.py). Live and hist names never
    clash (``part-`` and ``data-``)."""
    stamps = previous.tombstones if previous is not None else {}
    dropped = still_dropped(lake_root, previous.dropped if previous is not None else {})
    partitions: dict[tuple[str, str, str], dict[str, bool]] = {}
    for tier in TIERS:
        for table_dir in _folders(lake_root / tier):
            for date_dir in _folders(table_dir, "date="):
                for folder in [date_dir, *_folders(date_dir, "isin=")]:
                    rel = str(folder.relative_to(table_dir))
                    names = partitions.setdefault((table_dir.name, date_dir.name, rel), {})
                    kept = [
                        n
                        for n in _parquet_names(folder)
                        if f"{tier}/{table_dir.name}/{rel}/{n}" not in dropped
                    ]
                    names.update(dict.fromkeys(kept, tier == "hist"))
    found = Manifest(now_ns, dropped=dropped)
    for (table, date_folder, rel), names in sorted(partitions.items()):
        gone = superseded(names)
        paths = {n: f"{'hist' if hist else 'live'}/{table}/{rel}/{n}" for n, hist in names.items()}
        kept = sorted((paths[n] for n in names if n not in gone), key=_tier_first)
        if kept:
            day = date_folder.removeprefix("date=")
            found.files.setdefault(table, {}).setdefault(day, []).extend(kept)
        for name in gone:
            found.tombstones[paths[name]] = stamps.get(paths[name], now_ns)
    return found


def still_dropped(lake_root: Path, dropped: dict[str, list[int]]) -> dict[str, list[int]]:
    """The dropped files still at their paths as the same inode: a path where a writer has
    put a new file since (a compaction making the same range again) is the new file's."""
    kept = {}
    for rel, (inode, since) in dropped.items():
        try:
            if os.stat(lake_root / rel).st_ino == inode:
                kept[rel] = [inode, since]
        except FileNotFoundError:
            continue
    return kept


def drop(lake_root: Path, paths: list[Path], now_ns: int) -> None:
    """Take ``paths`` (files under ``lake_root``) out of the lake's committed state for good,
    keeping them on disk for the readers that planned on them: recorded in the manifest as
    dropped, by inode, before the caller puts anything in their place.

    Raises:
        StorageError: the manifest cannot be read or written.
    """
    manifest = read_manifest(lake_root) or Manifest(now_ns)
    for path in paths:
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            continue
        rel = str(path.relative_to(lake_root))
        since = manifest.dropped.get(rel, [inode, now_ns])[1]
        manifest.dropped[rel] = [inode, since]
    write_manifest(lake_root, manifest)


def _tier_first(rel: str) -> tuple[bool, str]:
    """Hist files before live ones, each in name (raw) order."""
    return (not rel.startswith("hist/"), rel)


def _folders(parent: Path, prefix: str = "") -> list[Path]:
    try:
        entries = sorted(os.scandir(parent), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    return [Path(e.path) for e in entries if e.name.startswith(prefix) and e.is_dir()]


def _parquet_names(folder: Path) -> list[str]:
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_file())
    except FileNotFoundError:
        return []
    return [n for n in names if n.endswith(".parquet") and n != OPEN_GAPS_FILE]
