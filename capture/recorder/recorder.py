"""The recorder: owns a data_dir, runs one :class:`Session` per credential, and watches them.

It holds ``data_dir/recorder.lock`` for its lifetime (one recorder per data_dir), writes
``recorder_start`` / ``recorder_stop`` events around the sessions, re-opens as "recorder
restart" gaps whatever a killed previous run had live, checks the sessions' pings, and
replaces ``status.json`` every second. It never parses a quote (design invariant 3).

Two locks, on purpose (both :func:`capture.filelock.hold_exclusive`): ``recorder.lock`` is
taken first and covers what only a recorder does, reading the previous run's tail (before the
raw writer opens, since opening may start a fresh segment that no longer holds that state),
``status.json`` and the connection counter; the raw writer's own ``raw/.lock`` keeps any other
writer (a tool, a test) off raw/, recorder or not.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capture.clock import Clock, SystemClock
from capture.durable import replace_atomically
from capture.errors import DiskFull, RecorderError
from capture.filelock import hold_exclusive
from capture.kis import Pair
from capture.rawlog import RawLogWriter, RecordKind, events
from capture.recorder.gaps import GapBook
from capture.recorder.options import RecorderOptions
from capture.recorder.previous_run import PreviousRun, RestartPlan, read_previous_run
from capture.recorder.redact import Redactor
from capture.recorder.session import Session
from capture.recorder.sharding import shard
from capture.status_files import STATUS_NAME, write_status

if TYPE_CHECKING:
    from capture.recorder.metrics import RecorderMetrics

log = logging.getLogger(__name__)

LOCK_NAME = "recorder.lock"
CONN_COUNTER_NAME = "recorder.conn"
RESTART_REASON = "recorder restart"
UNSUBSCRIBED_REASON = "unsubscribed"
STOP_JOIN_S = 3.0
_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)  # as the raw writer's disk-full episodes


class Recorder:
    """Record until :meth:`stop` is called (from a signal handler or another thread).

    ``rng`` seeds the reconnect jitter; ``redactor`` must already be installed on the log
    handlers (see :mod:`capture.recorder.redact`); the recorder registers every secret with it.
    """

    def __init__(
        self,
        options: RecorderOptions,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._options = options
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._redactor = redactor or Redactor()
        self._stop = threading.Event()
        self._stop_reason = "stopped"
        self._sessions: list[Session] = []
        self._conn_ids: _ConnIds | None = None  # made with the sessions
        for credential in options.credentials:
            self._redactor.add(credential.app_key, credential.app_secret)

    def stop(self, reason: str = "stopped") -> None:
        """Ask :meth:`run` to finish; safe from a signal handler."""
        self._stop_reason = reason
        self._stop.set()

    def run(self) -> None:
        """Record until stopped, then close everything within a few seconds.

        Raises:
            RecorderLocked: another recorder owns the data_dir.
            ConfigError: the registrations do not fit the credentials.
            RecorderError: a session could not write to the raw log.
            RawLogError: the raw log cannot be opened or repaired.
            ConfigError: the metrics port cannot be bound.
        """
        options = self._options
        options.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        shards = shard(options.pairs, len(options.credentials))
        lock_fd = hold_exclusive(
            options.data_dir / LOCK_NAME,
            f"another recorder is running on {options.data_dir} (it holds {LOCK_NAME}); "
            "stop it first, or give this one its own data_dir",
        )
        try:
            previous = read_previous_run(options.raw_dir, options.recorder_id)
            plan = previous.restart_plan(options.pairs)
            # The sessions exist before the writer: a segment it opens now starts with their
            # STATE, which carries the gaps still open, so the next run sees them too.
            self._sessions = self._make_sessions(shards, plan, previous.max_conn)
            metrics, stop_serving = self._serve_metrics()
            try:
                writer = RawLogWriter(
                    options.raw_dir,
                    options.recorder_id,
                    clock=self._clock,
                    fsync_interval_s=options.fsync_interval_s,
                    state_records=self._state_records,
                    on_space_returned=self._disk_full_gaps,
                    observe_write=metrics.write_seconds.observe if metrics else None,
                    observe_fsync=metrics.fsync_seconds.observe if metrics else None,
                )
                try:
                    self._record(writer, plan, previous)
                finally:
                    writer.close()
            finally:
                stop_serving()
        finally:
            os.close(lock_fd)

    def _serve_metrics(self) -> tuple[RecorderMetrics | None, Callable[[], None]]:
        """The Prometheus endpoint, if ``metrics_port`` is set, and how to stop it.

        Raises:
            ConfigError: the port cannot be bound.
        """
        options = self._options
        if not options.metrics_port:
            return None, lambda: None
        from capture.prometheus import serve  # only a recorder that serves loads prometheus
        from capture.recorder import metrics as served

        metrics = served.RecorderMetrics(options.data_dir, lambda: self._sessions, self._clock)
        stop = serve(
            metrics.registry, options.metrics_address, options.metrics_port, "metrics.port"
        )
        log.info("metrics on http://%s:%d/metrics", options.metrics_address, options.metrics_port)
        return metrics, stop

    def _make_sessions(
        self, shards: list[list[Pair]], plan: RestartPlan, max_conn: int
    ) -> list[Session]:
        options = self._options
        conn_ids = _ConnIds(options.data_dir / CONN_COUNTER_NAME, floor=max_conn + 1)
        self._conn_ids = conn_ids
        return [
            Session(
                options,
                credential,
                pairs,
                clock=self._clock,
                rng=random.Random(self._rng.random()),
                redactor=self._redactor,
                next_conn_id=conn_ids.next,
                gaps=GapBook({p: plan.carried[p] for p in pairs if p in plan.carried}),
            )
            for credential, pairs in zip(options.credentials, shards, strict=False)
        ]

    def _record(self, writer: RawLogWriter, plan: RestartPlan, previous: PreviousRun) -> None:
        options = self._options
        started_ns = self._clock.now_ns()
        self._event(
            writer,
            events.RecorderStart(
                recorder_id=options.recorder_id, pid=os.getpid(),
                previous_last_ns=previous.last_ns,
            ),
        )  # fmt: skip
        self._open_restart_gaps(writer, plan, previous)
        self._close_unsubscribed_gaps(writer, plan)
        threads = [
            threading.Thread(
                target=s.run, args=(writer,), name=f"session-{s.credential.name}", daemon=True
            )
            for s in self._sessions
        ]
        for thread in threads:
            thread.start()
        log.info(
            "recorder %s: %d registration(s) over %d session(s), raw in %s",
            options.recorder_id,
            len(options.pairs),
            len(self._sessions),
            options.raw_dir,
        )
        failure: str | None = None
        while not self._stop.wait(options.status_interval_s):
            failed = next((s.failure for s in self._sessions if s.failure), None)
            if failed is not None:
                # Foreign exception text (a path, a URL) may hold a secret: it goes to raw,
                # the log and the CLI's message, so it is redacted here, where it is built.
                failure = self._redactor.redact(str(failed))
                self.stop(f"session failed: {failure}")
                break
            for session in self._sessions:
                session.check_alive()
                session.check_stale()
            self._write_status(writer, started_ns, "running")
        log.info("recorder %s stopping: %s", options.recorder_id, self._stop_reason)
        self._stop_sessions(threads)
        self._event(
            writer, events.RecorderStop(recorder_id=options.recorder_id, reason=self._stop_reason)
        )
        writer.fsync()
        if self._conn_ids is not None:
            self._conn_ids.save()
        self._write_status(writer, started_ns, "stopped")
        if failure is not None:
            raise RecorderError(f"recorder stopped because a session failed: {failure}")

    def _stop_sessions(self, threads: list[threading.Thread]) -> None:
        """Stop every session within ``STOP_JOIN_S`` in all, and make sure each one's stop
        gaps are written, by the session or else here, before ``recorder_stop``."""
        for session in self._sessions:
            session.stop()
        deadline = time.monotonic() + STOP_JOIN_S
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        busy = [thread.name for thread in threads if thread.is_alive()]
        if busy:
            log.warning("%s did not end within %g s; recording their stop for them", busy,
                        STOP_JOIN_S)  # fmt: skip
        for session in self._sessions:
            session.record_stop()

    def _open_restart_gaps(
        self, writer: RawLogWriter, plan: RestartPlan, previous: PreviousRun
    ) -> None:
        """Gap, from the previous run's last record, what it had live when it ended."""
        if previous.last_ns is None:
            return
        opened = [
            pair
            for session in self._sessions
            for pair in session.open_gaps_at_start(
                [p for p in plan.reopen if p in session.pairs], previous.last_ns
            )
        ]
        for tr_id, isin in opened:
            self._event(
                writer,
                events.GapOpen(
                    conn=events.RECORDER_CONN, tr_id=tr_id, isin=isin,
                    start_ns=previous.last_ns, reason=RESTART_REASON,
                ),
            )  # fmt: skip
        if opened or plan.carried:
            log.warning(
                "previous run %s; %d registration(s) in a gap since its last record, %d carried",
                "stopped cleanly" if previous.stopped_cleanly else "was killed",
                len(opened),
                len(plan.carried),
            )

    def _close_unsubscribed_gaps(self, writer: RawLogWriter, plan: RestartPlan) -> None:
        """End now the gaps the previous run left open for pairs no longer configured: no ack
        will ever close them, and an open gap would stay open in the lake forever."""
        now_ns = self._clock.now_ns()
        for tr_id, isin in plan.dropped:
            self._event(
                writer,
                events.GapClose(
                    conn=events.RECORDER_CONN, tr_id=tr_id, isin=isin, end_ns=now_ns,
                    reason=UNSUBSCRIBED_REASON,
                ),
            )  # fmt: skip
        if plan.dropped:
            log.warning(
                "closed %d gap(s) left open by the previous run for registrations no longer "
                "configured: %s",
                len(plan.dropped),
                ", ".join(f"{tr_id} {isin}" for tr_id, isin in plan.dropped),
            )

    @staticmethod
    def _event(writer: RawLogWriter, event: events.Event) -> None:
        with contextlib.suppress(DiskFull):  # logged by the writer; the time becomes a gap
            writer.append(RecordKind.EVENT, events.RECORDER_CONN, events.encode(event))

    def _disk_full_gaps(self, since_ns: int, until_ns: int) -> list[tuple[int, bytes]]:
        return [e for s in self._sessions for e in s.disk_full_gap_events(since_ns, until_ns)]

    def _state_records(self) -> list[tuple[int, bytes]]:
        return [r for s in self._sessions if (r := s.state_record()) is not None]

    def _write_status(self, writer: RawLogWriter, started_ns: int, state: str) -> None:
        last = writer.last_fsync_monotonic
        lag = None if last is None else self._clock.monotonic() - last
        full = writer.disk_full
        connections = [s.status() for s in self._sessions]
        status: dict[str, Any] = {
            "pid": os.getpid(),
            "recorder_id": self._options.recorder_id,
            "state": state,
            "started_ns": started_ns,
            "updated_ns": self._clock.now_ns(),
            "frames_per_s": sum(c["frames_per_s"] for c in connections),
            "connections": connections,
            "stale": [s for c in connections for s in c["stale"]],
            "gaps_today": {
                "count": sum(c["gaps"]["today"] for c in connections),
                "seconds": sum(c["gaps"]["today_s"] for c in connections),
            },
            "rest_snapshots": _snapshot_totals(connections),
            "metrics_port": self._options.metrics_port or None,
            "writer": {
                "segment": writer.current_segment,
                "bytes_written": writer.bytes_written,
                "fsync_lag_s": lag,
                "records_dropped": writer.records_dropped,
                "error": None if full is None else str(full),
                "disk_full_since_ns": None if full is None else full.since_ns,
            },
        }
        try:
            write_status(self._options.data_dir / STATUS_NAME, status)
        except OSError as exc:
            log.warning("cannot write %s: %s", STATUS_NAME, exc)


