"""One owner per directory: an exclusive, non-blocking flock held until its fd is closed.

flock is released by the kernel when the process dies, so a killed recorder never leaves a
stale lock behind (unlike a pid file).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from capture.errors import BondtapeError, RecorderLocked


def hold_exclusive(path: Path, refusal: str, error: type[BondtapeError] = RecorderLocked) -> int:
    """Lock ``path`` (created if missing) and return the fd that holds it; close it to release.

    Raises:
        RecorderLocked: (or ``error``) another open file holds the lock; ``refusal`` is its
            message.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise error(refusal) from None
    return fd
