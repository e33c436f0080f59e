"""daemon.json as typed state: the keys its readers rely on, and a restart reading back what
a daemon wrote."""

from __future__ import annotations

import json

import pytest

from jobs.daemon.state import (
    DaemonFile,
    JobRecord,
    RecorderExit,
    RecorderView,
    SavedState,
    StepResult,
    WindowView,
    end_of_day_results,
)


def a_file() -> DaemonFile:
    normalize = JobRecord(skipped=2)
    normalize.started(100)
    normalize.ended(2_100_000_100, 2.1, 0, None)
    report = JobRecord()
    report.started(300)
    report.ended(400, 1e-7, 1, "Traceback: no report")
    return DaemonFile(
        pid=4242, state="running", started_ns=1, updated_ns=500, first_day="2026-12-01",
        recorder=RecorderView(pid=77, since_ns=10, uptime_s=4.9e-7, restarts=1,
                              last_exit=RecorderExit(status=1, at_ns=9, why="exited", pid=76)),
        running={"eod-compact": 78}, window=WindowView(True, 5, 600),
        next_end_of_day_ns=700, next_jobs={"normalize": 550, "compact-intraday": None},
        jobs={"normalize": normalize, "eod-report": report},
        end_of_day={"2026-12-01": {"normalize": StepResult("ok", 200, 1),
                                   "report": StepResult("failed", 400, 2)}},
    )  # fmt: skip


def test_daemon_json_keeps_the_keys_status_and_its_readers_rely_on() -> None:
    body = json.loads(json.dumps(a_file().to_json()))
    assert set(body) == {
        "pid", "state", "started_ns", "updated_ns", "first_day", "recorder", "running", "window",
        "next_end_of_day_ns", "next_jobs", "jobs", "end_of_day",
    }  # fmt: skip
    assert body["recorder"] == {
        "pid": 77, "since_ns": 10, "uptime_s": 4.9e-7, "restarts": 1,
        "last_exit": {"status": 1, "at_ns": 9, "why": "exited", "pid": 76},
    }  # fmt: skip
    assert body["window"] == {"recording": True, "start_ns": 5, "stop_ns": 600}
    assert body["next_jobs"] == {"compact-intraday": None, "normalize": 550}
    assert body["jobs"]["normalize"] == {
        "state": "ok", "last_start_ns": 100, "last_end_ns": 2_100_000_100, "exit_status": 0,
        "seconds": 2.1, "detail": None, "skipped": 2, "results": {"ok": 1},
    }  # fmt: skip
    assert body["jobs"]["eod-report"]["state"] == "failed"
    assert body["jobs"]["eod-report"]["detail"] == "Traceback: no report"
    assert body["end_of_day"]["2026-12-01"]["report"] == {
        "result": "failed", "at_ns": 400, "attempts": 2, "why": None,
    }  # fmt: skip


def test_a_restart_reads_back_the_tallies_the_days_and_the_children_left_running() -> None:
    written = a_file()
    saved = SavedState.from_json(json.loads(json.dumps(written.to_json())))
    assert saved.first_day == "2026-12-01"
    assert saved.jobs == written.jobs
    assert saved.end_of_day == written.end_of_day
    assert sorted(saved.left_running) == [77, 78]
    assert end_of_day_results(written.to_json(), "2026-12-01") == {
        "normalize": "ok", "report": "failed",
    }  # fmt: skip
    assert end_of_day_results(None, "2026-12-01") == {}


@pytest.mark.parametrize(
    "raw",
    [{"jobs": {"normalize": "ok"}}, {"end_of_day": {"2026-12-01": {"report": {}}}},
     {"running": ["not", "a", "map"]}, {"jobs": {"normalize": {"skipped": "many"}}}],
)  # fmt: skip
def test_a_file_not_in_the_daemons_shape_is_one_documented_error(raw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SavedState.from_json(raw)
