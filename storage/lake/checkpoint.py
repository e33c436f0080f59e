"""The lake's checkpoint file read with the standard library alone (no Arrow, no DuckDB), so
`bondtape status` can say how far the lake is behind raw on a host that only records.

``checkpoint.json`` holds the raw :class:`~capture.rawlog.Position` the lake is complete up
to, the state carried to the next batch (storage/normalize/carried.py) and the schema
version; :meth:`storage.lake.Lake.write_checkpoint` writes it, durably, after every batch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from capture.errors import StorageError
from capture.rawlog import Position

CHECKPOINT_NAME = "checkpoint.json"


def read_checkpoint_file(path: Path) -> dict[str, Any] | None:
    """The checkpoint saved at ``path``, or None before the first batch.

    Raises:
        StorageError: the file exists but is not a checkpoint.
    """
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StorageError(f"unreadable checkpoint {path}: {exc}") from exc
    if not isinstance(saved, dict):
        raise StorageError(f"unreadable checkpoint {path}: not a JSON object")
    return saved


def checkpoint_position(lake_dir: Path) -> Position | None:
    """Where in raw the lake in ``lake_dir`` is complete up to; None before its first batch.

    Raises:
        StorageError: the checkpoint exists but is unreadable or its position malformed.
    """
    path = lake_dir / CHECKPOINT_NAME
    saved = read_checkpoint_file(path) or {}
    try:
        return position_from_json(saved.get("position"))
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageError(f"unreadable position in the checkpoint {path}: {exc!r}") from exc


def position_to_json(pos: Position | None) -> dict[str, Any] | None:
    return None if pos is None else {"segment": pos.segment, "offset": pos.offset}


def position_from_json(obj: dict[str, Any] | None) -> Position | None:
    """Raises: KeyError, TypeError, ValueError: not what :func:`position_to_json` wrote."""
    return None if obj is None else Position(str(obj["segment"]), int(obj["offset"]))
