"""A raw writer's disk-full episodes: when the disk filled, when to try again, what was
dropped meanwhile, said loudly but not a line per record. No I/O of its own: the writer does
the writing and asks this object what to do.

An episode begins at the first ENOSPC/EDQUOT, from the receive time of the last record that
fitted (so the gap covers everything lost). While it lasts, appends are refused without
touching the disk for ``DISK_FULL_RETRY_S``; then one append tries again. It ends when a
record fits and the episode's gap events have been written after it.

A disk can also say it is full only at fsync (NFS, quotas, thin provisioning): the records
written since the last fsync that succeeded may then never reach it, so the episode begins
from the last record known on disk, and appends are held off until an fsync succeeds (a
write that fits proves nothing there); then it ends as above.
"""

from __future__ import annotations

import errno
import logging

from capture.clock import Clock
from capture.errors import DiskFull

log = logging.getLogger(__name__)

DISK_FULL_RETRY_S = 1.0  # while the disk is full, appends are refused unread for this long
DISK_FULL_LOG_EVERY_S = 60.0  # how often "still full" is logged again
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFullWatch:
    """The current episode (``full``) and the records dropped over the writer's life."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.full: DiskFull | None = None
        self.dropped = 0
        self.held = False  # a full disk seen at fsync: no append until an fsync succeeds
        self._retry_at = 0.0  # clock.monotonic() of the next write attempt while full
        self._logged_at = 0.0

    def refuse(self, records: int) -> None:
        """Raises: DiskFull: the disk was full less than a retry period ago, or full at an
        fsync that no good one followed yet; the ``records`` are counted as dropped."""
        if self.full is not None and (self.held or self._clock.monotonic() < self._retry_at):
            self.dropped += records
            raise self.full

    def began(
        self, segment: str | None, since_ns: int, exc: OSError, *, at_fsync: bool = False
    ) -> DiskFull:
        """A write (or, ``at_fsync``, an fsync) failed for space: the episode (begun now, or
        going on, from the earlier start), logged loudly once and then once a minute at most.
        """
        now_s = self._clock.monotonic()
        self._retry_at = now_s + DISK_FULL_RETRY_S
        self.held = self.held or at_fsync
        if self.full is not None and since_ns < self.full.since_ns:
            self.full = DiskFull(segment, since_ns, exc.strerror or str(exc))
        if self.full is None:
            self.full = DiskFull(segment, since_ns, exc.strerror or str(exc))
            self._logged_at = now_s
            retry = "at every fsync" if at_fsync else f"every {DISK_FULL_RETRY_S:g} s"
            log.error(
                "%s; recording nothing (frames received are dropped and the time becomes a "
                "gap) until space returns, retrying %s",
                self.full, retry,
            )  # fmt: skip
        elif now_s - self._logged_at >= DISK_FULL_LOG_EVERY_S:
            self._logged_at = now_s
            log.error("%s; still full, %d record(s) dropped", self.full, self.dropped)
        return self.full

    def synced(self) -> None:
        """An fsync succeeded: appends held off by a full disk seen at fsync may try again."""
        self.held = False

    def ended(self, segment: str | None, until_ns: int) -> None:
        full = self.full
        assert full is not None
        self.full = None
        log.warning(
            "raw segment %s: disk space returned, recording again after %.1f s; "
            "%d record(s) dropped so far",
            segment, (until_ns - full.since_ns) / 1e9, self.dropped,
        )  # fmt: skip
