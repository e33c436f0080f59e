"""Files that appear whole or not at all: temporary name, fsync, rename, fsync the folder.

Every file of the lake is written this way (design.md, "Raw is the truth": a crash leaves
the old file or the new one, never a mix), and its errors become :class:`StorageError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from capture.durable import fsync_dir, make_dirs_durably, replace_atomically
from capture.errors import StorageError


def write_bytes_durably(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never a mix.

    Raises:
        StorageError: the file cannot be written.
    """
    write_durably(path, lambda f: f.write(data))


def write_durably(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Temporary name, fsync, rename, fsync the folder (created durably if new).

    Raises:
        StorageError: the file cannot be written.
    """
    try:
        make_dirs_durably(path.parent)
        replace_atomically(path, write, durable=True)
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot write {path}: {exc}") from exc


def remove_durably(path: Path) -> None:
    """Raises: StorageError: the file exists and cannot be removed."""
    try:
        path.unlink(missing_ok=True)
        if path.parent.exists():
            fsync_dir(path.parent)
    except OSError as exc:
        raise StorageError(f"cannot remove {path}: {exc}") from exc
