"""Disks that fill, for disk-full tests: a real small filesystem (a tmpfs mounted for the
test; root only, the test is skipped otherwise) and a file that fills it; and, for a disk
that says so only at fsync, ``os.fsync`` made to fail."""

from __future__ import annotations

import errno
import os
import stat
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


class FsyncDisk:
    """``os.fsync`` as a disk that reports a full disk (or an I/O error) only at the fsync of
    a file's data, as NFS, quotas and thin provisioning do: no filesystem here can, so the
    call is replaced. It counts the fsyncs of files that succeeded, so a test can wait for
    one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.failing: int | None = None  # the errno fsync fails with, None while it works
        self.succeeded = 0
        self._real = os.fsync
        monkeypatch.setattr(os, "fsync", self)

    def __call__(self, fd: int) -> None:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return self._real(fd)  # a directory's
        if self.failing is not None:
            raise OSError(self.failing, os.strerror(self.failing))
        self._real(fd)
        self.succeeded += 1