def _snapshot_totals(connections: list[dict[str, Any]]) -> dict[str, int] | None:
    """The REST book snapshots fetched and given up, over every session; None when off."""
    parts = [c["rest_snapshots"] for c in connections if c["rest_snapshots"] is not None]
    if not parts:
        return None
    return {key: sum(part[key] for part in parts) for key in ("fetched", "failed", "pending")}


class _ConnIds:
    """Connection ids unique across restarts: a counter persisted under data_dir.

    Only one recorder writes it (it holds the lock); ``floor`` covers a lost counter file.
    A counter that cannot be saved for a full disk stops nothing: the ids stay unique in
    memory, and saving is tried again at the next id and at :meth:`save`; any other failure
    (the file replaced by a folder, a read-only disk) is the session's failure.
    """

    def __init__(self, path: Path, *, floor: int) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            stored = int(path.read_text().strip() or 0)
        except (OSError, ValueError):
            stored = 0
        self._next = max(stored, floor, 1)
        self._saved = stored

    def next(self) -> int:
        """The next id, saved for the next run when the disk lets it.

        Raises:
            OSError: the counter cannot be saved for another reason than a full disk.
        """
        with self._lock:
            conn = self._next
            self._next += 1
            self._save()
            return conn

    def save(self) -> None:
        """Save the counter if an earlier save failed (the recorder calls this at its stop,
        when a failure can only be logged)."""
        with self._lock:
            try:
                self._save()
            except OSError as exc:
                log.warning("cannot save the connection counter %s: %s", self._path, exc)

    def _save(self) -> None:
        if self._saved == self._next:
            return
        data = f"{self._next}\n".encode()
        try:
            replace_atomically(self._path, lambda f: f.write(data))
        except OSError as exc:
            if exc.errno not in _DISK_FULL_ERRNOS:
                raise
            log.warning(
                "cannot save the connection counter %s (%s); ids stay unique in this run, "
                "saving again at the next connection; free space on %s",
                self._path, exc.strerror or exc, self._path.parent,
            )  # fmt: skip
            return
        self._saved = self._next
