"""A real small filesystem for disk-full tests: a tmpfs mounted for the test (root only; the
test is skipped otherwise), and a file that fills it."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted_small_disk(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``mount``'s ``size=`` option) at ``mount`` for the block."""
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)])
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(path: Path) -> int:
    """Write ``path`` until the filesystem refuses; the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as f:
        try:
            while True:
                written += f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    # Whatever a page rounding left free goes too, byte by byte.
    with path.open("ab", buffering=0) as f:
        try:
            while True:
                written += f.write(b"\0" * 512)
        except OSError:
            pass
    return written
