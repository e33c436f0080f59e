"""The JSON state files a running process keeps in data_dir, for ``bondtape status`` and humans.

``status.json`` is the recorder's (what it is doing), ``daemon.json`` the daemon's (its
children, jobs and end-of-day steps); both are written here and read here, so `status`, the
daemon's metrics and the demo read them without importing the processes that write them.

Replaced atomically about every second (temporary file, then ``os.replace``), so a reader
never sees half a file. A file is *live* when it is fresh and its pid is still running;
a killed process leaves a stale file behind, which is how ``status`` tells it is gone.
On a full disk, where the temporary file cannot be made, the file is rewritten in place (its
blocks are already allocated), so ``status`` still shows that the disk is full; a reader may
then rarely catch it half written, and reads it as absent until the next second.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

from capture.durable import replace_atomically

STATUS_NAME = "status.json"  # the recorder's
DAEMON_STATE_NAME = "daemon.json"  # the daemon's
STALE_AFTER_S = 5.0


def write_status(path: Path, status: dict[str, Any]) -> None:
    """Replace ``path`` with ``status`` as JSON, atomically.

    Raises:
        OSError: the directory is not writable, or the disk is full and there is no
            previous file to rewrite in place.
    """
    data = json.dumps(status, indent=1, sort_keys=True).encode()
    try:
        replace_atomically(path, lambda f: f.write(data))
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        with path.open("r+b") as f:  # overwrite allocated blocks, then drop the rest
            f.write(data)
            f.truncate()


def read_status(path: Path) -> dict[str, Any] | None:
    """The last status written, or ``None`` if there is none (or it is unreadable)."""
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def is_live(status: dict[str, Any], now_ns: int, *, stale_after_s: float = STALE_AFTER_S) -> bool:
    """True if the process that wrote ``status`` is running and writing it."""
    if status.get("state") == "stopped":
        return False
    age_s = (now_ns - int(status.get("updated_ns", 0))) / 1e9
    return age_s <= stale_after_s and _pid_alive(int(status.get("pid", 0)))


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
