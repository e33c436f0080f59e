"""Reads while the lake is written: the real compaction (intraday, daily) and a rebuild loop in
a child process while readers loop on every read path at once, each read checked against the
rows the raw log is known to hold. Issue 17: a read returns each row of one consistent state
of the lake exactly once, and never fails because a file went away.

The lake: three Seoul days of many ISINs, the last still being recorded (this process holds
the raw writer open), normalized in small batches, so each partition holds several live
files. Every step of the child's loop keeps the same rows, so every read, at any instant,
must see all of them: ``normalize --rebuild`` (the lake re-derived from raw, the tables
swapped in), ``compact --intraday`` (the open day's closed hour merged) and ``compact`` (the
closed days into hist).

Paths: a plain DuckDB client on catalog.duckdb (a connection per read, as a notebook cell
that opens it), ``bondtape sql``, ``bondtape query``, ``bondtape book`` (each its command's
``main`` in-process, one thread each), and the Python iterator (``bondtape.Lake`` when that
package exists, else ``storage.event_batches``). ``BONDTAPE_STRESS_S`` runs the loop at least
that many seconds (a longer run); by default it stops once every path has its reads.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import importlib.util
import io
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import duckdb
import pytest

from capture.clock import SEOUL, ManualClock
from capture.kis.isin import check_digit
from capture.kis.layouts import ORDER_BOOK, TRADES
from capture.kis.protocol import data_frame
from capture.rawlog import RawLogWriter, RecordKind
from jobs.cli import main
from storage.normalize.normalizer import normalize
from tests.support.rawdata import record

DAYS = [dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 26)]
ISINS = [body + check_digit(body) for body in (f"KR1035{i:05d}" for i in range(3))]
ROUNDS = 2  # frames per ISIN, TR and hourly segment
BATCH_RECORDS = len(ISINS) * 2 * ROUNDS // 2  # two live files per partition and segment
MIN_READS = 500
STRESS_S = float(os.environ.get("BONDTAPE_STRESS_S", "0"))
LIMIT_S = max(85.0, STRESS_S + 30)
REPO = Path(__file__).resolve().parents[2]

LINEAGE_SQL = """SELECT count(*) AS n,
    count(DISTINCT (segment, "offset", record_index)) AS distinct_lineage FROM quotes"""

STEPS = (
    ("rebuild", ["normalize", "--rebuild", "--batch-records", str(BATCH_RECORDS)]),
    ("intraday", ["compact", "--intraday"]),
    ("daily", ["compact"]),
)


def seoul_ns(day: dt.date, hour: int) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hour, tzinfo=SEOUL).timestamp()) * 10**9


def record_days(data_dir: Path) -> tuple[RawLogWriter, Counter[tuple[str, str]]]:
    """Two hourly segments a day of one-record frames, every ISIN and TR in each round; the
    writer stays open on the last day's second segment (that day is still open). The rows
    per table and day."""
    rng = random.Random(17)
    clock = ManualClock(seoul_ns(DAYS[0], 10))
    writer = RawLogWriter(
        data_dir / "raw", "stress", clock=clock, fsync_interval_s=None, seal_in_background=False
    )
    rows: Counter[tuple[str, str]] = Counter()
    for day in DAYS:
        for hour in (10, 11) if day == DAYS[-1] else (10,):
            clock.set_ns(seoul_ns(day, hour))
            for _ in range(ROUNDS):
                for isin in ISINS:
                    for layout in (ORDER_BOOK, TRADES):
                        frame = data_frame(layout.tr_id, [record(rng, layout.tr_id, isin)])
                        clock.advance(0.01)
                        writer.append(RecordKind.FRAME_RECV, 1, frame.encode())
                        rows[layout.table, day.isoformat()] += 1
    return writer, rows


def write_loop(data_dir: str, stop_file: str, progress_file: str) -> int:
    """The child: rebuild, intraday, daily, again, until ``stop_file`` exists; each step's name
    appended to ``progress_file`` when it finished. Its exit status: 0, or the first failing
    command's."""
    with open(progress_file, "a", buffering=1) as progress:
        while not os.path.exists(stop_file):
            for name, argv in STEPS:
                status = main([*argv, "--data-dir", data_dir])
                if status:
                    progress.write(f"{name} failed: exit status {status}\n")
                    return status
                progress.write(f"{name}\n")
    return 0


