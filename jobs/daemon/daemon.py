"""The overnight daemon's decisions: what runs when, on the KRX calendar in Seoul time.

:class:`Daemon` holds no scheduler of its own: its jobs (jobs/daemon/schedule.py) call it, and each
looks at the injected clock and decides. ``supervise`` (every second) keeps the recorder up
in the recording window of a trading day and down outside it, restarts one that died with
backoff, collects finished workers and writes ``daemon.json``; ``normalize`` and
``compact_intraday`` start their worker while the recorder should run; ``end_of_day`` queues
every closed trading day whose end-of-day steps are not all done, which ``supervise`` then
runs one worker at a time: normalize to the end, compact (which seals the day's raw), catalog,
report. A step that fails is retried at the next ``end_of_day`` (the daily trigger, or the
daemon's next start), and the steps that do not depend on it run meanwhile. What is done is
kept in ``daemon.json`` (typed in jobs/daemon/state.py), so a restart after a crash, or a
start after the close, does the missed work once.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from capture.backoff import Backoff
from capture.clock import Clock, seoul_datetime
from capture.rawlog import list_segments, recorded_on
from capture.status_files import DAEMON_STATE_NAME, read_status, write_status
from jobs.cli import rotate_log
from jobs.config import Config
from jobs.daemon.calendar import TradingCalendar
from jobs.daemon.children import Child, Workers, start_child, stop_orphans
from jobs.daemon.state import (
    FAILED,
    INTERRUPTED,
    OK,
    SKIPPED,
    DaemonFile,
    EndOfDay,
    JobRecord,
    RecorderExit,
    RecorderView,
    SavedState,
    StepResult,
    WindowView,
)  # fmt: skip

log = logging.getLogger(__name__)

LOGS = "logs"
RECORDER_STDERR_LOG = "recorder.stderr.log"
LOOKBACK_DAYS = 7  # how far back a start looks for end-of-day work left undone
KEEP_DAYS = 31  # end-of-day results kept in daemon.json
EOD_STEPS = ("normalize", "compact", "catalog", "report")
NEEDS = {"compact": "normalize", "report": "normalize"}  # a step runs once its need is ok
DONE = (OK, SKIPPED)  # the results that end a step for good
SESSION_JOBS = ("normalize", "compact-intraday")  # run only while the recorder should
WINDOW_OVER = "the recording window is over"


@dataclass
class RecorderState:
    child: Child | None = None
    restarts: int = 0
    last_exit: RecorderExit | None = None
    retry_at_s: float | None = None  # monotonic: a restart waits for its backoff


@dataclass
class DaemonState:
    """What ``daemon.json`` keeps across restarts, besides the live processes."""

    started_ns: int
    first_day: str  # Seoul date of the first start: end-of-day work is not owed before it
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    eod: EndOfDay = field(default_factory=dict)


def _one_at_a_time(job: Callable[[Daemon], None]) -> Callable[[Daemon], None]:
    """APScheduler runs each job on a thread of its own: the daemon's decisions (is a lake job
    running? start one) are taken one at a time, or two jobs due together both start."""

    @functools.wraps(job)
    def locked(daemon: Daemon) -> None:
        with daemon.decisions:
            job(daemon)

    return locked


class Daemon:
    """See the module docstring. ``args`` are the recorder's and workers' ``--config F``."""

    def __init__(self, config: Config, config_path: Path, *, clock: Clock) -> None:
        self.config = config
        self.calendar = TradingCalendar(config.market, config.jobs)
        self.clock = clock
        self.args = ["--config", str(config_path.resolve())]
        self.data_dir = config.data_dir
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.workers = Workers(self.data_dir / LOGS, config.logs)
        self.recorder = RecorderState()
        self.backoff = Backoff(rng=random.Random(), base_s=1.0, cap_s=60.0, stable_after_s=60.0)
        self.state = self._load()
        self.eod_queue: list[str] = []  # days whose steps are to run now; the first runs
        self.failed_this_run: set[tuple[str, str]] = set()
        self.next_jobs: dict[str, int] = {}  # job -> next fire (UTC ns), for the state file
        self.owed: dict[str, list[str]] = {}  # lake jobs found busy, to run next, in order
        self.decisions = threading.RLock()  # held by each scheduled job: see _one_at_a_time

    # --- the scheduled jobs ----------------------------------------------------------------

    @_one_at_a_time
    def supervise(self) -> None:
        """Recorder up or down as the calendar says; finished workers noted; state written."""
        now_ns = self.clock.now_ns()
        self._keep_recorder(now_ns)
        for child in self.workers.finished():
            self._finished(child, now_ns)
        self._pay_owed(now_ns)
        self._advance_end_of_day(now_ns)
        self.write_state()

    @_one_at_a_time
    def normalize(self) -> None:
        """Bring the lake up to date while the recorder should run."""
        if self.recording(self.clock.now_ns()):
            self._run("normalize", ["normalize", *self.args])

    @_one_at_a_time
    def compact_intraday(self) -> None:
        """Merge the closed hours' small files while the recorder should run."""
        if self.recording(self.clock.now_ns()):
            self._run("compact-intraday", ["compact", "--intraday", *self.args])

    @_one_at_a_time
    def end_of_day(self) -> None:
        """Queue every closed trading day (since the first start) with a step not done."""
        now_ns = self.clock.now_ns()
        for day in self.calendar.closed_days(now_ns, LOOKBACK_DAYS):
            name = day.isoformat()
            if name < self.state.first_day or name in self.eod_queue or self._done(name):
                continue
            if not self._recorded(name):
                self._skip_day(name, now_ns)
                continue
            self.eod_queue.append(name)
            self.failed_this_run -= {(name, step) for step in EOD_STEPS}
            log.info("end of day %s: queued", name)
        # end_of_day may be the window's end itself: stop the recorder first (its stop and
        # gaps written) rather than wait for the next supervise, or the day's steps would
        # normalize and compact a day still being written.
        self._keep_recorder(now_ns)
        self._advance_end_of_day(now_ns)

    @_one_at_a_time
    def stop(self) -> None:
        """SIGTERM every child and wait for them (a few seconds), then write the state."""
        log.info("daemon stopping: SIGTERM to the recorder and %d worker(s)",
                 len(self.workers.running))  # fmt: skip
        if self.recorder.child is not None:
            self._record_exit(self.recorder.child, "the daemon stopped", self.clock.now_ns())
            self.recorder.child = None
        for child in list(self.workers.running.values()):
            code = child.stop()
            self._finished(child, self.clock.now_ns(), interrupted=code != 0)
        self.workers.running.clear()
        self.write_state(stopping=True)

    # --- the recorder -----------------------------------------------------------------------

    def recording(self, now_ns: int) -> bool:
        window = self.calendar.today(now_ns)
        return window is not None and window.recording(now_ns)

    def _keep_recorder(self, now_ns: int) -> None:
        rec, should_run = self.recorder, self.recording(now_ns)
        if rec.child is not None and rec.child.exit_code() is not None:
            why = f"exited with status {rec.child.exit_code()}" + (
                " during hours" if should_run else ""
            )
            log.warning("recorder %s; its last output: %s", why, rec.child.tail()[-200:])
            self._record_exit(rec.child, why, now_ns)
            rec.child = None
            if should_run:
                rec.restarts += 1
                now_s = self.clock.monotonic()
                rec.retry_at_s = now_s + self.backoff.next_delay(now_s)
        if should_run and rec.child is None:
            if rec.retry_at_s is None or self.clock.monotonic() >= rec.retry_at_s:
                rec.child = self._start_recorder(now_ns)
                rec.retry_at_s = None
                self.backoff.connected(self.clock.monotonic())
                log.info("recorder started, pid %d", rec.child.pid)
        elif not should_run and rec.child is not None:
            self._record_exit(rec.child, WINDOW_OVER, now_ns)
            log.info("recorder stopped: %s", WINDOW_OVER)
            rec.child = None

    def _start_recorder(self, now_ns: int) -> Child:
        """The recorder logs to recorder.log through its own rotating handler (it runs all
        session long: a file it only inherited could not rotate); its stderr, only what
        bypasses logging (a traceback, its exit message), goes to recorder.stderr.log, rotated
        before each start."""
        logs = self.data_dir / LOGS
        stderr_log = logs / RECORDER_STDERR_LOG
        rotate_log(stderr_log, self.config.logs)
        args = ["record", *self.args, "--log-file", str(logs / "recorder.log")]
        return start_child("recorder", args, stderr_log, started_ns=now_ns)

    def _record_exit(self, child: Child, why: str, now_ns: int) -> None:
        code = child.stop()
        self.recorder.last_exit = RecorderExit(status=code, at_ns=now_ns, why=why, pid=child.pid)

    # --- workers and the end of day ---------------------------------------------------------

    def _run(self, job: str, args: list[str], now_ns: int | None = None) -> bool:
        """Start a lake job unless one runs: they take the lake's lock in turn, so a second
        would only fail. A job found busy is skipped, counted, and owed once (not stacked):
        it starts when the lake is free, in the order jobs were owed, so a normalize longer
        than its interval cannot starve the intraday compaction."""
        now_ns = self.clock.now_ns() if now_ns is None else now_ns
        record = self.state.jobs.setdefault(job, JobRecord())
        busy = next(iter(self.workers.running), None)
        if busy is not None:
            record.skipped += 1
            self.owed.setdefault(job, args)
            log.info("%s skipped: %s is still running; it runs next", job, busy)
            return False
        self.owed.pop(job, None)
        self.workers.start(job, args, now_ns)
        record.started(now_ns)
        return True

    def _pay_owed(self, now_ns: int) -> None:
        """Start the job owed longest, once the lake is free and while it may still run."""
        if self.workers.running or not self.owed:
            return
        job, args = next(iter(self.owed.items()))
        del self.owed[job]
        if job.startswith("eod-") or self.recording(now_ns):
            self._run(job, args, now_ns)

    def _finished(self, child: Child, now_ns: int, *, interrupted: bool = False) -> None:
        code = child.exit_code()
        ok = code == 0 and not interrupted
        record = self.state.jobs.setdefault(child.name, JobRecord())
        seconds = (now_ns - child.started_ns) / 1e9
        record.ended(now_ns, seconds, code, None if ok else child.tail())
        if not ok:
            log.warning("%s %s (exit status %s); see logs/%s.log", child.name,
                        "interrupted" if interrupted else "failed", code, child.name)  # fmt: skip
        if child.name.startswith("eod-") and self.eod_queue:
            day, step = self.eod_queue[0], child.name.removeprefix("eod-")
            result = OK if ok else (INTERRUPTED if interrupted else FAILED)
            steps = self.state.eod.setdefault(day, {})
            attempts = steps[step].attempts if step in steps else 0
            steps[step] = StepResult(result, now_ns, attempts + 1)
            log.info("end of day %s: %s %s after %.1f s", day, step, result, seconds)
            if not ok:
                self.failed_this_run.add((day, step))

    def _advance_end_of_day(self, now_ns: int) -> None:
        """Start the next end-of-day step of the oldest queued day, once no job runs."""
        if self.workers.running:
            return
        while self.eod_queue:
            day = self.eod_queue[0]
            step = self._next_step(day)
            if step is None:
                self.eod_queue.pop(0)
                continue
            self._run(f"eod-{step}", _step_args(step, day, self.args), now_ns)
            return

    def _next_step(self, day: str) -> str | None:
        results = {step: entry.result for step, entry in self.state.eod.get(day, {}).items()}
        for step in EOD_STEPS:
            if results.get(step) == OK or (day, step) in self.failed_this_run:
                continue
            need = NEEDS.get(step)
            if need is not None and results.get(need) != OK:
                continue  # its need failed this run: retried with it next time
            return step
        return None

    def _done(self, day: str) -> bool:
        steps = self.state.eod.get(day, {})
        return all(step in steps and steps[step].result in DONE for step in EOD_STEPS)

    def _recorded(self, day: str) -> bool:
        """Whether raw holds a segment opened on ``day`` (a trading day's recorder opens
        one at the window's start, so a day without one recorded nothing)."""
        segments = list_segments(self.data_dir / "raw")
        return recorded_on(segments, dt.date.fromisoformat(day))

    def _skip_day(self, day: str, now_ns: int) -> None:
        """A trading day the recorder never ran (the daemon was down, or first started after
        the close): noted in the state file, once, and no step is run on an empty raw."""
        log.warning("end of day %s: nothing was recorded; no step to run", day)
        skipped = StepResult(SKIPPED, now_ns, attempts=0, why="nothing was recorded")
        self.state.eod[day] = dict.fromkeys(EOD_STEPS, skipped)

    # --- the state file ---------------------------------------------------------------------

    def _load(self) -> DaemonState:
        """What the last daemon kept; the children it left running are stopped."""
        now_ns = self.clock.now_ns()
        first = seoul_datetime(now_ns).date().isoformat()
        raw = read_status(self.data_dir / DAEMON_STATE_NAME)
        try:
            saved = SavedState.from_json(raw) if raw is not None else None
        except ValueError as exc:
            log.warning("%s is not a daemon's state (%s): starting afresh", DAEMON_STATE_NAME, exc)
            saved = None
        if saved is None:
            return DaemonState(started_ns=now_ns, first_day=first)
        for pid in stop_orphans(saved.left_running, self.args[1]):
            log.warning("stopped pid %d, a child the previous daemon left running", pid)
        oldest = _days_before(first, KEEP_DAYS)
        return DaemonState(
            started_ns=now_ns,
            first_day=saved.first_day or first,
            jobs=saved.jobs,
            eod={day: steps for day, steps in saved.end_of_day.items() if day >= oldest},
        )

    def write_state(self, *, stopping: bool = False) -> None:
        now_ns = self.clock.now_ns()
        rec, child = self.recorder, self.recorder.child
        upcoming = self.calendar.upcoming(now_ns)
        window = upcoming.recording
        state = DaemonFile(
            pid=os.getpid(),
            state="stopped" if stopping else "running",
            started_ns=self.state.started_ns,
            updated_ns=now_ns,
            first_day=self.state.first_day,
            recorder=RecorderView(
                pid=child.pid if child else None,
                since_ns=child.started_ns if child else None,
                uptime_s=(now_ns - child.started_ns) / 1e9 if child else None,
                restarts=rec.restarts,
                last_exit=rec.last_exit,
            ),
            running={name: c.pid for name, c in self.workers.running.items()},
            window=WindowView(
                recording=self.recording(now_ns),
                start_ns=window.record_from_ns if window else None,
                stop_ns=window.record_until_ns if window else None,
            ),
            next_end_of_day_ns=upcoming.end_of_day_ns,
            # A session job's next fire outside the window does nothing: none is shown.
            next_jobs={
                k: v if k not in SESSION_JOBS or self.recording(v) else None
                for k, v in self.next_jobs.items()
            },
            jobs=self.state.jobs,
            end_of_day=self.state.eod,
        )
        write_status(self.data_dir / DAEMON_STATE_NAME, state.to_json())


def _days_before(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) - dt.timedelta(days=days)).isoformat()


def _step_args(step: str, day: str, config: list[str]) -> list[str]:
    if step == "normalize":
        return ["normalize", *config]
    if step == "compact":
        return ["compact", "--date", day, *config]
    if step == "catalog":
        return ["catalog", *config]
    return ["report", "--date", day, *config]
