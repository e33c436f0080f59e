"""A daemon's trading day in miniature against a faulty simulator, for the reliability tests.

`bondtape run` records a session window of a few seconds around now from an in-process
simulator that drops connections, stalls and sends malformed frames, and writes its truth
file; the end of day then normalizes, compacts, builds the catalog and writes the report.
What a test does to the processes meanwhile (kill -9 rounds, sampling their memory) is its
own; this module starts and ends the day, and reads back what the views hold.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from capture.clock import SEOUL
from capture.kis.layouts import LAYOUTS
from capture.status_files import DAEMON_STATE_NAME
from jobs.daemon.daemon import EOD_STEPS
from tests.support.lake_values import as_sent, comparable
from tests.support.recorder import Sim, bondtape, isins, simulator, write_config

IN_FLIGHT_SLACK_NS = 500_000_000
"""A record lost with its connection may have been sent just before the last frame the
recorder got on it arrived (a batch goes out at one ``sent_ns``; loopback delivers in
microseconds, a loaded machine in up to a few hundred ms): gaps start at that last frame."""

Key = tuple[str, tuple[str, ...]]  # (tr_id, the values as sent)
Gaps = dict[tuple[str, str], list[tuple[int, int | None]]]  # (start_ns, end_ns) by pair


@dataclass
class Day:
    """The files of one daemon day and what the test did to it."""

    tmp: Path
    sim: Sim
    config: Path
    env: dict[str, str]
    today: str
    end_of_day: dt.datetime
    outputs: list[Path] = field(default_factory=list)  # every process's captured stdout/stderr

    @property
    def data(self) -> Path:
        return self.tmp / "data"

    def state(self) -> dict[str, Any]:
        try:
            return json.loads((self.data / DAEMON_STATE_NAME).read_text())
        except (OSError, ValueError):
            return {}

    def day_closed(self) -> bool:
        steps = self.state().get("end_of_day", {}).get(self.today, {})
        return all(steps.get(s, {}).get("result") == "ok" for s in EOD_STEPS)

    def start_daemon(self) -> subprocess.Popen[bytes]:
        return self.bondtape("run", "--config", str(self.config))

    def bondtape(self, *args: str) -> subprocess.Popen[bytes]:
        """A `bondtape` command whose output goes to a file kept for the secrets scan."""
        out = self.tmp / f"out-{len(self.outputs)}-{args[0]}.txt"
        self.outputs.append(out)
        with out.open("wb") as sink:
            return bondtape(*args, env=self.env, stdout=sink, stderr=subprocess.STDOUT)

    def secrets(self) -> list[str]:
        """The app keys and secrets of the config and every approval key issued."""
        return [*self.env.values(), *self.sim.simulator.approval_keys_issued]


ISINS = 3
PAIRS = ISINS * len(LAYOUTS)
"""The (TR, ISIN) subscriptions of a day: the simulator's ``rate`` is per subscription."""


@contextmanager
def daemon_day(tmp: Path, *, session_s: float, rate: float, **faults: Any) -> Iterator[Day]:
    """A simulator with ``faults`` and a config whose session is ``session_s`` from now and
    whose end of day follows 3 s later; the caller runs the daemon. Skips near midnight."""
    now = dt.datetime.now(SEOUL)
    close = now + dt.timedelta(seconds=session_s)
    end_of_day = close + dt.timedelta(seconds=3)
    if end_of_day.date() != now.date():
        import pytest

        pytest.skip("a session around now would cross Seoul midnight")
    today = now.date().isoformat()
    with simulator(tmp, rate=rate, **faults) as sim:
        config, env = write_config(tmp, sim, isins(ISINS), trs=tuple(LAYOUTS))
        config.write_text(
            config.read_text()
            + f'[market]\nsession_open = "{(now - dt.timedelta(minutes=1)):%H:%M:%S}"\n'
            f'session_close = "{close:%H:%M:%S}"\nrecord_margin_min = 0\n'
            f'extra_trading_days = ["{today}"]\n'
            f"[jobs]\nnormalize_interval_s = 1\nintraday_compact_interval_s = 2\n"
            f'end_of_day = "{end_of_day:%H:%M:%S}"\n'
        )
        yield Day(tmp, sim, config, env, today, end_of_day)


def truth_lines(sim: Sim) -> list[dict[str, Any]]:
    return [json.loads(line) for line in sim.truth.read_text().splitlines()]


def truth_key(line: dict[str, Any]) -> Key:
    fields = LAYOUTS[line["tr_id"]].fields
    return line["tr_id"], tuple(
        comparable(f.kind, v) for f, v in zip(fields, line["values"], strict=True)
    )


def view_keys(catalog: Path) -> Counter[Key]:
    """Every row of the quotes and trades views, as the values the simulator sent."""
    found: Counter[Key] = Counter()
    with duckdb.connect(str(catalog), read_only=True) as con:
        for tr_id, layout in LAYOUTS.items():
            columns = ", ".join(f'"{c}"' for c in layout.columns)
            kinds = [f.kind for f in layout.fields]
            for row in con.sql(f"SELECT {columns} FROM {layout.table}").fetchall():
                found[tr_id, tuple(as_sent(k, v) for k, v in zip(kinds, row, strict=True))] += 1
    return found


def duplicate_lineage(catalog: Path) -> int:
    """View rows that share a raw position with another row (each position is one record)."""
    with duckdb.connect(str(catalog), read_only=True) as con:
        return sum(
            con.sql(
                f'SELECT count(*) - count(DISTINCT (segment, "offset", record_index)) FROM {t}'
            ).fetchall()[0][0]
            for t in ("quotes", "trades")
        )


def gap_rows(catalog: Path) -> Gaps:
    """(start_ns, end_ns or None while open) of each gap, by (TR, ISIN)."""
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.sql(
            "SELECT tr_id, isin, epoch_us(start_ts) * 1000, epoch_us(end_ts) * 1000 FROM gaps"
        ).fetchall()
    out: Gaps = {}
    for tr_id, isin, start, end in rows:
        out.setdefault((tr_id, isin), []).append((start, end))
    return out


def in_a_gap(
    line: dict[str, Any], gaps: dict[tuple[str, str], list[tuple[int, int | None]]]
) -> bool:
    pair = (line["tr_id"], line["values"][0])  # a record's first field is its ISIN
    sent = line["sent_ns"]
    return any(
        start - IN_FLIGHT_SLACK_NS <= sent and (end is None or sent <= end)
        for start, end in gaps.get(pair, [])
    )


@dataclass(frozen=True)
class Reconciled:
    sent: int
    in_views: int
    in_gaps: int
    unaccounted: list[dict[str, Any]]
    phantoms: Counter[Key]  # view rows the simulator never sent (or more often than sent)


def reconcile(lines: list[dict[str, Any]], catalog: Path) -> Reconciled:
    """Match the views against the truth: every record sent is a view row (once), or lies in
    a gap of its (TR, ISIN); no view row is extra."""
    views = view_keys(catalog)
    remaining = Counter(views)
    gaps = gap_rows(catalog)
    sent = [line for line in lines if "values" in line]
    in_views = in_gaps = 0
    unaccounted = []
    for line in sent:
        key = truth_key(line)
        if remaining[key] > 0:
            remaining[key] -= 1
            in_views += 1
        elif in_a_gap(line, gaps):
            in_gaps += 1
        else:
            unaccounted.append(line)
    return Reconciled(len(sent), in_views, in_gaps, unaccounted, +remaining)
