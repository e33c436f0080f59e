"""The recorder's Prometheus metrics, served on ``[metrics] port`` (GET /metrics).

Counters the receive loop already keeps (frames and records by TR, reconnects, gap seconds)
are read when Prometheus scrapes, by a collector, so the hot path pays nothing for them;
only the raw writer's latencies are observed as they happen (one histogram observation per
record written and per fsync). A registry of its own, not prometheus_client's global one.

Metrics (all ``bondtape_``): ``frames_total{tr}``, ``records_total{tr}``,
``reconnects_total{credential}``, ``subscriptions{credential}``, ``gap_seconds_total`` (gaps
closed), ``open_gaps``, ``open_gap_seconds``, ``oldest_open_gap_seconds``,
``last_frame_age_seconds{tr}``, ``stale_feeds{tr}``, ``disk_free_bytes``, ``raw_write_seconds``
and ``raw_fsync_seconds`` (histograms), ``rest_snapshots_total{credential,outcome}`` (REST
book snapshots ``fetched``, ``failed`` after every attempt, or ``retried``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from capture.clock import NS_PER_S, Clock

if TYPE_CHECKING:
    from capture.recorder.session import Session

WRITE_BUCKETS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1)
FSYNC_BUCKETS = (1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


class RecorderMetrics:
    """The registry of one recorder; ``sessions()`` gives its sessions at scrape time."""

    def __init__(
        self, data_dir: Path, sessions: Callable[[], Sequence[Session]], clock: Clock
    ) -> None:
        self.registry = CollectorRegistry()
        self.write_seconds = Histogram(
            "bondtape_raw_write_seconds", "Time to hand one record to the OS (os.write)",
            buckets=WRITE_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.fsync_seconds = Histogram(
            "bondtape_raw_fsync_seconds", "Time of one fsync of the raw segment",
            buckets=FSYNC_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.registry.register(_SessionCollector(data_dir, sessions, clock))


class _SessionCollector:
    """Reads the sessions' own counters at each scrape."""

    def __init__(
        self, data_dir: Path, sessions: Callable[[], Sequence[Session]], clock: Clock
    ) -> None:
        self._data_dir, self._sessions, self._clock = data_dir, sessions, clock

    def describe(self) -> list[Metric]:
        return []  # collected on demand: nothing to describe ahead of a scrape

    def collect(self) -> Iterator[Metric]:
        now_ns = self._clock.now_ns()
        sessions = list(self._sessions())
        frames = CounterMetricFamily("bondtape_frames", "Data frames received", labels=["tr"])
        records = CounterMetricFamily("bondtape_records", "Records in them", labels=["tr"])
        age = GaugeMetricFamily(
            "bondtape_last_frame_age_seconds", "Seconds since the last data frame", labels=["tr"]
        )
        stale = GaugeMetricFamily(
            "bondtape_stale_feeds", "(TR, ISIN) pairs silent past their threshold", labels=["tr"]
        )
        by_tr: dict[str, list[int]] = {}
        stale_by_tr: dict[str, int] = {}
        for session in sessions:
            for tr, seen in session.health.arrivals.by_tr.items():
                total = by_tr.setdefault(tr.decode(), [0, 0, 0])
                total[0] += seen[0]
                total[1] += seen[1]
                total[2] = max(total[2], seen[2])
            for silence in session.health.stale(now_ns):
                stale_by_tr[silence.pair[0]] = stale_by_tr.get(silence.pair[0], 0) + 1
        for tr, (n_frames, n_records, last_ns) in sorted(by_tr.items()):
            frames.add_metric([tr], n_frames)
            records.add_metric([tr], n_records)
            if last_ns:
                age.add_metric([tr], (now_ns - last_ns) / NS_PER_S)
            stale.add_metric([tr], stale_by_tr.get(tr, 0))
        yield from (frames, records, age, stale)
        yield from self._per_credential(sessions)
        yield from self._gaps(sessions, now_ns)
        yield GaugeMetricFamily(
            "bondtape_disk_free_bytes", "Free bytes on data_dir's filesystem",
            value=shutil.disk_usage(self._data_dir).free,
        )  # fmt: skip

    @staticmethod
    def _per_credential(sessions: Sequence[Session]) -> Iterator[Metric]:
        reconnects = CounterMetricFamily(
            "bondtape_reconnects", "Connections lost and retried", labels=["credential"]
        )
        subscriptions = GaugeMetricFamily(
            "bondtape_subscriptions", "Registrations acked on the live connection",
            labels=["credential"],
        )  # fmt: skip
        snapshots = CounterMetricFamily(
            "bondtape_rest_snapshots", "REST book snapshots at subscription acks, by outcome",
            labels=["credential", "outcome"],
        )  # fmt: skip
        for session in sessions:
            reconnects.add_metric([session.credential.name], session.reconnects)
            subscriptions.add_metric([session.credential.name], session.subscribed())
            if session.snapshots is not None:
                for outcome in ("fetched", "failed", "retries"):
                    label = "retried" if outcome == "retries" else outcome
                    count = getattr(session.snapshots, outcome)
                    snapshots.add_metric([session.credential.name, label], count)
        yield from (reconnects, subscriptions, snapshots)

    @staticmethod
    def _gaps(sessions: Sequence[Session], now_ns: int) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "bondtape_gap_seconds", "Seconds of (TR, ISIN) gaps closed, summed over pairs",
            value=sum(s.gaps.closed_s_total for s in sessions),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "bondtape_open_gaps", "(TR, ISIN) pairs in a gap now",
            value=sum(len(s.gaps) for s in sessions),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "bondtape_open_gap_seconds", "Seconds the open gaps have lasted, summed",
            value=sum(s.gaps.open_seconds(now_ns) for s in sessions),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "bondtape_oldest_open_gap_seconds", "Seconds the longest-open gap has lasted",
            value=max((s.gaps.oldest_open_seconds(now_ns) for s in sessions), default=0),
        )  # fmt: skip
