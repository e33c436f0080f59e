"""The crash-safe append-only raw log writer: the truth the whole lake is rebuilt from.

Every websocket frame the recorder receives is appended here with its receive time before
anything else happens to it. Durability: each record reaches the OS in one ``os.write`` on an
unbuffered fd, so a killed process loses nothing it appended. ``os.fsync`` runs on a flusher
thread every ``fsync_interval_s`` (and at rotation and close), never under the lock the
sessions append with, so a slow disk stalls no session. A writer starting over a previous
run's files truncates only a torn last record and says so in an EVENT record; where it resumes
is decided by :func:`capture.rawlog.resume.plan_resume`. One writer per raw dir at a time,
enforced by a lock file.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from capture.clock import Clock, seoul_hour_key
from capture.durable import fsync_dir
from capture.errors import RawLogError, RecorderLocked
from capture.filelock import hold_exclusive
from capture.rawlog import events
from capture.rawlog.format import (
    Position,
    RecordKind,
    check_recorder_id,
    encode_header,
    encode_record,
)
from capture.rawlog.reader import parse_segment_path, scan_plain_segment, segment_identity
from capture.rawlog.resume import ExistingSegment, next_open_ns, plan_resume
from capture.rawlog.seal import SEALED_SUFFIX, TMP_SUFFIX, seal_segment, sealed_path

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"  # held while a writer is open, so repair never truncates a live tail
WRITER_CONN_ID = 0  # conn_id of the EVENT records the writer itself appends


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


class RawLogWriter:
    """Appends records to hourly segments of one recorder under ``raw_dir``.

    ``state_records()`` gives (conn_id, payload) pairs written as STATE records at the start
    of every new segment, so each segment decodes on its own. It is called with the writer's
    lock held, so it must not call :meth:`append`. ``fsync_interval_s`` None leaves fsync to
    explicit :meth:`fsync` calls (and rotation and close): no flusher thread.
    ``observe_write`` and ``observe_fsync``, when given, are called with the seconds each
    record's ``os.write`` and each :meth:`fsync` took (the recorder's latency metrics).

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
        observe_write: Callable[[float], None] | None = None,
        observe_fsync: Callable[[float], None] | None = None,
    ) -> None:
        self._raw_dir = raw_dir
        self._recorder_id = check_recorder_id(recorder_id)
        self._clock = clock
        self._state_records = state_records
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
        self._last_open_ns: int | None = None  # of this recorder's latest segment, on disk
        self._size = 0
        self._bytes_written = 0
        self._last_fsync: float | None = None
        self._flush_failure: RawLogError | None = None
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
            RawLogError: the writer is closed, the OS refused the write, or a background
                fsync failed (the disk can no longer be trusted with what follows).
        """
        with self._lock:
            if self._fd is None:
                raise RawLogError(f"raw log writer for {self._raw_dir} is closed")
            if self._flush_failure is not None:
                raise self._flush_failure
            ns = self._clock.now_ns() if recv_ns is None else recv_ns
            record = encode_record(ns, conn_id, kind, payload)
            assert self._hour is not None, "set whenever a segment is open"
            if seoul_hour_key(ns) > self._hour:
                self._rotate(ns)
            position = Position(self._current(), self._size)
            if self._observe_write is None:
                self._write(record)
            else:
                began = time.perf_counter()
                self._write(record)
                self._observe_write(time.perf_counter() - began)
            return position

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
        self._segment, self._hour = identity, seoul_hour_key(open_ns)
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
        self._segment, self._hour = identity, seoul_hour_key(open_ns)
        self._last_open_ns = open_ns
        self._size = 0
        self._write(first)
        fsync_dir(path.parent)
        log.info("opened raw segment %s", identity)

    def _rotate(self, open_ns: int) -> None:
        """Start the next segment; the closed one is fsynced and sealed off the hot path."""
        assert self._fd is not None and self._segment is not None
        old = self._fd, self._segment, self._hour
        try:
            self._open_new(open_ns)
        except BaseException:
            self._fd, self._segment, self._hour = old  # keep recording where we were
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

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            raise RawLogError(f"cannot append to raw segment {self._segment}: {exc}") from exc
        finally:
            written = len(data) - len(view)
            self._size += written
            self._bytes_written += written


def _fsync(fd: int | None, segment: str | None) -> None:
    assert fd is not None
    try:
        os.fsync(fd)
    except OSError as exc:
        raise RawLogError(f"cannot fsync raw segment {segment}: {exc}") from exc


def _open_fd(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags | os.O_CLOEXEC, 0o644)
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
