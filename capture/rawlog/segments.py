"""A raw writer's segment lifecycle: which segment is open for appending, and how that changes.

Kept apart from the append path (:mod:`capture.rawlog.writer`, which frames records and
handles a full disk) so that each reads as one concept. Here: a writer starting over a
previous run's files repairs them and resumes where :func:`~capture.rawlog.resume.plan_resume`
says; a record of a later Seoul hour (midnight included: a new date's directory) opens the next
segment; the closed one is fsynced and sealed off the hot path. Nothing here takes the
writer's lock: the writer calls in with it held (the sealer runs on its own thread, touches
only what it was handed, and tells the writer of a full disk at its fsync).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from capture.clock import Clock, seoul_hour_end_ns, seoul_hour_key
from capture.durable import fsync_dir
from capture.errors import CorruptRecord, RawLogError
from capture.rawlog import events
from capture.rawlog.disk_full import DISK_FULL_ERRNOS
from capture.rawlog.format import (
    FORMAT_VERSION,
    HEADER_MAX,
    RecordKind,
    decode_header,
    encode_header,
    encode_record,
)
from capture.rawlog.reader import parse_segment_path, scan_plain_segment, segment_identity
from capture.rawlog.resume import ExistingSegment, next_open_ns, plan_resume
from capture.rawlog.seal import SEALED_SUFFIX, TMP_SUFFIX, seal_segment, sealed_path

log = logging.getLogger(__name__)

WRITER_CONN_ID = 0  # conn_id of the EVENT records the writer itself appends


class Segments:
    """This recorder's segments under ``raw_dir``, and the one open for appending.

    ``state_records()`` gives the (conn_id, payload) STATE records every new segment starts
    with, so each segment decodes on its own. ``seal_in_background`` False seals a closed
    segment right away, in the caller's thread (tests that want to see it sealed). When the
    fsync of a rotated-out segment finds the disk full, ``on_full_at_fsync(segment,
    durable_ns, error)`` is told (from the sealer's thread), with the ``durable_ns`` its
    rotation was given.
    """

    def __init__(
        self,
        raw_dir: Path,
        recorder_id: str,
        *,
        clock: Clock,
        state_records: Callable[[], list[tuple[int, bytes]]],
        seal_in_background: bool,
        on_full_at_fsync: Callable[[str, int, OSError], None],
    ) -> None:
        self._raw_dir = raw_dir
        self._recorder_id = recorder_id
        self._clock = clock
        self._state_records = state_records
        self._on_full_at_fsync = on_full_at_fsync
        self._sealer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"seal-{recorder_id}")
            if seal_in_background
            else None
        )
        self._fd: int | None = None
        self._current: str | None = None
        self._hour: tuple[dt.date, int] | None = None
        self._hour_end_ns = 0  # the first ns past self._hour: no rotation test before it
        self._last_open_ns: int | None = None  # of this recorder's latest segment, on disk
        self._size = 0
        self.bytes_written = 0  # handed to the OS, headers included, for status displays

    @property
    def current(self) -> str | None:
        """Identity of the segment open for appending; None before resume and once closed."""
        return self._current

    @property
    def size(self) -> int:
        """Bytes in the open segment: where the next record goes."""
        return self._size

    @property
    def hour_end_ns(self) -> int:
        """The first ns past the open segment's Seoul hour: no record before it rotates."""
        return self._hour_end_ns

    def rotates_for(self, ns: int) -> bool:
        """Whether a record at ``ns`` belongs in a later segment (rotation only goes forward:
        a record from an earlier hour stays, because a reader past a checkpoint never returns
        to a segment that sorts before it)."""
        assert self._hour is not None, "set whenever a segment is open"
        return ns >= self._hour_end_ns and seoul_hour_key(ns) > self._hour

    def resume(self) -> None:
        """Repair this recorder's plain segments from a previous run, then resume as
        :func:`plan_resume` decides. Segments are sealed only once the one to write is
        chosen, so no background seal renames files while the latest name is looked up.

        Raises:
            RawLogError: a segment cannot be opened or fsynced.
            OSError: a write refused (the writer says what it means).
        """
        now_ns = self._clock.now_ns()
        rid = self._recorder_id
        for tmp in self._raw_dir.glob(f"*/*-{rid}.seg{SEALED_SUFFIX}{TMP_SUFFIX}"):
            log.warning("removing %s left by an interrupted seal", tmp)
            tmp.unlink()
        found: dict[str, ExistingSegment] = {}
        paths: dict[str, Path] = {}
        torn: list[events.TornTailTruncated] = []
        corrupt = 0
        for path in sorted(self._raw_dir.glob(f"*/*-{rid}.seg*")):
            parsed = parse_segment_path(self._raw_dir, path)
            if parsed is None or parsed[2] != rid:
                continue
            identity, open_ns, _ = parsed
            known = found.get(identity, ExistingSegment(identity, open_ns, False, False))
            if path.name.endswith(SEALED_SUFFIX):
                found[identity] = ExistingSegment(identity, open_ns, known.plain, True)
                continue
            damaged = False
            if not sealed_path(path).exists():
                regions, end = scan_plain_segment(path, identity)
                size = path.stat().st_size
                if end < size or end == 0:
                    torn.append(events.TornTailTruncated(segment=identity, offset=end,
                                                         bytes=size - end))  # fmt: skip
                    _truncate(path, end)
                corrupt += len(regions)
                damaged = bool(regions)
            if path.exists():
                paths[identity] = path
                found[identity] = ExistingSegment(
                    identity, open_ns, True, known.sealed, damaged,
                    outdated=_written_version(path, identity) != FORMAT_VERSION,
                )  # fmt: skip
        plan = plan_resume(list(found.values()), now_ns)
        self._last_open_ns = max((s.open_ns for s in found.values()), default=None)
        if plan.append_to is not None:
            self._continue(paths[plan.append_to], plan.append_to, found[plan.append_to].open_ns)
        else:
            assert plan.new_open_ns is not None, "a plan either appends or names a new segment"
            self._open_new(plan.new_open_ns)
        for identity in plan.seal:
            self._seal(paths[identity])
        for event in torn:
            self.write(
                encode_record(now_ns, WRITER_CONN_ID, RecordKind.EVENT, events.encode(event))
            )
        assert self._fd is not None
        _fsync(self._fd, self._current)
        if torn or corrupt:
            log.warning(
                "raw log %s, recorder %s: truncated %d torn tail(s) (%d bytes); "
                "%d corrupt region(s) left in place for verify",
                self._raw_dir, rid, len(torn), sum(e.bytes for e in torn), corrupt,
            )  # fmt: skip

    def rotate(self, open_ns: int, *, durable_ns: int) -> None:
        """Start the next segment; the closed one is fsynced and sealed off the hot path. If
        the new one cannot be started, appends go on where they were. ``durable_ns``: the
        receive time up to which the closed one is known on disk already.

        Raises:
            RawLogError: the new segment cannot be opened.
            OSError: its header was refused.
        """
        assert self._fd is not None and self._current is not None
        old = self._fd, self._current, self._hour, self._hour_end_ns, self._size
        try:
            self._open_new(open_ns)
        except BaseException:
            self._fd, self._current, self._hour, self._hour_end_ns, self._size = old
            raise
        self._close_in_background(old[0], old[1], durable_ns)

    def write(self, *parts: bytes) -> None:
        """Append ``parts`` to the open segment in one ``writev`` (a short write, rare, is
        finished by ``write``).

        Raises:
            OSError: refused. On a full disk (ENOSPC, EDQUOT) what part was written is cut
                back off first, so the segment ends where it did; any other refusal leaves
                it, a torn tail the next start truncates.
        """
        assert self._fd is not None, "called only while a segment is open"
        total, written = sum(map(len, parts)), 0
        try:
            written = os.writev(self._fd, parts)
            if written < total:
                view = memoryview(b"".join(parts))[written:]
                while view:
                    n = os.write(self._fd, view)
                    written, view = written + n, view[n:]
        except OSError as exc:
            if exc.errno in DISK_FULL_ERRNOS:
                os.ftruncate(self._fd, self._size)  # freeing blocks needs no space
            else:
                self._size += written
                self.bytes_written += written
            raise
        self._size += total
        self.bytes_written += total

    def dup_fd(self) -> int | None:
        """A duplicate of the open segment's fd, for an fsync that must not hold the writer's
        lock (the caller closes it); None once closed."""
        return None if self._fd is None else os.dup(self._fd)

    def close(self) -> None:
        """Fsync and close the open segment (it stays plain, to be continued or sealed on
        the next start). Idempotent.

        Raises:
            RawLogError: the final fsync failed.
        """
        if self._fd is not None:
            try:
                _fsync(self._fd, self._current)
            finally:
                os.close(self._fd)
                self._fd = None
                self._current = None

    def wait_sealed(self) -> None:
        """Wait for background sealing to finish (without the writer's lock: a seal that
        finds the disk full reports it under that lock)."""
        if self._sealer is not None:
            self._sealer.shutdown(wait=True)

    def _continue(self, path: Path, identity: str, open_ns: int) -> None:
        self._fd = _open_fd(path, os.O_WRONLY | os.O_APPEND)
        self._current = identity
        self._hour, self._hour_end_ns = seoul_hour_key(open_ns), seoul_hour_end_ns(open_ns)
        self._size = os.fstat(self._fd).st_size
        log.info("continuing raw segment %s at offset %d", identity, self._size)

    def _open_new(self, candidate_ns: int) -> None:
        """Create a segment named by :func:`next_open_ns` and write its header and STATE
        records. If that fails, nothing of it stays (its fd closed, the file and a directory
        made for it removed): a full disk retried every second must not leave a file (an
        empty segment reads as corrupt and hides the run's tail from the next start) or an
        fd (the fd limit would stop the recorder) per attempt.

        Raises:
            RawLogError: the file cannot be created.
            OSError: the directory, the header or the fsync was refused.
        """
        open_ns = next_open_ns(candidate_ns, self._last_open_ns)
        identity = segment_identity(open_ns, self._recorder_id)
        path = self._raw_dir / identity
        first = encode_header(self._recorder_id, open_ns) + b"".join(
            encode_record(open_ns, conn_id, RecordKind.STATE, payload)
            for conn_id, payload in self._state_records()
        )
        made_dir = not path.parent.exists()
        if made_dir:
            path.parent.mkdir()
        try:
            if made_dir:
                fsync_dir(self._raw_dir)
            fd = _open_fd(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL)
        except BaseException:
            _remove_dir(path.parent, made_dir)
            raise
        self._fd, self._current, self._size = fd, identity, 0
        try:
            self.write(first)
            fsync_dir(path.parent)
        except BaseException:
            self._fd = self._current = None
            os.close(fd)
            path.unlink(missing_ok=True)
            _remove_dir(path.parent, made_dir)
            raise
        self._hour, self._hour_end_ns = seoul_hour_key(open_ns), seoul_hour_end_ns(open_ns)
        self._last_open_ns = open_ns
        log.info("opened raw segment %s", identity)

    def _close_in_background(self, fd: int, segment: str, durable_ns: int) -> None:
        if self._sealer is None:
            self._close_and_seal(fd, segment, durable_ns)
        else:
            future = self._sealer.submit(self._close_and_seal, fd, segment, durable_ns)
            future.add_done_callback(_log_crash)

    def _close_and_seal(self, fd: int, segment: str, durable_ns: int) -> None:
        """Make a rotated-out segment durable, close it, then seal it. A failed fsync keeps
        the plain file unsealed (the next writer start repairs and seals it); a full disk
        there is also the writer's disk-full episode, since what it held past
        ``durable_ns`` may not be on disk."""
        try:
            os.fsync(fd)
        except OSError as exc:
            log.error("cannot fsync raw segment %s: %s; not sealing it", segment, exc)
            if exc.errno in DISK_FULL_ERRNOS:
                self._on_full_at_fsync(segment, durable_ns, exc)
            return
        finally:
            os.close(fd)
        _seal_logged(self._raw_dir / segment)

    def _seal(self, path: Path) -> None:
        """Seal a closed segment: in the background thread, or right here if so configured."""
        if self._sealer is None:
            _seal_logged(path)
        else:
            self._sealer.submit(_seal_logged, path).add_done_callback(_log_crash)


def _fsync(fd: int, segment: str | None) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        raise RawLogError(f"cannot fsync raw segment {segment}: {exc}") from exc


def _open_fd(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise RawLogError(f"cannot open raw segment {path}: {exc}") from exc


def _written_version(path: Path, identity: str) -> int | None:
    """The format version a plain segment's header names; None if it has no readable header.

    Raises:
        OSError: the file cannot be read.
    """
    with path.open("rb") as f:
        head = f.read(HEADER_MAX)
    try:
        header = decode_header(head, identity)
    except CorruptRecord:
        return None
    return None if header is None else header.version


def _remove_dir(path: Path, made: bool) -> None:
    """Remove the date directory a failed segment start ``made`` (it holds nothing)."""
    if made:
        with contextlib.suppress(OSError):
            path.rmdir()


def _truncate(path: Path, end: int) -> None:
    """Cut a torn tail; a segment without a whole header holds no record and goes entirely."""
    if end == 0:
        path.unlink()
    else:
        with path.open("r+b") as f:
            f.truncate(end)
            os.fsync(f.fileno())
    fsync_dir(path.parent)


def _seal_logged(path: Path) -> None:
    """A failed seal keeps the plain file, which the next writer start seals again."""
    try:
        seal_segment(path)
    except RawLogError as exc:
        log.error("sealing %s failed, plain segment kept: %s", path, exc)


def _log_crash(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("background sealing crashed", exc_info=exc)
