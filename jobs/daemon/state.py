"""``daemon.json`` as typed state: what the daemon keeps across restarts, and what it shows.

The file's keys are a contract (`bondtape status --json` passes them on, the demo and the
tests read them), so each class here maps one object of the file, key for key, and is the
only place that spells those keys: :meth:`to_json` writes them, :meth:`from_json` reads them
back. A restart reads :class:`SavedState` (the end-of-day results and job tallies worth
keeping, and the pids a killed daemon may have left running); every write is a whole
:class:`DaemonFile`, the kept state plus a snapshot of the live processes and the calendar.

Every key is written, null when unknown, so a reader never has to guess whether a key
missing means "none" or "not yet".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

RUNNING, OK, FAILED = "running", "ok", "failed"  # a job's state
INTERRUPTED, SKIPPED = "interrupted", "skipped"  # an end-of-day step's other results


@dataclass(slots=True)
class JobRecord:
    """One job's last run and its tallies (``jobs.NAME``); updated as runs start and end."""

    state: str | None = None  # RUNNING, OK or FAILED; None until it first starts
    last_start_ns: int | None = None
    last_end_ns: int | None = None
    exit_status: int | None = None
    seconds: float | None = None  # of the last run
    detail: str | None = None  # the end of a failed run's output
    skipped: int = 0  # times it was due while another lake job ran
    results: dict[str, int] = field(default_factory=dict)  # OK/FAILED -> runs, for metrics

    def started(self, now_ns: int) -> None:
        self.state, self.last_start_ns = RUNNING, now_ns

    def ended(
        self, now_ns: int, seconds: float, exit_status: int | None, failure: str | None
    ) -> None:
        """Note a run that ended: OK, or FAILED with the end of its output as ``failure``."""
        result = OK if failure is None else FAILED
        self.results[result] = self.results.get(result, 0) + 1
        self.state, self.last_end_ns, self.exit_status = result, now_ns, exit_status
        self.seconds, self.detail = seconds, failure

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state, "last_start_ns": self.last_start_ns,
            "last_end_ns": self.last_end_ns, "exit_status": self.exit_status,
            "seconds": self.seconds, "detail": self.detail, "skipped": self.skipped,
            "results": dict(sorted(self.results.items())),
        }  # fmt: skip

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> JobRecord:
        """Raises: ValueError, TypeError, AttributeError: not the shape :meth:`to_json` writes."""
        return cls(
            state=_optional(raw.get("state"), str),
            last_start_ns=_optional(raw.get("last_start_ns"), int),
            last_end_ns=_optional(raw.get("last_end_ns"), int),
            exit_status=_optional(raw.get("exit_status"), int),
            seconds=_optional(raw.get("seconds"), float), detail=_optional(raw.get("detail"), str),
            skipped=int(raw.get("skipped", 0)),
            results={str(k): int(v) for k, v in dict(raw.get("results", {})).items()},
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class StepResult:
    """One end-of-day step of one day (``end_of_day.DAY.STEP``)."""

    result: str  # OK, FAILED, INTERRUPTED or SKIPPED
    at_ns: int
    attempts: int
    why: str | None = None  # for SKIPPED: why no step ran

    def to_json(self) -> dict[str, Any]:
        return {"result": self.result, "at_ns": self.at_ns, "attempts": self.attempts,
                "why": self.why}  # fmt: skip

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> StepResult:
        """Raises: ValueError, TypeError, KeyError: not the shape :meth:`to_json` writes."""
        return cls(str(raw["result"]), int(raw["at_ns"]), int(raw["attempts"]),
                   _optional(raw.get("why"), str))  # fmt: skip


@dataclass(frozen=True, slots=True)
class RecorderExit:
    """How the last recorder ended (``recorder.last_exit``)."""

    status: int | None
    at_ns: int
    why: str
    pid: int

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "at_ns": self.at_ns, "why": self.why, "pid": self.pid}


@dataclass(frozen=True, slots=True)
class RecorderView:
    """The recorder child as the file shows it (``recorder``)."""

    pid: int | None
    since_ns: int | None
    uptime_s: float | None
    restarts: int
    last_exit: RecorderExit | None

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid, "since_ns": self.since_ns, "uptime_s": self.uptime_s,
            "restarts": self.restarts,
            "last_exit": None if self.last_exit is None else self.last_exit.to_json(),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class WindowView:
    """Today's (or the next) recording window (``window``)."""

    recording: bool
    start_ns: int | None
    stop_ns: int | None

    def to_json(self) -> dict[str, Any]:
        return {"recording": self.recording, "start_ns": self.start_ns, "stop_ns": self.stop_ns}


EndOfDay = dict[str, dict[str, StepResult]]  # day (ISO) -> step -> its result


@dataclass(frozen=True, slots=True)
class SavedState:
    """What a start reads back from the last ``daemon.json``."""

    first_day: str | None
    jobs: dict[str, JobRecord]
    end_of_day: EndOfDay
    left_running: list[int]  # pids of the children the last daemon wrote down as running

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SavedState:
        """Raises: ValueError: ``raw`` is not in the shape :class:`DaemonFile` writes."""
        try:
            recorder_pid = dict(raw.get("recorder") or {}).get("pid")
            pids = [recorder_pid, *dict(raw.get("running", {})).values()]
            return cls(
                first_day=_optional(raw.get("first_day"), str),
                jobs={name: JobRecord.from_json(job) for name, job in raw.get("jobs", {}).items()},
                end_of_day={
                    day: {step: StepResult.from_json(r) for step, r in steps.items()}
                    for day, steps in raw.get("end_of_day", {}).items()
                },
                left_running=[pid for pid in pids if isinstance(pid, int)],
            )
        except (TypeError, KeyError, AttributeError) as exc:  # the file's shape, not a bug here
            raise ValueError(f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class DaemonFile:
    """The whole of ``daemon.json``, as one write puts it."""

    pid: int
    state: str  # "running", or "stopped" by the last write of a daemon that stops
    started_ns: int
    updated_ns: int
    first_day: str  # Seoul date of the first start: end-of-day work is not owed before it
    recorder: RecorderView
    running: dict[str, int]  # worker name -> pid
    window: WindowView
    next_end_of_day_ns: int | None
    next_jobs: dict[str, int | None]  # job -> next fire (UTC ns), None outside its hours
    jobs: dict[str, JobRecord]
    end_of_day: EndOfDay

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid, "state": self.state, "started_ns": self.started_ns,
            "updated_ns": self.updated_ns, "first_day": self.first_day,
            "recorder": self.recorder.to_json(), "running": dict(sorted(self.running.items())),
            "window": self.window.to_json(), "next_end_of_day_ns": self.next_end_of_day_ns,
            "next_jobs": dict(sorted(self.next_jobs.items())),
            "jobs": {name: job.to_json() for name, job in sorted(self.jobs.items())},
            "end_of_day": {
                day: {step: r.to_json() for step, r in steps.items()}
                for day, steps in sorted(self.end_of_day.items())
            },
        }  # fmt: skip


def end_of_day_results(raw: Mapping[str, Any] | None, day: str) -> dict[str, str]:
    """Step -> result of ``day`` in a ``daemon.json`` read as JSON (empty if none yet): what a
    reader of the file, such as the demo, follows."""
    if raw is None:
        return {}
    steps = SavedState.from_json(raw).end_of_day.get(day, {})
    return {step: entry.result for step, entry in steps.items()}


def _optional(value: Any, kind: Callable[[Any], T]) -> T | None:
    return None if value is None else kind(value)
