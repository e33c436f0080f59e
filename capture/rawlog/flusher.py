"""The raw writer's fsync thread, so an append never waits for the disk.

Appends reach the OS at once (a killed process loses nothing it appended) but reach the disk
only at fsync, which can take long on a slow disk; the sessions must not wait for it. So a
thread of its own fsyncs every ``interval_s``, through the writer's :meth:`fsync`, which holds
the appends' lock only to take a copy of the fd.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from capture.errors import DiskFull, RawLogError

log = logging.getLogger(__name__)


class Flusher:
    """The fsync thread: what is appended is on disk within about ``interval_s``.

    ``fsync`` is the writer's own (it never holds the lock appends take while the disk
    works). A full disk it reports is an episode the writer keeps (the next fsync tries
    again); on any other failure, ``on_failure`` is told and the thread ends: the disk can
    no longer be trusted with what follows.
    """

    def __init__(
        self,
        interval_s: float,
        fsync: Callable[[], None],
        on_failure: Callable[[RawLogError], None],
        name: str,
    ) -> None:
        self._interval_s = interval_s
        self._fsync = fsync
        self._on_failure = on_failure
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread after the fsync under way, if any."""
        self._closing.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._closing.wait(self._interval_s):
            try:
                self._fsync()
            except DiskFull:
                continue  # logged by the writer's episode
            except RawLogError as exc:
                log.error("%s; appends now fail until the recorder restarts", exc)
                self._on_failure(exc)
                return
