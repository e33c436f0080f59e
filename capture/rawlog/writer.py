"""The crash-safe append-only raw log writer: the truth the whole lake is rebuilt from.

Every websocket frame the recorder receives is appended here with its receive time before
anything else happens to it. This module is the append path: framing records, handing them
to the OS, and what a full disk means for an append. Which segment they go to is
:mod:`capture.rawlog.segments`; the fsync thread, :mod:`capture.rawlog.flusher`.

Each record reaches the OS in one ``os.write`` on an unbuffered fd, so a killed process loses
nothing it appended; fsync (every ``fsync_interval_s``, at rotation and close) never holds the
lock the sessions append with, so a slow disk stalls no session. One writer per raw dir at a
time, enforced by a lock file.

A full disk (ENOSPC, EDQUOT) does not stop the writer: the record that did not fit is cut
back off the segment (no torn record stays), :class:`DiskFull` is raised for it and for every
append during the next ``DISK_FULL_RETRY_S`` without touching the disk, then the next append
tries again (:mod:`capture.rawlog.disk_full`, which also says what a full disk seen at fsync
means). The first record that fits ends the episode, and the EVENT records
``on_space_returned(since_ns, until_ns)`` gives (the recorder's gaps for the time lost) are
written right after it, in the same write, so no later record can precede them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from capture.clock import Clock
from capture.errors import DiskFull, RawLogError, RecorderLocked
from capture.filelock import hold_exclusive
from capture.rawlog.disk_full import DISK_FULL_ERRNOS, DiskFullWatch
from capture.rawlog.flusher import Flusher
from capture.rawlog.format import (
    MAX_PAYLOAD,
    Position,
    RecordKind,
    check_recorder_id,
    encode_record,
    record_head,
)
from capture.rawlog.segments import Segments

LOCK_NAME = ".lock"  # held while a writer is open, so repair never truncates a live tail
_PARTS_PER_WRITE = 1024  # IOV_MAX on Linux: buffers one writev takes


@contextmanager
def writers_held_off(raw_dir: Path) -> Iterator[bool]:
    """Hold the writers' lock on ``raw_dir`` for the block if no writer holds it; yields
    whether it does. While held, no writer can open (a recorder starting then is refused and
    retried by its supervisor), so a caller can seal segments no one will append to.
    """
    try:
        fd = hold_exclusive(raw_dir / LOCK_NAME, "a raw log writer is running")
    except RecorderLocked:
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)


def _no_state() -> list[tuple[int, bytes]]:
    return []


def _no_gap_events(since_ns: int, until_ns: int) -> list[tuple[int, bytes]]:
    return []


class RawLogWriter:
    """Appends records to hourly segments of one recorder under ``raw_dir``.

    ``state_records()`` gives (conn_id, payload) pairs written as STATE records at the start
    of every new segment, so each segment decodes on its own. It is called with the writer's
    lock held, so it must not call :meth:`append`; nor must ``on_space_returned(since_ns,
    until_ns)``, which gives (conn_id, payload) EVENT records for the time a full disk lost
    (see the module's docstring). ``fsync_interval_s`` None leaves fsync to
    explicit :meth:`fsync` calls (and rotation and close): no flusher thread.
    ``observe_write`` and ``observe_fsync``, when given, are called with the seconds each
    write (one record, or the records of one socket read) and each :meth:`fsync` took (the
    recorder's latency metrics).

    Raises:
        ValueError: a bad recorder id.
        RecorderLocked: another writer has this ``raw_dir`` open.
        RawLogError: a previous run's segments cannot be repaired or a segment not created.
    """

    def __init__(
        self,
        raw_dir: Path,
        recorder_id: str,
        *,
        clock: Clock,
        fsync_interval_s: float | None = 1.0,
        state_records: Callable[[], list[tuple[int, bytes]]] = _no_state,
        seal_in_background: bool = True,
        on_space_returned: Callable[[int, int], list[tuple[int, bytes]]] = _no_gap_events,
        observe_write: Callable[[float], None] | None = None,
        observe_fsync: Callable[[float], None] | None = None,
    ) -> None:
        self._raw_dir = raw_dir
        self._clock = clock
        self._on_space_returned = on_space_returned
        self._observe_write = observe_write
        self._observe_fsync = observe_fsync
        # Reentrant: _full_at_fsync takes it, called by the sealer's thread, or, when sealing
        # in the caller's thread, from inside a rotation that holds it already.
        self._lock = threading.RLock()
        self._segments = Segments(
            raw_dir,
            check_recorder_id(recorder_id),
            clock=clock,
            state_records=state_records,
            seal_in_background=seal_in_background,
            on_full_at_fsync=self._full_at_fsync,
        )
        self._last_fsync: float | None = None
        self._flush_failure: RawLogError | None = None
        self._last_ns: int | None = None  # recv_ns of the last record appended
        self._synced_ns = 0  # recv_ns up to which records are known on disk (set at resume)
        self._disk = DiskFullWatch(clock)
        self._flusher: Flusher | None = None
        raw_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = hold_exclusive(
            raw_dir / LOCK_NAME,
            f"{raw_dir} is being written by another raw log writer; stop it first",
        )
        try:
            with self._lock:
                try:
                    self._segments.resume()
                except OSError as exc:
                    raise self._refused(exc, None) from exc
                self._last_fsync = clock.monotonic()
                self._synced_ns = clock.now_ns()
        except BaseException:
            self.close()
            raise
        if fsync_interval_s is not None:
            self._flusher = Flusher(
                fsync_interval_s, self.fsync, self._flush_failed, f"fsync-{recorder_id}"
            )

    @property
    def current_segment(self) -> str | None:
        """Identity of the segment being written; None once closed."""
        return self._segments.current

    @property
    def bytes_written(self) -> int:
        """Bytes this writer handed to the OS, headers included, for status displays."""
        return self._segments.bytes_written

    @property
    def disk_full(self) -> DiskFull | None:
        """The error of the current disk-full episode; None while records are written."""
        return self._disk.full

    @property
    def records_dropped(self) -> int:
        """Records refused because the disk was full, since the writer opened."""
        return self._disk.dropped

    @property
    def last_fsync_monotonic(self) -> float | None:
        """``clock.monotonic()`` when the last completed fsync began, None before the first."""
        return self._last_fsync

    def append(
        self, kind: RecordKind, conn_id: int, payload: bytes, recv_ns: int | None = None
    ) -> Position:
        """Write one record; its Position (reading from there yields it first).

        ``recv_ns`` defaults to ``clock.now_ns()``; a later Seoul hour or date rotates first.
        Rotation only goes forward: a record from an earlier hour (a session that took its
        receive time just before another rotated, or a clock stepped back) stays in the
        current segment with its exact ``recv_ns``, because a reader past a checkpoint never
        returns to a segment that sorts before it.
        Thread-safe: the recorder calls this from one thread per websocket session.

        Raises:
            ValueError: a field out of range or a payload over 16 MiB.
            DiskFull: the disk is full; the record was not written (drop it, and expect
                ``on_space_returned`` to be asked for the interval lost once space returns).
            RawLogError: the writer is closed, the OS refused the write, or a background
                fsync failed (the disk can no longer be trusted with what follows).
        """
        with self._lock:
            self._check_writable(records=1)
            ns = self._clock.now_ns() if recv_ns is None else recv_ns
            record = encode_record(ns, conn_id, kind, payload)
            try:
                self._rotate_for(ns)
                position = Position(self._current(), self._segments.size)
                self._write(record, recv_ns=ns)
            except DiskFull:
                self._disk.dropped += 1
                raise
            self._written(ns)
            return position

    def append_received(self, conn_id: int, payloads: Sequence[bytes], recv_ns: int) -> None:
        """:meth:`append` of FRAME_RECV records that arrived together, for the recorder's
        receive loop: no Position is made, and the records go out in as few ``writev`` calls
        as the OS allows, each record whole, the payloads as received, never copied. The
        i-th is stamped ``recv_ns + i``: receive times stay distinct and in receipt order,
        as queries that order or join by ``recv_ns`` expect (a read of a thousand frames
        spans a microsecond). Those stamped past the Seoul hour (or day) go to the next
        segment, where that hour's (or day's) readers look.

        Raises:
            ValueError: a payload over 16 MiB (the heads' fields are the recorder's own).
            DiskFull, RawLogError: as :meth:`append` (on a full disk, the records not
                written are counted as dropped).
        """
        parts: list[bytes] = []
        for index, payload in enumerate(payloads):
            if len(payload) > MAX_PAYLOAD:
                raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
            head = record_head(recv_ns + index, conn_id, RecordKind.FRAME_RECV, payload)
            parts += (head, payload)
        if not parts:
            return
        with self._lock:
            self._check_writable(records=len(payloads))
            done = 0  # parts written
            try:
                while done < len(parts):
                    first_ns = recv_ns + done // 2
                    if first_ns >= self._segments.hour_end_ns:
                        self._rotate_for(first_ns)
                    # Up to the first record stamped past the open segment's hour, if any.
                    records = max(done // 2 + 1, self._segments.hour_end_ns - recv_ns)
                    end = min(len(parts), 2 * records)
                    while done < end:
                        chunk = parts[done : min(done + _PARTS_PER_WRITE, end)]
                        self._write(*chunk, recv_ns=first_ns)
                        done += len(chunk)
                    self._written(recv_ns + end // 2 - 1)
            except DiskFull:
                self._disk.dropped += (len(parts) - done) // 2
                raise

    def _check_writable(self, *, records: int) -> None:
        """Raises: RawLogError: closed, or a background fsync failed; DiskFull: a disk-full
        episode refuses appends now (the ``records`` are counted as dropped)."""
        if self._segments.current is None:
            raise RawLogError(f"raw log writer for {self._raw_dir} is closed")
        if self._flush_failure is not None:
            raise self._flush_failure
        self._disk.refuse(records)

    def _rotate_for(self, ns: int) -> None:
        """Rotate to a new segment if ``ns`` falls in a later Seoul hour (only forward).

        Raises:
            DiskFull, RawLogError: the new segment cannot be started (appends go on in the
                current one).
        """
        if self._segments.rotates_for(ns):
            try:
                self._segments.rotate(ns, durable_ns=self._synced_ns)
            except OSError as exc:
                raise self._refused(exc, ns) from exc

    def _written(self, last_ns: int) -> None:
        """Records up to ``last_ns`` fitted: a disk-full episode, if any, ends here (unless
        the disk said it was full at fsync after they passed :meth:`_check_writable`: until
        an fsync succeeds, a write that fits proves nothing)."""
        if self._disk.full is not None and not self._disk.held:
            self._end_disk_full(last_ns)
        self._last_ns = last_ns

    def fsync(self) -> None:
        """Force appended records to disk now, without holding up appends; a no-op once
        closed. A full disk reported here (NFS, quotas, thin provisioning report it only
        at fsync) is a disk-full episode from the last record known on disk: appends are
        refused until an fsync succeeds (the flusher keeps trying).

        Raises:
            DiskFull: ENOSPC or EDQUOT.
            RawLogError: the OS reports any other failed flush (the disk can no longer be
                trusted with what follows).
        """
        with self._lock:
            fd, segment = self._segments.dup_fd(), self._segments.current
            started, covered = self._clock.monotonic(), self._last_ns
        if fd is None:
            return
        began = time.perf_counter()
        try:
            os.fsync(fd)
        except OSError as exc:
            if exc.errno in DISK_FULL_ERRNOS:
                with self._lock:
                    raise self._disk.began(segment, self._synced_ns, exc, at_fsync=True) from exc
            raise RawLogError(f"cannot fsync raw segment {segment}: {exc}") from exc
        finally:
            os.close(fd)
        if self._observe_fsync is not None:
            self._observe_fsync(time.perf_counter() - began)
        with self._lock:
            self._last_fsync = started
            if covered is not None:
                self._synced_ns = covered
            self._disk.synced()

    def close(self) -> None:
        """Fsync and close the segment (it stays plain, to be continued or sealed on the next
        start), wait for background sealing, release the lock. Idempotent.

        Raises:
            RawLogError: the final fsync failed.
        """
        if self._flusher is not None:
            self._flusher.stop()
        try:
            with self._lock:
                self._segments.close()
        finally:
            self._segments.wait_sealed()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> RawLogWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _full_at_fsync(self, segment: str, durable_ns: int, exc: OSError) -> None:
        """The fsync of a rotated-out segment found the disk full: an episode from
        ``durable_ns``, the last record known on disk when it was closed."""
        with self._lock:
            self._disk.began(segment, durable_ns, exc, at_fsync=True)

    def _flush_failed(self, exc: RawLogError) -> None:
        """The flusher's fsync failed: every append from now on raises it."""
        self._flush_failure = exc

    def _current(self) -> str:
        current = self._segments.current
        assert current is not None, "called only while a segment is open"
        return current

    def _write(self, *parts: bytes, recv_ns: int | None = None) -> None:
        """Append ``parts`` to the open segment, all or (on a full disk) none of them.

        Raises:
            DiskFull: ENOSPC or EDQUOT; the segment ends where it did before the call.
            RawLogError: any other refusal (what was written stays, as a torn tail the next
                start truncates).
        """
        began = time.perf_counter() if self._observe_write is not None else 0.0
        try:
            self._segments.write(*parts)
        except OSError as exc:
            raise self._refused(exc, recv_ns) from exc
        if self._observe_write is not None:
            self._observe_write(time.perf_counter() - began)

    def _refused(self, exc: OSError, recv_ns: int | None) -> RawLogError:
        """What a refused write means: a disk-full episode (begun or going on, from the last
        record that fitted), or a plain failure."""
        if exc.errno in DISK_FULL_ERRNOS:
            since = self._last_ns if self._last_ns is not None else recv_ns
            since = self._clock.now_ns() if since is None else since
            return self._disk.began(self._segments.current, since, exc)
        return RawLogError(f"cannot append to raw segment {self._segments.current}: {exc}")

    def _end_disk_full(self, until_ns: int) -> None:
        """A record fitted: write the episode's gap events (all or none) and leave it; if
        they do not fit, the episode goes on from its first start."""
        full = self._disk.full
        assert full is not None
        gap_events = b"".join(
            encode_record(until_ns, conn_id, RecordKind.EVENT, payload)
            for conn_id, payload in self._on_space_returned(full.since_ns, until_ns)
        )
        try:
            self._write(gap_events, recv_ns=until_ns)
        except DiskFull:
            return  # the episode goes on
        self._disk.ended(self._segments.current, until_ns)