class ThreadStreams(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` for threads that each capture their own output (the
    commands print to the process's streams); other threads write through."""

    def __init__(self, through: TextIO) -> None:
        self.through = through
        self.local = threading.local()

    @contextlib.contextmanager
    def captured(self) -> Iterator[io.StringIO]:
        self.local.buffer = buffer = io.StringIO()
        try:
            yield buffer
        finally:
            self.local.buffer = None

    def write(self, text: str) -> int:
        return (getattr(self.local, "buffer", None) or self.through).write(text)

    def flush(self) -> None:
        if getattr(self.local, "buffer", None) is None:
            self.through.flush()

    def isatty(self) -> bool:
        return False


@dataclass
class Tally:
    """One path's reads: how many, how many answered wrong or failed, and a few of each."""

    reads: int = 0
    wrong: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def note(self, kind: str, text: str) -> None:
        if len(self.samples) < 4:
            self.samples.append(f"{kind}: {text.strip()[:300]}")


Read = Callable[[int], tuple[Any, Any]]  # read number -> (what it asked, what it got)


def run_command(streams: tuple[ThreadStreams, ThreadStreams], argv: list[str]) -> str:
    """A command's stdout; its stderr in the error when it fails."""
    out, err = streams
    with out.captured() as stdout, err.captured() as stderr:
        status = main(argv)
    if status:
        raise RuntimeError(f"exit status {status}: {stderr.getvalue()}")
    return stdout.getvalue()


def read_paths(
    data_dir: Path, streams: tuple[ThreadStreams, ThreadStreams], work: Path
) -> tuple[dict[str, Read], list[str]]:
    """Each read path as a function of the read's number, and notes on how each path runs."""
    d = str(data_dir)
    notes = []

    def duckdb_client(_: int) -> tuple[Any, Any]:
        con = duckdb.connect(str(data_dir / "catalog.duckdb"), read_only=True)
        try:
            return "all", tuple(con.execute(LINEAGE_SQL).fetchone() or ())
        finally:
            con.close()

    def sql_command(_: int) -> tuple[Any, Any]:
        out = work / f"sql-{threading.get_ident()}.csv"
        run_command(
            streams, ["sql", LINEAGE_SQL, "--data-dir", d, "--format", "csv", "-o", str(out)]
        )
        (row,) = list(csv.DictReader(out.open()))
        return "all", (int(row["n"]), int(row["distinct_lineage"]))

    def query_command(n: int) -> tuple[Any, Any]:
        day = DAYS[n % len(DAYS)].isoformat()
        out = work / f"query-{threading.get_ident()}.csv"
        run_command(streams, ["query", "trades_summary", "--param", f"date={day}", "--data-dir",
                              d, "--format", "csv", "-o", str(out)])  # fmt: skip
        return day, out.read_text()

    def book_command(n: int) -> tuple[Any, Any]:
        isin, day = ISINS[n // len(DAYS) % len(ISINS)], DAYS[n % len(DAYS)].isoformat()
        return (isin, day), run_command(streams, ["book", isin, "--date", day, "--data-dir", d])

    if importlib.util.find_spec("bondtape") is not None:
        import bondtape  # the Python API of issue 17; one object held as a notebook holds it

        lake = bondtape.Lake(data_dir)  # type: ignore[attr-defined]

        def batches(day: dt.date) -> Iterator[Any]:
            return lake.event_batches(day)

        notes.append("python iterator: bondtape.Lake(data_dir).event_batches, one Lake held")
    else:
        from storage.read.history import event_batches

        def batches(day: dt.date) -> Iterator[Any]:
            return event_batches(data_dir, day)

        notes.append("python iterator: storage.event_batches (no `bondtape` package here)")

    def python_iterator(n: int) -> tuple[Any, Any]:
        day, rows, lineage = DAYS[n % len(DAYS)], 0, set()
        for batch in batches(day):
            rows += batch.num_rows
            columns = [batch.column(c).to_pylist() for c in ("segment", "offset", "record_index")]
            lineage.update(zip(*columns, strict=True))
        return day.isoformat(), (rows, len(lineage))

    paths = {
        "duckdb client": duckdb_client,
        "bondtape sql": sql_command,
        "bondtape query": query_command,
        "bondtape book": book_command,
        "python iterator": python_iterator,
    }
    return paths, notes


def read_loop(read: Read, expected: dict[Any, Any], tally: Tally, stop: threading.Event) -> None:
    """Read until ``stop``, comparing each answer with what the quiet lake answered."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            asked, got = read(n)
        except Exception as exc:  # every failure of a read is what is counted
            tally.reads += 1
            tally.errors += 1
            tally.note("error", f"{type(exc).__name__}: {exc}")
            continue
        tally.reads += 1
        if got != expected[asked]:
            tally.wrong += 1
            tally.note("wrong", f"{asked}: {got!r}"[:300])


def test_every_read_path_sees_every_row_once_while_compaction_and_rebuilds_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    writer, rows = record_days(data_dir)
    try:
        normalize(data_dir, batch_records=BATCH_RECORDS)
        assert main(["catalog", "--data-dir", str(data_dir)]) == 0
        streams = (ThreadStreams(sys.stdout), ThreadStreams(sys.stderr))
        monkeypatch.setattr(sys, "stdout", streams[0])
        monkeypatch.setattr(sys, "stderr", streams[1])
        monkeypatch.setenv("COLUMNS", "160")  # the book's table whole, not cut to 80
        paths, notes = read_paths(data_dir, streams, work)
        expected = quiet_answers(paths, rows)

        stop_file, progress_file = work / "stop", work / "progress"
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; from tests.storage.test_reads_under_writes "
             "import write_loop; sys.exit(write_loop(*sys.argv[1:]))",
             str(data_dir), str(stop_file), str(progress_file)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        tallies = {name: Tally() for name in paths}
        stop = threading.Event()
        readers = [
            threading.Thread(target=read_loop, args=(read, expected[name], tallies[name], stop))
            for name, read in paths.items()
        ]
        started = time.monotonic()
        for reader in readers:
            reader.start()
        try:
            while time.monotonic() - started < LIMIT_S and child.poll() is None:
                steps = progress_file.read_text().split() if progress_file.exists() else []
                if (
                    min(t.reads for t in tallies.values()) >= MIN_READS
                    and all(steps.count(name) >= 2 for name, _ in STEPS)
                    and time.monotonic() - started >= STRESS_S
                ):
                    break
                stop.wait(0.2)
        finally:
            stop.set()
            for reader in readers:
                reader.join(timeout=120)
            stop_file.touch()
            _, child_err = child.communicate(timeout=300)
        elapsed = time.monotonic() - started
    finally:
        writer.close()
    steps = progress_file.read_text().split("\n") if progress_file.exists() else []
    report = summary(tallies, steps, elapsed, notes)
    print(report, file=streams[0].through)
    assert child.returncode == 0, f"the compaction loop failed: {steps[-2:]}\n{child_err[-2000:]}"
    assert all(steps.count(name) >= 1 for name, _ in STEPS), report
    assert all(t.wrong == 0 and t.errors == 0 for t in tallies.values()), report
    assert all(t.reads >= MIN_READS for t in tallies.values()), f"too few reads\n{report}"


def quiet_answers(
    paths: dict[str, Read], rows: Counter[tuple[str, str]]
) -> dict[str, dict[Any, Any]]:
    """Each path's answers on the quiet lake, to every question it asks in the loop, checked
    against the rows recorded (the books: that there is one)."""
    answers: dict[str, dict[Any, Any]] = {}
    quotes = sum(n for (table, _), n in rows.items() if table == "quotes")
    for name, read in paths.items():
        answers[name] = dict(read(n) for n in range(len(ISINS) * len(DAYS)))
    for name in ("duckdb client", "bondtape sql"):
        assert answers[name] == {"all": (quotes, quotes)}, name
    for day, answer in answers["python iterator"].items():
        day_rows = rows["quotes", day] + rows["trades", day]
        assert answer == (day_rows, day_rows), day
    for day, text in answers["bondtape query"].items():
        trades = sum(int(row["trades"]) for row in csv.DictReader(io.StringIO(text)))
        assert trades == rows["trades", day], day
    assert len(answers["bondtape book"]) == len(ISINS) * len(DAYS)
    for (isin, day), text in answers["bondtape book"].items():
        assert isin in text and f"received {day}" in text and "total" in text, text
    return answers


def summary(tallies: dict[str, Tally], steps: list[str], elapsed: float, notes: list[str]) -> str:
    done = ", ".join(f"{name} x{steps.count(name)}" for name, _ in STEPS)
    lines = [f"reads under writes, {elapsed:.0f} s; the child ran {done}", *notes]
    lines.append(f"{'path':18} {'reads':>6} {'wrong':>6} {'errors':>6}")
    for name, tally in tallies.items():
        lines.append(f"{name:18} {tally.reads:>6} {tally.wrong:>6} {tally.errors:>6}")
        lines += [f"    {sample}" for sample in tally.samples]
    return "\n".join(lines)
