"""The crash-safe append-only raw log: the truth the whole lake is rebuilt from.

Every websocket frame the recorder receives is appended here with its receive time before
anything else happens to it. This module holds the writer and is the public face of the raw
log; the byte format lives in :mod:`capture.rawlog.format`, listing and reading in
:mod:`capture.rawlog.reader`, compression in :mod:`capture.rawlog.seal`.

Durability: each record reaches the OS in one ``os.write`` on an unbuffered fd, so a killed
process loses nothing it appended; ``os.fsync`` runs every ``fsync_interval_s``, at rotation
and at close. A writer starting over a previous run's files truncates only a torn last record
and says so in an EVENT record. One writer per raw dir at a time, enforced by a lock file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from capture.clock import Clock, seoul_hour_key
from capture.durable import fsync_dir
from capture.errors import RawLogError
from capture.filelock import hold_exclusive
from capture.rawlog.format import (
    Position,
    RecordKind,
    check_recorder_id,
    encode_header,
    encode_record,
)
from capture.rawlog.reader import (
    parse_segment_path,
    scan_plain_segment,
    segment_identity,
)
from capture.rawlog.seal import SEALED_SUFFIX, TMP_SUFFIX, seal_segment, sealed_path

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"  # held while a writer is open, so repair never truncates a live tail
WRITER_CONN_ID = 0  # conn_id of the EVENT records the writer itself appends


def _no_state() -> list[tuple[int, bytes]]:
    return []


class RawLogWriter:
    """Appends records to hourly segments of one recorder under ``raw_dir``.

    ``state_records()`` gives (conn_id, payload) pairs written as STATE records at the start
    of every new segment, so each segment decodes on its own. It is called with the writer's
    lock held, so it must not call :meth:`append`.

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
        fsync_interval_s: float = 1.0,
        state_records: Callable[[], list[tuple[int, bytes]]] = _no_state,
        seal_in_background: bool = True,
    ) -> None:
        self._raw_dir = raw_dir
        self._recorder_id = check_recorder_id(recorder_id)
        self._clock = clock
        self._fsync_interval_s = fsync_interval_s
        self._state_records = state_records
        self._lock = threading.Lock()
        self._sealer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"seal-{recorder_id}")
            if seal_in_background
            else None
        )
        self._fd: int | None = None
        self._segment: str | None = None
        self._path: Path | None = None
        self._hour: tuple[dt.date, int] | None = None
        self._last_open_ns: int | None = None  # of this recorder's latest segment, on disk
        self._size = 0
        self._bytes_written = 0
        self._last_fsync: float | None = None
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
        """``clock.monotonic()`` of the last fsync, None before the first."""
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
            RawLogError: the writer is closed, or the OS refused the write.
        """
        with self._lock:
            if self._fd is None:
                raise RawLogError(f"raw log writer for {self._raw_dir} is closed")
            ns = self._clock.now_ns() if recv_ns is None else recv_ns
            record = encode_record(ns, conn_id, kind, payload)
            assert self._hour is not None, "set whenever a segment is open"
            if seoul_hour_key(ns) > self._hour:
                self._rotate(ns)
            position = Position(self._current(), self._size)
            self._write(record)
            last = self._last_fsync
            if last is None or self._clock.monotonic() - last >= self._fsync_interval_s:
                self._fsync_locked()
            return position

    def fsync(self) -> None:
        """Force appended records to disk now; a no-op once closed.

        Raises:
            RawLogError: the OS reports a failed flush.
        """
        with self._lock:
            if self._fd is not None:
                self._fsync_locked()

    def close(self) -> None:
        """Fsync and close the segment (it stays plain, to be continued or sealed on the next
        start), wait for background sealing, release the lock. Idempotent.

        Raises:
            RawLogError: the final fsync failed.
        """
        try:
            with self._lock:
                if self._fd is not None:
                    try:
                        self._fsync_locked()
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

    def _current(self) -> str:
        assert self._segment is not None, "called only while a segment is open"
        return self._segment

    def _resume(self) -> None:
        """Repair this recorder's plain segments from a previous run, then pick one to write.

        Segments are sealed only once the one to write is chosen, so no background seal is
        renaming files while the latest segment name is looked up.
        """
        now = self._clock.now_ns()
        rid = self._recorder_id
        for tmp in self._raw_dir.glob(f"*/*-{rid}.seg{SEALED_SUFFIX}{TMP_SUFFIX}"):
            log.warning("removing %s left by an interrupted seal", tmp)
            tmp.unlink()
        torn: list[tuple[str, int, int]] = []
        corrupt = 0
        clean: list[tuple[Path, str, int]] = []
        to_seal: list[Path] = []
        for path in sorted(self._raw_dir.glob(f"*/*-{rid}.seg")):
            parsed = parse_segment_path(self._raw_dir, path)
            if parsed is None or parsed[2] != rid:
                continue
            identity, open_ns, _ = parsed
            if sealed_path(path).exists():
                to_seal.append(path)  # a crash came after the verified rename
                continue
            regions, end = scan_plain_segment(path, identity)
            size = path.stat().st_size
            if end < size or end == 0:
                torn.append((identity, end, size - end))
                _truncate(path, end)
            corrupt += len(regions)
            if not path.exists():
                continue
            if regions:
                to_seal.append(path)  # never append after damage; verify keeps reporting it
            else:
                clean.append((path, identity, open_ns))
        to_seal.extend(path for path, _, _ in clean[:-1])
        self._last_open_ns = self._latest_open_ns()
        if (
            clean
            and clean[-1][2] == self._last_open_ns
            and seoul_hour_key(clean[-1][2]) >= seoul_hour_key(now)
        ):
            self._continue(*clean[-1])
        else:
            to_seal.extend(path for path, _, _ in clean[-1:])
            self._open_new(now)
        for path in to_seal:
            self._seal(path)
        for identity, offset, count in torn:
            event = {
                "type": "torn_tail_truncated",
                "segment": identity,
                "offset": offset,
                "bytes": count,
            }
            self._write(encode_record(now, WRITER_CONN_ID, RecordKind.EVENT, _json(event)))
        self._fsync_locked()
        if torn or corrupt:
            log.warning(
                "raw log %s, recorder %s: truncated %d torn tail(s) (%d bytes); "
                "%d corrupt region(s) left in place for verify",
                self._raw_dir,
                rid,
                len(torn),
                sum(count for _, _, count in torn),
                corrupt,
            )

    def _continue(self, path: Path, identity: str, open_ns: int) -> None:
        self._fd = _open_fd(path, os.O_WRONLY | os.O_APPEND)
        self._path, self._segment, self._hour = path, identity, seoul_hour_key(open_ns)
        self._size = os.fstat(self._fd).st_size
        log.info("continuing raw segment %s at offset %d", identity, self._size)

    def _latest_open_ns(self) -> int | None:
        """The ``open_ns`` of this recorder's latest segment, plain or sealed."""
        rid = self._recorder_id
        parsed = (
            parse_segment_path(self._raw_dir, p) for p in self._raw_dir.glob(f"*/*-{rid}.seg*")
        )
        return max((p[1] for p in parsed if p is not None and p[2] == rid), default=None)

    def _open_new(self, candidate_ns: int) -> None:
        """Create a segment named for ``candidate_ns``, or 1 ns after this recorder's latest
        segment if that is not earlier (a restart in the same instant, a clock stepped back),
        so names strictly increase; then write its header and STATE records."""
        last = self._last_open_ns
        open_ns = candidate_ns if last is None else max(candidate_ns, last + 1)
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
        self._path, self._segment, self._hour = path, identity, seoul_hour_key(open_ns)
        self._last_open_ns = open_ns
        self._size = 0
        self._write(first)
        self._fsync_locked()
        fsync_dir(path.parent)
        log.info("opened raw segment %s", identity)

    def _rotate(self, open_ns: int) -> None:
        assert self._fd is not None and self._path is not None
        old = self._path
        self._fsync_locked()
        os.close(self._fd)
        self._fd = None
        self._open_new(open_ns)
        self._seal(old)

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

    def _fsync_locked(self) -> None:
        assert self._fd is not None
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise RawLogError(f"cannot fsync raw segment {self._segment}: {exc}") from exc
        self._last_fsync = self._clock.monotonic()


def _json(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


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
