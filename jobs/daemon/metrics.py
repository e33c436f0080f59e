"""The daemon's Prometheus metrics, served on ``[metrics] daemon_port`` (GET /metrics).

Read from the daemon's own state at each scrape, under its decisions lock, and from data_dir
(the normalizer's lag and the free disk, as ``bondtape status`` computes them). A registry of
its own, not prometheus_client's global one.

Metrics (all ``bondtape_``): ``recorder_up``, ``recording_window`` (1 while the recorder
should run), ``recorder_restarts_total``, ``job_runs_total{job,result}``,
``job_last_seconds{job}``, ``normalizer_lag_bytes``, ``normalizer_lag_seconds``,
``disk_free_bytes``, ``volume_missing_today{kind}`` (volume KIS's counter says traded today
with no trade in the lake, ``silent`` or ``explained`` by a gap; absent without a catalog).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from capture.clock import seoul_date
from capture.prometheus import serve as serve_registry
from jobs.daemon.daemon import Daemon
from jobs.status import normalizer_lag
from storage.report import volume_today


def serve(daemon: Daemon, address: str, port: int) -> Callable[[], None]:
    """Serve the daemon's metrics on ``address:port``; the function that stops it.

    Raises:
        ConfigError: the port cannot be bound.
    """
    registry = CollectorRegistry()
    registry.register(_DaemonCollector(daemon))
    return serve_registry(registry, address, port, "metrics.daemon_port")


class _DaemonCollector:
    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    def describe(self) -> list[Metric]:
        return []  # collected on demand

    def collect(self) -> Iterator[Metric]:
        daemon = self._daemon
        now_ns = daemon.clock.now_ns()
        with daemon.decisions:
            up = daemon.recorder.child is not None
            restarts = daemon.recorder.restarts
            window = daemon.recording(now_ns)
            jobs = {
                name: (dict(job.results), job.seconds) for name, job in daemon.state.jobs.items()
            }
        yield GaugeMetricFamily("bondtape_recorder_up", "1 while the recorder runs", value=up)
        yield GaugeMetricFamily(
            "bondtape_recording_window", "1 while the calendar says record", value=window
        )
        yield CounterMetricFamily(
            "bondtape_recorder_restarts", "Recorders restarted after dying", value=restarts
        )
        runs = CounterMetricFamily("bondtape_job_runs", "Jobs finished", labels=["job", "result"])
        last = GaugeMetricFamily(
            "bondtape_job_last_seconds", "Duration of each job's last run", labels=["job"]
        )
        for name, (results, seconds) in sorted(jobs.items()):
            for result, count in sorted(results.items()):
                runs.add_metric([name, result], count)
            if seconds is not None:
                last.add_metric([name], seconds)
        yield from (runs, last)
        lag = normalizer_lag(daemon.data_dir, now_ns)
        yield GaugeMetricFamily(
            "bondtape_normalizer_lag_bytes", "Raw bytes not yet in the lake",
            value=lag["behind_bytes"],
        )  # fmt: skip
        if lag["behind_s"] is not None:
            yield GaugeMetricFamily(
                "bondtape_normalizer_lag_seconds", "Age of the oldest raw record not in the lake",
                value=lag["behind_s"],
            )  # fmt: skip
        yield GaugeMetricFamily(
            "bondtape_disk_free_bytes", "Free bytes on data_dir's filesystem",
            value=shutil.disk_usage(daemon.data_dir).free,
        )  # fmt: skip
        volume = volume_today(daemon.data_dir, seoul_date(now_ns))
        if volume is not None:
            missing = GaugeMetricFamily(
                "bondtape_volume_missing_today", "Volume counted by ACML_VOL today that the "
                "lake holds no trade for", labels=["kind"],
            )  # fmt: skip
            missing.add_metric(["silent"], volume["silent_volume"])
            missing.add_metric(["explained"], volume["explained_volume"])
            yield missing
