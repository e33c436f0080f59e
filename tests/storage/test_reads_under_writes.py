"""Reads while the lake is written: the real compaction (intraday, daily) and a rebuild loop in
a child process while readers loop on every read path at once, each read checked against the
rows the raw log is known to hold. Issue 17: a read returns each row of one consistent state
of the lake exactly once, and never fails because a file went away.

The lake: three Seoul days, the last still being recorded (the test holds the raw writer
open), normalized in small batches, so each partition holds several live files; few ISINs,
as a read costs 40-90 ms of CPU, mostly fixed, and every path needs its reads. Every step of
the child's loop keeps the same rows, so every read, at any instant, must see all of them:
``normalize --rebuild`` (the lake re-derived from raw, each rebuilt file renamed over its
path, the files it took out kept for the retention), ``compact --intraday`` (the open day's
closed hour merged) and ``compact`` (the closed days into hist).

Paths, each looping in a process of its own: a plain DuckDB client on catalog.duckdb (a
connection per read, as a notebook cell that opens it), ``bondtape sql``, ``bondtape query``
and ``bondtape book`` (the command's ``main``, called in the process), and the Python iterator
(``bondtape.Lake`` when that package exists, one object held; else ``storage.event_batches``;
the report says which). By default a path stops once it has its reads and the child has run
each step twice (about 90 s on two idle cores; a run that failed stops at 90 s);
``BONDTAPE_STRESS_S=600`` keeps every path reading at least that many seconds.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import importlib.util
import io
import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
LIMIT_S = max(300.0, STRESS_S + 60)  # a cap for a loaded machine: about 90 s on 2 idle cores
FAILED_S = 90.0  # a run that has seen a wrong read or an error stops after this
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
    """The child: rebuild, intraday, daily, again, until ``stop_file`` exists; each step's
    name appended to ``progress_file`` when it has finished. Its exit status: 0, or the first
    failing command's."""
    with open(progress_file, "a", buffering=1) as progress:
        for name, argv in itertools.cycle(STEPS):
            if os.path.exists(stop_file):
                break
            status = main([*argv, "--data-dir", data_dir])
            if status:
                progress.write(f"{name} failed: exit status {status}\n")
                return status
            progress.write(f"{name}\n")
    return 0


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


Read = Callable[[int], tuple[str, Any]]  # read number -> (what it asked, what it got)


