"""The crash-safe append-only raw log writer: the truth the whole lake is rebuilt from.

Every websocket frame the recorder receives is appended here with its receive time before
anything else happens to it. Durability: each record reaches the OS in one ``os.write`` on an
unbuffered fd, so a killed process loses nothing it appended. ``os.fsync`` runs on a flusher
thread every ``fsync_interval_s`` (and at rotation and close), never under the lock the
sessions append with, so a slow disk stalls no session. A writer starting over a previous
run's files truncates only a torn last record and says so in an EVENT record; where it resumes
is decided by :func:`capture.rawlog.resume.plan_resume`. One writer per raw dir at a time,
enforced by a lock file.

A full disk (ENOSPC, EDQUOT) does not stop the writer: the record that did not fit is cut
back off the segment (no torn record stays), :class:`DiskFull` is raised for it and for every
append during the next ``DISK_FULL_RETRY_S`` without touching the disk, then the next append
tries again (:mod:`capture.rawlog.disk_full`). The first record that fits ends the episode,
and the EVENT records
``on_space_returned(since_ns, until_ns)`` gives (the recorder's gaps for the time lost) are
written right after it, in the same write, so no later record can precede them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from capture.clock import Clock, seoul_hour_end_ns, seoul_hour_key
from capture.durable import fsync_dir
from capture.errors import DiskFull, RawLogError, RecorderLocked
from capture.filelock import hold_exclusive
from capture.rawlog import events
from capture.rawlog.disk_full import DISK_FULL_ERRNOS, DiskFullWatch
from capture.rawlog.format import (
    MAX_PAYLOAD,
    Position,
    RecordKind,
    check_recorder_id,
    encode_header,
    encode_record,
    record_head,
)
from capture.rawlog.reader import parse_segment_path, scan_plain_segment, segment_identity
from capture.rawlog.resume import ExistingSegment, next_open_ns, plan_resume
from capture.rawlog.seal import SEALED_SUFFIX, TMP_SUFFIX, seal_segment, sealed_path

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"  # held while a writer is open, so repair never truncates a live tail
WRITER_CONN_ID = 0  # conn_id of the EVENT records the writer itself appends
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
        self._recorder_id = check_recorder_id(recorder_id)
        self._clock = clock
        self._state_records = state_records
        self._on_space_returned = on_space_returned
        self._observe_write = observe_write
        self._observe_fsync = observe_fsync
        self._lock = threading.Lock()
        self._sealer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"seal-{recorder_id}")
            if seal_in_background
            else None
        )
        self._fd: int | None = None
        self._segment: str | None = None
        self._hour: tuple[dt.date, int] | None = None
        self._hour_end_ns = 0  # the first ns past self._hour: no rotation test before it
        self._last_open_ns: int | None = None  # of this recorder's latest segment, on disk
        self._size = 0
        self._bytes_written = 0
        self._last_fsync: float | None = None
        self._flush_failure: RawLogError | None = None
        self._last_ns: int | None = None  # recv_ns of the last record appended
        self._disk = DiskFullWatch(clock)
        self._closing = threading.Event()
        self._flusher: threading.Thread | None = None
        raw_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = hold_exclusive(
            raw_dir / LOCK_NAME,
            f"{raw_dir} is being written by another raw log writer; stop it first",
        )
        try:
            with self._lock:
                self._resume()
        except BaseException:
            self.close()
            raise
        if fsync_interval_s is not None:
            self._flusher = threading.Thread(
                target=self._flush_every,
                args=(fsync_interval_s,),
                name=f"fsync-{recorder_id}",
                daemon=True,
            )
            self._flusher.start()

    @property
    def current_segment(self) -> str | None:
        """Identity of the segment being written; None once closed."""
        return self._segment

    @property
    def bytes_written(self) -> int:
        """Bytes this writer handed to the OS, headers included, for status displays."""
        return self._bytes_written

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
                :meth:`take_space_returned` to give the interval lost once space returns).
            RawLogError: the writer is closed, the OS refused the write, or a background
                fsync failed (the disk can no longer be trusted with what follows).
        """
        with self._lock:
            self._check_writable(records=1)
            ns = self._clock.now_ns() if recv_ns is None else recv_ns
            record = encode_record(ns, conn_id, kind, payload)
            try:
                self._rotate_for(ns)
                position = Position(self._current(), self._size)
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
        spans a microsecond).

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
            start = 0
            try:
                if recv_ns >= self._hour_end_ns:
                    self._rotate_for(recv_ns)
                for start in range(0, len(parts), _PARTS_PER_WRITE):
                    self._write(*parts[start : start + _PARTS_PER_WRITE], recv_ns=recv_ns)
            except DiskFull:
                self._disk.dropped += (len(parts) - start) // 2
                raise
            self._written(recv_ns + len(payloads) - 1)

    def _check_writable(self, *, records: int) -> None:
        """Raises: RawLogError: closed, or a background fsync failed; DiskFull: the disk was
        full less than a retry period ago (the ``records`` are counted as dropped)."""
        if self._fd is None:
            raise RawLogError(f"raw log writer for {self._raw_dir} is closed")
        if self._flush_failure is not None:
            raise self._flush_failure
        self._disk.refuse(records)

    def _rotate_for(self, ns: int) -> None:
        """Rotate to a new segment if ``ns`` falls in a later Seoul hour (only forward)."""
        assert self._hour is not None, "set whenever a segment is open"
        if ns >= self._hour_end_ns and seoul_hour_key(ns) > self._hour:
            self._rotate(ns)

    def _written(self, last_ns: int) -> None:
        """Records up to ``last_ns`` fitted: a disk-full episode, if any, ends here."""
        if self._disk.full is not None:
            self._end_disk_full(last_ns)
        self._last_ns = last_ns

    def fsync(self) -> None:
        """Force appended records to disk now, without holding up appends; a no-op once
        closed.

        Raises:
            RawLogError: the OS reports a failed flush.
        """
        with self._lock:
            if self._fd is None:
                return
            fd, segment, started = os.dup(self._fd), self._segment, self._clock.monotonic()
        began = time.perf_counter()
        try:
            os.fsync(fd)
        except OSError as exc:
            raise RawLogError(f"cannot fsync raw segment {segment}: {exc}") from exc
        finally:
            os.close(fd)
        if self._observe_fsync is not None:
            self._observe_fsync(time.perf_counter() - began)
        self._last_fsync = started

    def close(self) -> None:
        """Fsync and close the segment (it stays plain, to be continued or sealed on the next
        start), wait for background sealing, release the lock. Idempotent.

        Raises:
            RawLogError: the final fsync failed.
        """
        self._closing.set()
        if self._flusher is not None:
            self._flusher.join()
        try:
            with self._lock:
                if self._fd is not None:
                    try:
                        _fsync(self._fd, self._segment)
                    finally:
                        os.close(self._fd)
                        self._fd = None
                        self._segment = None
        finally:
            if self._sealer is not None:
                self._sealer.shutdown(wait=True)
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

    def _flush_every(self, interval_s: float) -> None:
        """The flusher thread: data appended is on disk within about ``interval_s``."""
        while not self._closing.wait(interval_s):
            try:
                self.fsync()
            except RawLogError as exc:
                log.error("%s; appends now fail until the recorder restarts", exc)
                self._flush_failure = exc
                return

    def _current(self) -> str:
        assert self._segment is not None, "called only while a segment is open"
        return self._segment

    def _resume(self) -> None:
        """Repair this recorder's plain segments from a previous run, then resume as
        :func:`plan_resume` decides. Segments are sealed only once the one to write is
        chosen, so no background seal renames files while the latest name is looked up."""
        now = self._clock.now_ns()
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
                found[identity] = ExistingSegment(identity, open_ns, True, known.sealed, damaged)
        plan = plan_resume(list(found.values()), now)
        self._last_open_ns = max((s.open_ns for s in found.values()), default=None)
        if plan.append_to is not None:
            self._continue(paths[plan.append_to], plan.append_to, found[plan.append_to].open_ns)
        else:
            assert plan.new_open_ns is not None, "a plan either appends or names a new segment"
            self._open_new(plan.new_open_ns)
        for identity in plan.seal:
            self._seal(paths[identity])
        for event in torn:
            self._write(encode_record(now, WRITER_CONN_ID, RecordKind.EVENT, events.encode(event)))
        _fsync(self._fd, self._segment)
        self._last_fsync = self._clock.monotonic()
        if torn or corrupt:
            log.warning(
                "raw log %s, recorder %s: truncated %d torn tail(s) (%d bytes); "
                "%d corrupt region(s) left in place for verify",
                self._raw_dir, rid, len(torn), sum(e.bytes for e in torn), corrupt,
            )  # fmt: skip

    def _continue(self, path: Path, identity: str, open_ns: int) -> None:
        self._fd = _open_fd(path, os.O_WRONLY | os.O_APPEND)
        self._segment = identity
        self._hour, self._hour_end_ns = seoul_hour_key(open_ns), seoul_hour_end_ns(open_ns)
        self._size = os.fstat(self._fd).st_size
        log.info("continuing raw segment %s at offset %d", identity, self._size)

    def _open_new(self, candidate_ns: int) -> None:
        """Create a segment named by :func:`next_open_ns` and write its header and STATE
        records."""
        open_ns = next_open_ns(candidate_ns, self._last_open_ns)
        identity = segment_identity(open_ns, self._recorder_id)
        path = self._raw_dir / identity
        first = encode_header(self._recorder_id, open_ns) + b"".join(
            encode_record(open_ns, conn_id, RecordKind.STATE, payload)
            for conn_id, payload in self._state_records()
        )
        if not path.parent.exists():
            path.parent.mkdir()
            fsync_dir(self._raw_dir)
        self._fd = _open_fd(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL)
        self._segment = identity
        self._hour, self._hour_end_ns = seoul_hour_key(open_ns), seoul_hour_end_ns(open_ns)
        self._last_open_ns = open_ns
        self._size = 0
        self._write(first)
        fsync_dir(path.parent)
        log.info("opened raw segment %s", identity)

    def _rotate(self, open_ns: int) -> None:
        """Start the next segment; the closed one is fsynced and sealed off the hot path."""
        assert self._fd is not None and self._segment is not None
        old = self._fd, self._segment, self._hour, self._hour_end_ns, self._size
        try:
            self._open_new(open_ns)
        except BaseException:
            # keep recording where we were
            self._fd, self._segment, self._hour, self._hour_end_ns, self._size = old
            raise
        self._close_in_background(old[0], old[1])

    def _close_in_background(self, fd: int, segment: str) -> None:
        path = self._raw_dir / segment
        if self._sealer is None:
            _close_and_seal(fd, segment, path)
        else:
            future = self._sealer.submit(_close_and_seal, fd, segment, path)
            future.add_done_callback(_log_crash)

    def _seal(self, path: Path) -> None:
        """Seal a closed segment: in the background thread, or right here if so configured."""
        if self._sealer is None:
            _seal_logged(path)
        else:
            self._sealer.submit(_seal_logged, path).add_done_callback(_log_crash)

    def _write(self, *parts: bytes, recv_ns: int | None = None) -> None:
        """Append ``parts`` in one ``writev`` (a short write, rare, is finished by ``write``);
        on a full disk, cut what part of them was written and raise.

        Raises:
            DiskFull: ENOSPC or EDQUOT; the segment ends where it did before the call.
            RawLogError: any other refusal (what was written stays, as a torn tail the next
                start truncates).
        """
        assert self._fd is not None
        total, written = sum(map(len, parts)), 0
        began = time.perf_counter() if self._observe_write is not None else 0.0
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
                since = self._last_ns if self._last_ns is not None else recv_ns
                since = self._clock.now_ns() if since is None else since
                raise self._disk.began(self._segment, since, exc) from exc
            self._size += written
            self._bytes_written += written
            raise RawLogError(f"cannot append to raw segment {self._segment}: {exc}") from exc
        self._size += total
        self._bytes_written += total
        if self._observe_write is not None:
            self._observe_write(time.perf_counter() - began)

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
        self._disk.ended(self._segment, until_ns)


def _fsync(fd: int | None, segment: str | None) -> None:
    assert fd is not None
    try:
        os.fsync(fd)
    except OSError as exc:
        raise RawLogError(f"cannot fsync raw segment {segment}: {exc}") from exc


def _open_fd(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise RawLogError(f"cannot open raw segment {path}: {exc}") from exc


def _truncate(path: Path, end: int) -> None:
    """Cut a torn tail; a segment without a whole header holds no record and goes entirely."""
    if end == 0:
        path.unlink()
    else:
        with path.open("r+b") as f:
            f.truncate(end)
            os.fsync(f.fileno())
    fsync_dir(path.parent)


def _close_and_seal(fd: int, segment: str, path: Path) -> None:
    """Make a rotated-out segment durable, close it, then seal it (a failed fsync keeps the
    plain file unsealed: the next writer start repairs and seals it)."""
    try:
        _fsync(fd, segment)
    except RawLogError as exc:
        log.error("%s; not sealing it", exc)
        return
    finally:
        os.close(fd)
    _seal_logged(path)


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
