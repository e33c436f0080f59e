"""Filesystem durability and atomic replacement, shared by the recorder and the lake."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable, not just the file contents."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs_durably(path: Path) -> None:
    """``mkdir -p`` whose new directories survive a power loss: each one created is made
    durable in its parent, so a file written below it cannot vanish with its folder."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)  # another writer thread may create it first
        fsync_dir(directory.parent)


def replace_atomically(
    path: Path, write: Callable[[BinaryIO], object], *, durable: bool = False
) -> None:
    """Give ``path`` new content all at once: ``write`` fills a temporary file that is then
    renamed over it, so a reader or a crash sees the old content or the new, never a mix.
    ``durable`` also fsyncs the file and the rename (the lake and its checkpoint); without
    it the OS writes back in its own time (status files rewritten every second).

    Raises:
        OSError: the file cannot be written (any temporary file is removed).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    finally:
        with contextlib.suppress(OSError):  # keep the error that got us here, if any
            tmp.unlink(missing_ok=True)
