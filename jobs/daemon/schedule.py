"""When the daemon's jobs fire: APScheduler triggers in Seoul time, run by APScheduler itself
(:func:`run_scheduled`) or, in tests, stepped through a day on a test clock
(:class:`SteppedScheduler`). Both run the same :func:`daemon_jobs`.

Every job coalesces (runs missed while the process was busy or asleep run once), never runs
twice at once, and has no misfire limit: ``end_of_day`` at 16:00 still runs at 16:40 after a
long normalize. A daemon started late, or again after a crash, calls ``end_of_day`` and
``supervise`` at once: the missed end-of-day work runs once, and the recorder starts at once
if the session is on.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from capture.clock import SEOUL, Clock, seoul_datetime
from jobs.daemon.daemon import Daemon

SUPERVISE_S = 1.0


@dataclass(frozen=True)
class Job:
    name: str
    trigger: BaseTrigger
    run: Callable[[], None]


def daemon_jobs(daemon: Daemon) -> list[Job]:
    """The daemon's schedule; interval jobs count from now on ``daemon.clock``."""
    jobs, start = daemon.config.jobs, seoul_datetime(daemon.clock.now_ns())
    eod = jobs.end_of_day

    def every(seconds: float) -> IntervalTrigger:
        return IntervalTrigger(seconds=seconds, start_date=start, timezone=SEOUL)

    return [
        Job(
            "end-of-day",
            CronTrigger(hour=eod.hour, minute=eod.minute, second=eod.second, timezone=SEOUL),
            daemon.end_of_day,
        ),
        Job("normalize", every(jobs.normalize_interval_s), daemon.normalize),
        Job("compact-intraday", every(jobs.intraday_compact_interval_s), daemon.compact_intraday),
        Job("supervise", every(SUPERVISE_S), daemon.supervise),
    ]


def run_scheduled(daemon: Daemon, stop: threading.Event) -> None:
    """Run the daemon under APScheduler until ``stop`` is set, then stop every child."""
    scheduler = BackgroundScheduler(
        timezone=SEOUL,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    jobs = daemon_jobs(daemon)

    def next_fires() -> None:
        daemon.next_jobs = {
            job.id: int(job.next_run_time.timestamp() * 1e9)
            for job in scheduler.get_jobs()
            if job.next_run_time is not None and job.id != "supervise"
        }

    for job in jobs:
        run = job.run if job.name != "supervise" else (lambda: (next_fires(), daemon.supervise()))
        scheduler.add_job(run, trigger=job.trigger, id=job.name, name=job.name)
    daemon.end_of_day()  # a late start, or a restart, catches up at once
    daemon.supervise()
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        daemon.stop()


class SteppedScheduler:
    """The daemon's jobs fired as a test clock moves: a whole day runs in seconds."""

    def __init__(self, daemon: Daemon, clock: Clock) -> None:
        self.clock = clock
        self.jobs = daemon_jobs(daemon)
        wall = self._wall()
        self.due = {job.name: job.trigger.get_next_fire_time(None, wall) for job in self.jobs}
        daemon.end_of_day()
        daemon.supervise()

    def run_until(self, until_ns: int, step_s: float, *, each: Callable[[], object] = bool) -> None:
        """Move the clock to ``until_ns`` by ``step_s``, firing what falls due (once each per
        step: coalesced), calling ``each`` after every step."""
        while self.clock.now_ns() < until_ns:
            self.clock.advance(min(step_s, (until_ns - self.clock.now_ns()) / 1e9))
            wall = self._wall()
            for job in self.jobs:
                fire = self.due[job.name]
                if fire is None or fire > wall:
                    continue
                while fire is not None and fire <= wall:
                    fire = job.trigger.get_next_fire_time(fire, wall)
                self.due[job.name] = fire
                job.run()
            each()

    def _wall(self) -> dt.datetime:
        """The test clock as the Seoul wall time the triggers speak."""
        return seoul_datetime(self.clock.now_ns())
