"""`bondtape plot`: a PNG of three panels on one Seoul time axis (price band, mid and trades
sized by quantity; spread; level-1 quantities) with the gaps shaded on each, for a busy day
and for a day of one quote; errors that say what to do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from matplotlib import dates as mdates
from matplotlib.collections import PathCollection

from jobs import cli
from jobs.commands.plot import day_figure
from storage.read.day_series import day_series
from storage.read.queries import open_catalog
from tests.support.catalog_data import CORP, DAY, GOV, catalog_dir, gap, quote, trade

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
D = dt.date(2026, 11, 26)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, f"{DAY} 09:00:{s:02d}", offset=s, bid=(f"{10560 + s}.00", "3.020", 5 + s))
            for s in range(0, 60, 5)
        ],
        trades=[
            trade(GOV, f"{DAY} 09:00:12", "10570.00", 10, offset=100),
            trade(GOV, f"{DAY} 09:00:40", "10571.00", 1000, offset=101),
        ],
        gaps=[
            gap(GOV, f"{DAY} 09:00:20", f"{DAY} 09:00:25"),
            gap(GOV, f"{DAY} 09:00:21", f"{DAY} 09:00:26", "H0BJCNT0"),  # merges with it
            gap(GOV, f"{DAY} 09:00:56", None),  # the recording stopped
        ],
    )


def plot(data: Path, isin: str, out: Path) -> int:
    return cli.main(
        ["plot", "--data-dir", str(data), "--date", DAY, "--isin", isin, "-o", str(out)]
    )


def test_plot_writes_a_png_and_says_what_it_drew(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "day.png"
    assert plot(data, GOV, out) == 0
    image = out.read_bytes()
    assert image.startswith(PNG_SIGNATURE) and len(image) > 10_000
    assert capsys.readouterr().out == f"{out}: {GOV} on {DAY}, 12 quotes, 2 trades, 2 gaps\n"


def test_the_figure_has_three_panels_on_a_seoul_time_axis_with_trades_and_gaps(
    data: Path,
) -> None:
    with open_catalog(data) as con:
        figure = day_figure(day_series(con, GOV, D, "KTB 3.25 2053"))
    price, spread, qty = figure.axes
    assert [a.get_ylabel() for a in figure.axes] == [
        "price (won)", "spread (won)", "level-1 quantity"
    ]  # fmt: skip
    assert qty.get_xlabel() == f"time (Seoul, KST) on {DAY}"
    shared = price.get_shared_x_axes()
    assert shared.joined(price, spread) and shared.joined(price, qty)
    assert "KTB 3.25 2053" in figure.get_suptitle() and GOV in figure.get_suptitle()
    (trades,) = [c for c in price.collections if isinstance(c, PathCollection)]
    xs = [mdates.num2date(x).strftime("%H:%M:%S") for x, _ in trades.get_offsets()]
    assert xs == ["09:00:12", "09:00:40"]  # Seoul wall time on the axis
    small, large = trades.get_sizes()
    assert large > 5 * small  # dots sized by quantity (10 and 1000)
    for panel in figure.axes:  # the merged gap and the open one, shaded on every panel
        assert len(panel.patches) == 2
    open_gap = price.patches[1].get_bbox()
    assert mdates.num2date(open_gap.x0).strftime("%H:%M:%S") == "09:00:56"
    assert open_gap.x1 == pytest.approx(price.get_xlim()[1])  # to the right edge


def test_a_day_of_one_quote_makes_a_chart_whose_book_holds_until_the_last_trade(
    tmp_path: Path,
) -> None:
    catalog_dir(
        tmp_path,
        quotes=[quote(CORP, f"{DAY} 11:00:00")],
        trades=[trade(CORP, f"{DAY} 11:00:30", "10570.00", 5)],
    )
    out = tmp_path / "one.png"
    assert plot(tmp_path, CORP, out) == 0
    assert out.read_bytes().startswith(PNG_SIGNATURE)
    with open_catalog(tmp_path) as con:
        figure = day_figure(day_series(con, CORP, D))
    assert "1 quote, 1 trade, 0 gaps" in figure.get_suptitle()
    mid = next(line for line in figure.axes[0].get_lines() if line.get_label() == "mid")
    held = [dt.datetime.fromisoformat(str(x)).strftime("%H:%M:%S") for x in mid.get_xdata()]
    assert held == ["11:00:00", "11:00:30"]
    assert list(mid.get_ydata()) == [10567.5, 10567.5]


def test_a_hangul_name_is_left_out_of_the_title_when_no_font_can_draw_it(data: Path) -> None:
    with open_catalog(data) as con:
        series = day_series(con, GOV, D, "국고03250-5303(23-2)")
    assert "국고" not in day_figure(series, font=None).get_suptitle()
    assert "국고03250-5303(23-2)" in day_figure(series, font="NanumGothic").get_suptitle()


def test_plot_of_a_day_with_nothing_names_the_isins_last_day(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["plot", "--data-dir", str(data), "--date", "2026-11-25", "--isin", GOV]
    assert cli.main([*argv, "-o", str(tmp_path / "x.png")]) == 2
    assert "its last day is 2026-11-26: give --date 2026-11-26" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_plot_refuses_a_file_name_that_is_not_a_png(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plot(data, GOV, tmp_path / "day.jpg") == 2
    assert "name it FILE.png" in capsys.readouterr().err
