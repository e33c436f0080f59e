"""The integrity report of one Seoul day: what raw received, what the lake holds, rejects by
reason, gaps and coverage, time anomalies, and a reconciliation of raw against the lake that
must balance.

The reconciliation: every raw record of the day owes the lake a number of entries, by the rules
of :mod:`storage.report.ledger` (a second implementation of the normalizer's, on purpose): a
data frame of NNN records owes NNN rows or record rejects, anything else received that is not
a control response or a ping owes one reject, a corrupt region one reject, an EVENT or STATE
record that does not read (or a gap_close with no gap open) one reject. Per partition of the
day (quotes and trades per ISIN, rejects), the entries owed must equal the rows the catalog
shows, hist and live tiers alike. Where they differ, the report says which raw segments, and
which raw positions (segment, offset, record_index) are missing from the lake or extra in it.

:func:`build_report` reads raw (storage/report/ledger.py), then the lake through the catalog
(storage/report/report_lake.py), and compares them (storage/report/reconcile.py, pure, as is
:func:`reason_group` here); :func:`save_report` writes ``data_dir/reports/D.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from capture.clock import KRX_SESSION, Clock, seoul_datetime
from storage.compact import read_raw_state
from storage.lake import Lake, partition, position_from_json, write_bytes_durably
from storage.read import (
    CATALOG_NAME,
    build_catalog,
    json_rows,
    named_query,
    open_catalog,
    run_query,
)
from storage.report import ledger, report_lake
from storage.report.reconcile import (
    PartitionCount,
    locate,
    mismatches_table,
    partitions_table,
    reconcile,
    volume_table,
)
from storage.report.volume import KRX_TRADING_OPEN, jumps_table, summary_table
from storage.report.volume_lake import day_continuity

DEFAULT_SKEW_S = 60.0
"""How far from its exchange time a row may be received before it counts as an anomaly."""
DEFAULT_WORST = 10
"""How many examples of each anomaly, and lineage positions of each mismatch, to show."""
REPORTS_FOLDER = "reports"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportSettings:
    """The session (the config's ``[market]``; by default KRX's regular one) and the
    thresholds of one report."""

    session_open: dt.time = KRX_SESSION[0]
    session_close: dt.time = KRX_SESSION[1]
    skew_threshold_s: float = DEFAULT_SKEW_S
    worst: int = DEFAULT_WORST
    trading_open: dt.time = KRX_TRADING_OPEN  # where the volume counter starts


_BYTES = re.compile(r"""b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*\"""")
_VALUE = re.compile(r"(?<= = ).*?(?= is not )")
_ISIN = re.compile(r"\b[A-Z]{2}[0-9A-Z]{9}[0-9]\b")
_NUMBER = re.compile(r"(?<![\w.#-])(?:0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?)(?![\w.-])")


def reason_group(reason: str) -> str:
    """A reject reason with its variable part cut, so like rejects count together.

    The detail after ``": "`` goes (an exception's message, a payload excerpt), unless what
    precedes it is a one-word label such as ``corrupt``; then bytes excerpts, the value in
    ``X = value is not ...``, ISINs and numbers become ``…`` or ``N``::

        ask_price_1 (ASKP1) = 10575.005 is not a valid price
            -> ask_price_1 (ASKP1) = … is not a valid price
        H0BJASP0 frame says 002 records of 34 fields, payload has 33 fields
            -> H0BJASP0 frame says N records of N fields, payload has N fields
    """
    label, colon, rest = reason.partition(": ")
    if colon and " " not in label:
        return f"{label}: {_masked(rest.partition(': ')[0])}"
    return _masked(label)


def _masked(text: str) -> str:
    text = _VALUE.sub("…", _BYTES.sub("…", text))
    return _NUMBER.sub("N", _ISIN.sub("…", text))


def rejects_by_reason(reasons: Iterable[tuple[str, int]]) -> pa.Table:
    """(reason, count) grouped by :func:`reason_group`: the most frequent first, each with its
    most frequent full reason as an example."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for reason, n in reasons:
        groups.setdefault(reason_group(reason), []).append((reason, n))
    rows = [
        {
            "reason": group,
            "rejects": sum(n for _, n in members),
            "example": max(members, key=lambda m: (m[1], m[0]))[0],
        }
        for group, members in groups.items()
    ]
    rows.sort(key=lambda r: (-r["rejects"], r["reason"]))
    schema = [("reason", pa.string()), ("rejects", pa.int64()), ("example", pa.string())]
    return pa.Table.from_pylist(rows, pa.schema(schema))


@dataclass(frozen=True, slots=True)
class Section:
    """A table of the report: ``path`` is where its rows go in the JSON."""

    path: tuple[str, ...]
    title: str
    rows: pa.Table


@dataclass(frozen=True, slots=True)
class Report:
    """One day's report: its sections in order, and the reconciliation's partitions."""

    date: dt.date
    generated_ns: int
    settings: ReportSettings
    segments: tuple[str, ...]  # the raw segments that can hold the day's records
    closed: bool  # no recorder can still write the day, and the normalizer read all of it
    partitions: tuple[PartitionCount, ...]
    sections: tuple[Section, ...]

    @property
    def balanced(self) -> bool:
        return all(p.balanced for p in self.partitions)

    def failure(self) -> str:
        """Which partitions do not balance, for a person ("" when all do)."""
        wrong = [
            f"{partition(p.table, self.date.isoformat(), p.isin)} holds {p.found} rows, "
            f"raw owes it {p.expected}"
            for p in self.partitions
            if not p.balanced
        ]
        if not wrong:
            return ""
        text = f"the report of {self.date} does not balance: {'; '.join(wrong)}"
        if not self.closed:
            text += (
                " (the day is not closed: a recorder may still be writing it or the normalizer "
                "has not read all of it; run `bondtape normalize`, then the report again)"
            )
        return text

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values: decimals as strings, instants in Seoul ISO 8601."""
        s = self.settings
        body: dict[str, Any] = {
            "date": self.date.isoformat(),
            "generated_at": seoul_datetime(self.generated_ns).isoformat(),
            "balanced": self.balanced,
            "settings": {
                "session_open": s.session_open.isoformat(),
                "session_close": s.session_close.isoformat(),
                "skew_threshold_s": s.skew_threshold_s,
                "worst": s.worst,
                "trading_open": s.trading_open.isoformat(),
            },
            "raw": {"segments": list(self.segments), "closed": self.closed},
            "reconciliation": {
                "balanced": self.balanced,
                "expected": sum(p.expected for p in self.partitions),
                "found": sum(p.found for p in self.partitions),
            },
        }
        for section in self.sections:
            node = body
            for key in section.path[:-1]:
                node = node.setdefault(key, {})
            node[section.path[-1]] = json_rows(section.rows)
        return body


def build_report(
    data_dir: Path,
    day: dt.date,
    settings: ReportSettings,
    clock: Clock,
    on_segment: Callable[[int, int], None] | None = None,
) -> Report:
    """Read raw, then the lake through the catalog (built first if there is none), for ``day``;
    ``on_segment(done, total)`` as raw is walked, for a progress bar.

    Raises:
        StorageError: raw, the checkpoint or the catalog cannot be read, or the catalog
            cannot be built.
    """
    raw_dir = data_dir / "raw"
    checkpoint = position_from_json(Lake(data_dir / "lake").read_checkpoint()["position"])
    closed = read_raw_state(data_dir, checkpoint, clock).closed(day)
    now_ns = clock.now_ns()
    tally = ledger.tally(raw_dir, day, on_segment)
    if not (data_dir / CATALOG_NAME).is_file():
        build_catalog(data_dir)
    with open_catalog(data_dir) as con:
        found = report_lake.lake_counts(con, day)
        partitions = reconcile(tally.owed, found)
        wrong = [p for p in partitions if not p.balanced]
        mismatches: list[dict[str, object]] = []
        if wrong:
            owed = ledger.owed_lineage(raw_dir, day, tally.segments, [p.key for p in wrong])
            for p in wrong:
                held = report_lake.lake_lineage(con, day, p.key)
                mismatches += locate(p, owed[p.key], held, settings.worst)
        until = {"date": day.isoformat(), "until": seoul_datetime(now_ns).isoformat()}
        session = {
            "session_open": settings.session_open.isoformat(),
            "session_close": settings.session_close.isoformat(),
        }
        threshold_us = round(settings.skew_threshold_s * 1_000_000)
        backwards = report_lake.exch_time_backwards(con, day, settings.worst)
        far = report_lake.recv_far_from_exch(con, day, threshold_us, settings.worst)
        window = f"{_clock_time(settings.session_open)}-{_clock_time(settings.session_close)}"
        skew = f"more than {settings.skew_threshold_s:g} s"
        volume = day_continuity(con, day, settings.trading_open)
        sections = (
            Section(("raw", "records"), f"Raw records received on {day}", _categories(tally)),
            Section(("volume",), "Data frames and records per table and ISIN: raw, and rows "
                    "in the lake", volume_table(tally, found)),
            Section(("rejects",), "Rejects by reason",
                    rejects_by_reason(report_lake.reject_reasons(con, day))),
            Section(("gaps",), "Gaps opened that day, with durations",
                    run_query(con, named_query("gaps_report"), until)),
            Section(("coverage",), f"Coverage of the session {window} per ISIN",
                    run_query(con, named_query("coverage"), until | session)),
            Section(("time_anomalies", "exch_time_backwards", "by_feed"),
                    "exch_time going backwards in receive order, per feed", backwards[0]),
            Section(("time_anomalies", "exch_time_backwards", "worst"),
                    "exch_time going backwards: the largest steps back", backwards[1]),
            Section(("time_anomalies", "recv_far_from_exch", "by_feed"),
                    f"Received {skew} from exch_ts, per feed", far[0]),
            Section(("time_anomalies", "recv_far_from_exch", "worst"),
                    f"Received {skew} from exch_ts: the farthest", far[1]),
            Section(("volume_continuity", "by_isin"), "Volume continuity per ISIN: KIS's "
                    "ACML_VOL against the trades held (information)", summary_table(volume)),
            Section(("volume_continuity", "jumps"), "Volume missing between two trades: "
                    "across a gap (explained) or while connected (silent)", jumps_table(volume)),
            Section(("reconciliation", "partitions"),
                    "Reconciliation: entries raw owes each partition, and rows it holds",
                    partitions_table(day, partitions)),
            Section(("reconciliation", "mismatches"), "Mismatches: raw segments, and raw "
                    "positions missing from or extra in the lake", mismatches_table(mismatches)),
        )  # fmt: skip
    return Report(day, now_ns, settings, tuple(tally.segments), closed, tuple(partitions),
                  sections)  # fmt: skip


def _clock_time(t: dt.time) -> str:
    """HH:MM, with the seconds when a session (a test's, the demo's) has them."""
    return f"{t:%H:%M:%S}" if t.second else f"{t:%H:%M}"


def save_report(data_dir: Path, report: Report) -> Path:
    """Write ``data_dir/reports/D.json`` durably; its path.

    Raises:
        StorageError: the file cannot be written.
    """
    path = data_dir / REPORTS_FOLDER / f"{report.date.isoformat()}.json"
    text = json.dumps(report.to_json(), indent=1, ensure_ascii=False) + "\n"
    write_bytes_durably(path, text.encode("utf-8"))
    return path


def _categories(tally: ledger.RawTally) -> pa.Table:
    return pa.table(
        {
            "category": [c.value for c in ledger.Category],
            "records": [tally.categories[c] for c in ledger.Category],
        },
        pa.schema([("category", pa.string()), ("records", pa.int64())]),
    )
