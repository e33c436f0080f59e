"""`bondtape book`: the 5-level book `book_asof` gives, at a time or the latest, as a table;
errors that say what to do; and `--live`, by its refresh function over a catalog the lake
grows under, and as a real process on a pseudo-terminal, stopped by SIGTERM."""

from __future__ import annotations

import datetime as dt
import io
import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

from capture.clock import SEOUL, ManualClock
from capture.errors import ConfigError
from jobs import cli
from jobs.commands.book import book_instant, level_rows, refresh
from storage.read.queries import open_catalog
from storage.read.snapshot import book_at
from tests.support.catalog_data import (
    CORP,
    DAY,
    GOV,
    arrow,
    catalog_dir,
    make_test_catalog,
    query_rows,
    quote,
    seoul_ns,
    trade,
)
from tests.support.recorder import wait_until

ROOT = Path(__file__).resolve().parents[2]
EARLY = quote(GOV, f"{DAY} 10:00:00.250000", ask_qty=(11, 21, 0, 0))  # asks 4 and 5 empty
LATE = quote(GOV, f"{DAY} 10:30:00", bid=("10561.00", "3.019", 5), offset=1)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return catalog_dir(
        tmp_path,
        quotes=[EARLY, LATE, quote(CORP, f"{DAY} 10:00:01", bid=("10400.00", "3.500", 7))],
        trades=[trade(GOV, f"{DAY} 10:01:00", "10575.00", 1, "3.012")],
    )


def book_command(data: Path, *extra: str) -> list[str]:
    return ["book", GOV, "--data-dir", str(data), "--date", DAY, *extra]


def text_of(renderable: RenderableType) -> str:
    out = io.StringIO()
    Console(file=out, width=120, highlight=False).print(renderable)
    return out.getvalue()


def test_book_at_a_seoul_time_prints_every_level_of_the_book_book_asof_gives(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(book_command(data, "--at", "10:15:00")) == 0
    out = capsys.readouterr().out
    (row,) = query_rows(data, "book_asof", at=f"{DAY} 10:15:00", isins=GOV)
    rows = [line.strip("│").split("│") for line in out.splitlines() if line.startswith("│")]
    levels = [[cell.strip() for cell in cells] for cells in rows][:5]

    def side(name: str, n: int) -> list[str]:
        if row[f"{name}_qty_{n}"] == 0:  # a level the feed sent as zeros: blank
            return ["", "", ""]
        cells = [row[f"{name}_price_{n}"], row[f"{name}_yield_{n}"], f"{row[f'{name}_qty_{n}']:,}"]
        return [str(cell) for cell in cells]

    assert levels == [[str(n), *side("bid", n)[::-1], *side("ask", n)] for n in range(1, 6)]
    assert levels[4][4:] == ["", "", ""]
    assert f"received {DAY} 10:00:00.250000 KST" in out and "exch time 10:00:00" in out
    assert "mid 10567.500  spread 15.00" in out and "10561.00" not in out  # LATE is after
    assert "국고03250-5303(23-2)" in out  # the name the feed sent with its trades


def test_level_rows_read_outwards_from_the_middle_and_leave_an_empty_level_blank(
    data: Path,
) -> None:
    with open_catalog(data) as con:
        book = book_at(con, GOV, dt.datetime(2026, 11, 26, 10, 15, tzinfo=SEOUL))
    assert book is not None
    rows = level_rows(book)
    assert rows[0] == ("1", "100", "3.020", "10560.00", "10575.00", "3.012", "200")
    assert rows[3] == ("4", "30", "3.023", "10557.00", "", "", "")  # asks 4, 5 sent as zeros
    assert rows[5] == ("total", "200", "", "", "", "", "232")


def test_book_without_at_is_the_latest_book_of_the_day(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(book_command(data)) == 0
    out = capsys.readouterr().out
    assert "latest book" in out and f"received {DAY} 10:30:00.000000 KST" in out
    assert "10561.00" in out


@pytest.mark.parametrize(
    ("at", "date", "expected"),
    [
        ("10:15", None, "2026-11-26 10:15:00+09:00"),
        ("10:15:00.5", None, "2026-11-26 10:15:00.500000+09:00"),
        ("2026-11-26 10:15:00", None, "2026-11-26 10:15:00+09:00"),  # no offset: Seoul
        ("2026-11-26T01:15:00+00:00", dt.date(2026, 11, 26), "2026-11-26 10:15:00+09:00"),
        (None, None, "2026-11-26 23:59:59.999999+09:00"),  # the latest: the day's end
    ],
)
def test_at_is_a_seoul_time_on_the_day_or_a_timestamp(
    at: str | None, date: dt.date | None, expected: str
) -> None:
    assert book_instant(at, date, dt.date(2026, 11, 26)).isoformat(" ") == expected


@pytest.mark.parametrize(
    ("at", "fix"),
    [("half past ten", "give a Seoul time HH:MM:SS"), ("2026-11-27 10:00", "not on --date")],
)
def test_an_at_that_is_no_time_or_falls_on_another_date_is_refused(at: str, fix: str) -> None:
    with pytest.raises(ConfigError, match=fix):
        book_instant(at, dt.date(2026, 11, 26), dt.date(2026, 11, 26))


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["--date", "2026-11-25"], "its last day is 2026-11-26: give --date 2026-11-26"),
        (["--date", DAY, "--at", "09:00"], "no book on 2026-11-26 by then: give a later --at"),
    ],
)
def test_a_day_or_time_with_no_book_says_what_to_give_instead(
    data: Path, argv: list[str], fix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["book", GOV, "--data-dir", str(data), *argv]) == 2
    assert fix in capsys.readouterr().err