def run_command(argv: list[str]) -> str:
    """A command's stdout; its stderr in the error when it fails (one thread per process)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    if status:
        raise RuntimeError(f"exit status {status}: {err.getvalue()}")
    return out.getvalue()


def read_path(name: str, data_dir: Path, work: Path) -> tuple[Read, str]:
    """Path ``name`` as a function of the read's number, and how it runs. A read's question
    and answer are JSON values, so a reader process compares them with the quiet answers."""
    d = str(data_dir)
    how = name

    def duckdb_client(_: int) -> tuple[str, Any]:
        con = duckdb.connect(str(data_dir / "catalog.duckdb"), read_only=True)
        try:
            return "all", list(con.execute(LINEAGE_SQL).fetchall()[0])
        finally:
            con.close()

    def sql_command(_: int) -> tuple[str, Any]:
        out = work / f"sql-{os.getpid()}.csv"
        run_command(["sql", LINEAGE_SQL, "--data-dir", d, "--format", "csv", "-o", str(out)])
        (row,) = list(csv.DictReader(out.open()))
        return "all", [int(row["n"]), int(row["distinct_lineage"])]

    def query_command(n: int) -> tuple[str, Any]:
        day = DAYS[n % len(DAYS)].isoformat()
        out = work / f"query-{os.getpid()}.csv"
        run_command(["query", "trades_summary", "--param", f"date={day}", "--data-dir", d,
                     "--format", "csv", "-o", str(out)])  # fmt: skip
        return day, out.read_text()

    def book_command(n: int) -> tuple[str, Any]:
        isin, day = ISINS[n // len(DAYS) % len(ISINS)], DAYS[n % len(DAYS)].isoformat()
        return f"{isin} {day}", run_command(["book", isin, "--date", day, "--data-dir", d])

    def python_iterator(n: int) -> tuple[str, Any]:
        day, rows, lineage = DAYS[n % len(DAYS)], 0, set()
        for batch in batches(day):
            rows += batch.num_rows
            columns = [batch.column(c).to_pylist() for c in ("segment", "offset", "record_index")]
            lineage.update(zip(*columns, strict=True))
        return day.isoformat(), [rows, len(lineage)]

    if name == "python iterator" and importlib.util.find_spec("bondtape") is not None:
        import bondtape  # the Python API of issue 17; one object held, as a notebook holds it

        lake = bondtape.Lake(data_dir)  # type: ignore[attr-defined]

        def batches(day: dt.date) -> Iterator[Any]:
            return lake.event_batches(day)

        how = "python iterator: bondtape.Lake(data_dir).event_batches, one Lake held"
    elif name == "python iterator":
        from storage.read.history import event_batches

        def batches(day: dt.date) -> Iterator[Any]:
            return event_batches(data_dir, day)

        how = "python iterator: storage.event_batches (there is no `bondtape` package here)"
    paths = {
        "duckdb client": duckdb_client,
        "bondtape sql": sql_command,
        "bondtape query": query_command,
        "bondtape book": book_command,
        "python iterator": python_iterator,
    }
    return paths[name], how


PATHS = ("duckdb client", "bondtape sql", "bondtape query", "bondtape book", "python iterator")


def reader(name: str, data_dir: str, work: str) -> None:
    """A reader process: read path ``name``, each answer compared with ``work/quiet.json``,
    until ``work/stop`` exists, or it has its reads and ``work/enough`` exists (the writes ran
    long enough: a path done early leaves the cores to the slower ones); the tally in
    ``work/<name>.json``, rewritten every few reads."""
    folder = Path(work)
    read, how = read_path(name, Path(data_dir), folder)
    expected = json.loads((folder / "quiet.json").read_text())[name]
    tally, out = Tally(), folder / f"{name}.json"
    while not (folder / "stop").exists():
        if tally.reads >= MIN_READS and (folder / "enough").exists():
            break
        try:
            asked, got = read(tally.reads)
        except Exception as exc:  # every failure of a read is what is counted
            tally.errors += 1
            tally.note("error", f"{type(exc).__name__}: {exc}")
        else:
            if got != expected[asked]:
                tally.wrong += 1
                tally.note("wrong", f"{asked}: {got!r}")
        tally.reads += 1
        if tally.reads % 10 == 0:
            _write_json(out, {"how": how, **asdict(tally)})
    _write_json(out, {"how": how, **asdict(tally), "done": True})


def _write_json(path: Path, value: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def child(function: str, *args: str) -> subprocess.Popen[str]:
    """``function(*args)`` of this module in a process of its own."""
    code = f"import sys; from {__name__} import {function}; sys.exit({function}(*sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_every_read_path_sees_every_row_once_while_compaction_and_rebuilds_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("COLUMNS", "160")  # the book's table whole, not cut to 80 columns
    writer, rows = record_days(data_dir)
    try:
        normalize(data_dir, batch_records=BATCH_RECORDS)
        assert main(["catalog", "--data-dir", str(data_dir)]) == 0
        _write_json(work / "quiet.json", quiet_answers(data_dir, work, rows))
        readers = {name: child("reader", name, str(data_dir), str(work)) for name in PATHS}
        writing = child("write_loop", str(data_dir), str(work / "stop"), str(work / "progress"))
        started = time.monotonic()
        try:
            while time.monotonic() - started < LIMIT_S and writing.poll() is None:
                elapsed = time.monotonic() - started
                if all(_steps(work).count(name) >= 2 for name, _ in STEPS) and elapsed >= STRESS_S:
                    (work / "enough").touch()
                tallies = [_read_json(work / f"{name}.json") for name in PATHS]
                if all(t.get("done") for t in tallies):
                    break
                if elapsed >= max(FAILED_S, STRESS_S) and any(
                    t.get("wrong") or t.get("errors") for t in tallies
                ):
                    break  # failed already: the figures so far are the report
                time.sleep(0.2)  # polling the children's progress files, not synchronising
        finally:
            (work / "stop").touch()
            failures = {name: p.communicate(timeout=300)[1] for name, p in readers.items()}
            _, writer_err = writing.communicate(timeout=300)
        elapsed = time.monotonic() - started
    finally:
        writer.close()
    steps = _steps(work)
    tallies = {name: _read_json(work / f"{name}.json") for name in PATHS}
    report = summary(tallies, steps, elapsed)
    print(report)
    assert writing.returncode == 0, f"the compaction loop failed: {steps[-1:]}\n{writer_err}"
    for name, process in readers.items():
        assert process.returncode == 0 and tallies[name].get("done"), failures[name][-3000:]
    assert all(steps.count(name) >= 1 for name, _ in STEPS), report
    assert all(t["wrong"] == 0 and t["errors"] == 0 for t in tallies.values()), report
    assert all(t["reads"] >= MIN_READS for t in tallies.values()), f"too few reads\n{report}"


def _steps(work: Path) -> list[str]:
    progress = work / "progress"
    return progress.read_text().splitlines() if progress.exists() else []


def quiet_answers(
    data_dir: Path, work: Path, rows: Counter[tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """Each path's answers on the quiet lake to every question it asks in the loop, checked
    against the rows recorded (the books: that each is the ISIN's, of that day)."""
    answers: dict[str, dict[str, Any]] = {}
    for name in PATHS:
        read, _ = read_path(name, data_dir, work)
        answers[name] = dict(read(n) for n in range(len(ISINS) * len(DAYS)))
    quotes = sum(n for (table, _), n in rows.items() if table == "quotes")
    for name in ("duckdb client", "bondtape sql"):
        assert answers[name] == {"all": [quotes, quotes]}, name
    for day, answer in answers["python iterator"].items():
        day_rows = rows["quotes", day] + rows["trades", day]
        assert answer == [day_rows, day_rows], day
    for day, text in answers["bondtape query"].items():
        trades = sum(int(row["trades"]) for row in csv.DictReader(io.StringIO(text)))
        assert trades == rows["trades", day], day
    assert len(answers["bondtape book"]) == len(ISINS) * len(DAYS)
    for asked, text in answers["bondtape book"].items():
        isin, day = asked.split()
        assert isin in text and f"received {day}" in text and "total" in text, text
    return answers


def summary(tallies: dict[str, dict[str, Any]], steps: list[str], elapsed: float) -> str:
    done = ", ".join(f"{name} x{steps.count(name)}" for name, _ in STEPS)
    lines = [f"reads under writes, {elapsed:.0f} s; the child ran {done}"]
    lines += [t["how"] for t in tallies.values() if t.get("how", "").startswith("python")]
    lines.append(f"{'path':18} {'reads':>6} {'wrong':>6} {'errors':>6}")
    for name, tally in tallies.items():
        reads, wrong, errors = (tally.get(k, 0) for k in ("reads", "wrong", "errors"))
        lines.append(f"{name:18} {reads:>6} {wrong:>6} {errors:>6}")
        lines += [f"    {sample}" for sample in tally.get("samples", [])]
    return "\n".join(lines)