def test_an_isin_the_lake_never_saw_and_a_missing_catalog_say_what_to_do(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["book", "KR000000000X", "--data-dir", str(data)]) == 2
    assert "the lake holds no quote or trade of KR000000000X: check the ISIN" in (
        capsys.readouterr().err
    )
    assert cli.main(["book", GOV, "--data-dir", str(tmp_path / "nowhere")]) == 1
    assert "build it first with `bondtape catalog" in capsys.readouterr().err


def test_live_on_a_pipe_refuses_and_says_to_run_without_it(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(book_command(data, "--live")) == 2
    assert "needs a terminal" in capsys.readouterr().err


def test_live_refresh_shows_books_committed_to_the_lake_after_it_started(tmp_path: Path) -> None:
    catalog_dir(tmp_path, quotes=[quote(CORP, f"{DAY} 09:00:00")])
    clock = ManualClock(seoul_ns(f"{DAY} 10:45:00"))
    waiting = text_of(refresh(tmp_path, GOV, None, clock))
    assert f"{GOV}: no quote on {DAY} yet (live, 10:45:00 KST)" in waiting
    make_test_catalog(tmp_path, {"quotes": arrow("quotes", [EARLY])})  # as normalize commits
    first = text_of(refresh(tmp_path, GOV, None, clock))
    make_test_catalog(tmp_path, {"quotes": arrow("quotes", [LATE])})
    clock.advance(1)
    second = text_of(refresh(tmp_path, GOV, None, clock))
    assert "10560.00" in first and "(live, 10:45:00 KST)" in first
    assert "10561.00" in second and "(live, 10:45:01 KST)" in second


def test_live_redraws_in_a_terminal_as_the_lake_grows_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    catalog_dir(tmp_path, quotes=[EARLY])
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm"}
    argv = [sys.executable, "-m", "jobs.cli", *book_command(tmp_path, "--live")]
    proc = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    screen = bytearray()

    def shown(text: str) -> bool:
        while select.select([leader], [], [], 0.05)[0]:
            try:
                screen.extend(os.read(leader, 65536))
            except OSError:  # the process closed the terminal
                break
        return text.encode() in screen

    try:
        wait_until(lambda: shown("10560.00"), 30, "the first book on the terminal")
        make_test_catalog(tmp_path, {"quotes": arrow("quotes", [LATE])})  # committed
        wait_until(lambda: shown("10561.00"), 15, "the redraw with the new book")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
