"""`bondtape plot --date D --isin I -o FILE.png`: one ISIN's day as a chart, for the eye.

Three panels on one Seoul time axis: the best bid and ask as a band with the mid in it and
the trades as dots sized by quantity; the spread; the level-1 bid and ask quantities. The
times the feeds were not recorded (the gaps view) are shaded on every panel. Lines are steps
(a book holds until the next one); a day of many quotes is thinned to the last book of each
of a few thousand time buckets (storage/read/day_series.py), which a chart that wide shows the
same. matplotlib is imported here only, so no other command loads it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path

import numpy as np
from matplotlib import dates as mdates
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from capture.errors import ConfigError, StorageError
from jobs.cli import add_data_dir_options, data_dir_from, iso_date
from storage.read import DaySeries, bond_name, day_series, nothing_recorded, open_catalog

log = logging.getLogger(__name__)

FEW_POINTS = 200
"""Below this many quotes each is also marked with a dot, so a sparse day reads as points."""

# Families that hold Hangul, for bond names; the first one installed is added as a fallback.
HANGUL_FONTS = (
    "Noto Sans CJK KR", "Noto Sans KR", "Source Han Sans KR", "NanumGothic", "Malgun Gothic",
    "Apple SD Gothic Neo", "AppleGothic", "UnDotum",
)  # fmt: skip
OPEN_GAP_MIN = dt.timedelta(seconds=1)
"""The least an open gap is drawn: one at the right edge stays visible."""
BID, ASK, MID, TRADE, GAP = "tab:blue", "tab:red", "black", "tab:green", "0.6"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date", type=iso_date, required=True, help="the Seoul trading date YYYY-MM-DD"
    )
    parser.add_argument("--isin", required=True, help="the bond, e.g. KR103502GD31")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE.png", help="the PNG to write"
    )
    add_data_dir_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.output.suffix.lower() != ".png":
        raise ConfigError("-o", str(args.output), "the chart is a PNG: name it FILE.png")
    with open_catalog(data_dir_from(args)) as con:
        series = day_series(con, args.isin, args.date, bond_name(con, args.isin, args.date))
        if series.quote_count == 0 and series.trades.num_rows == 0:
            raise nothing_recorded(con, args.isin, args.date, "quote or trade")
    figure = day_figure(series, hangul_font())
    try:
        figure.savefig(args.output, dpi=100)
    except OSError as exc:
        raise StorageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    print(f"{args.output}: {args.isin} on {args.date}, {counts(series)}")
    return 0


def day_figure(series: DaySeries, font: str | None = None) -> Figure:
    """The chart of ``series``, drawn with the Agg backend and saved by the caller. ``font`` is
    a family holding Hangul (see :func:`hangul_font`): without one a Korean bond name is left
    out of the title rather than drawn as boxes."""
    figure = Figure(figsize=(12, 8), layout="constrained")
    FigureCanvasAgg(figure)
    price, spread, qty = figure.subplots(3, 1, sharex=True, height_ratios=(3, 1, 1.4))
    quotes = _held_to_the_end(series)
    times = quotes["time"]
    marker = "." if series.quotes.num_rows < FEW_POINTS else None

    price.fill_between(times, quotes["bid"], quotes["ask"], step="post", color=BID, alpha=0.15,
                       label="best bid to best ask")  # fmt: skip
    price.step(times, quotes["bid"], where="post", color=BID, lw=0.8, label="best bid")
    price.step(times, quotes["ask"], where="post", color=ASK, lw=0.8, label="best ask")
    price.step(times, quotes["mid"], where="post", color=MID, lw=1.0, marker=marker, ms=3,
               label="mid")  # fmt: skip
    if series.trades.num_rows:
        trade_qty = series.trades.column("qty").to_numpy().astype(float)
        sizes = 8 + 192 * np.sqrt(trade_qty / trade_qty.max())
        price.scatter(series.trades.column("time").to_numpy(), series.trades.column("price"),
                      s=sizes, color=TRADE, alpha=0.6, edgecolors="none", zorder=3,
                      label="trade (size: quantity)")  # fmt: skip
    price.set_ylabel("price (won)")

    spread.step(times, quotes["spread"], where="post", color=MID, lw=0.8, marker=marker, ms=3)
    spread.set_ylabel("spread (won)")

    qty.step(times, quotes["bid_qty"], where="post", color=BID, lw=0.8, label="bid qty 1")
    qty.step(times, quotes["ask_qty"], where="post", color=ASK, lw=0.8, label="ask qty 1")
    if _spans_decades(quotes["bid_qty"], quotes["ask_qty"]):
        qty.set_yscale("log")
    qty.set_ylabel("level-1 quantity")

    _shade_gaps(series, (price, spread, qty))
    price.legend(loc="upper left", fontsize="small", ncols=3)
    qty.legend(loc="upper left", fontsize="small", ncols=2)
    for axes in (price, spread, qty):
        axes.grid(alpha=0.3)
    qty.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    qty.set_xlabel(f"time (Seoul, KST) on {series.date}")
    figure.suptitle(_title(series, font), fontfamily=["DejaVu Sans", font] if font else None)
    return figure


def _held_to_the_end(series: DaySeries) -> dict[str, np.ndarray]:
    """The quotes columns for matplotlib (times as datetime64, values as floats with NaN for
    an absent side, a break in the line), the last book repeated at the last trade after it:
    a book holds until the next one, so a step drawn to there shows it."""
    quotes = series.quotes
    columns = {"time": quotes.column("time").to_numpy().astype("datetime64[us]")}
    for name in quotes.column_names[1:]:
        columns[name] = quotes.column(name).to_numpy(zero_copy_only=False).astype(float)
    trades = series.trades.column("time").to_numpy().astype("datetime64[us]")
    if len(columns["time"]) and len(trades) and trades.max() > columns["time"][-1]:
        columns = {name: np.append(values, values[-1]) for name, values in columns.items()}
        columns["time"][-1] = trades.max()
    return columns


def _spans_decades(*columns: np.ndarray) -> bool:
    """Whether the quantities span more than two decades: then a log axis shows them all."""
    values = np.concatenate(columns)
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 0 and values.max() / values.min() > 100


def _shade_gaps(series: DaySeries, panels: tuple[Axes, ...]) -> None:
    """Shade each gap on every panel. An open one (the recording stopped, or has not caught
    up) runs to the right edge of what is drawn, without stretching the axis for it."""
    closed = [(start, end) for start, end in series.gaps if end is not None]
    still_open = [start for start, end in series.gaps if end is None]
    label = "not recorded (gap)"
    for start, end in closed:
        for axes in panels:
            axes.axvspan(start, end, color=GAP, alpha=0.35, lw=0, label=label)
        label = None
    if not still_open:
        return
    left, right = panels[0].get_xlim()
    right = max(right, *(mdates.date2num(start + OPEN_GAP_MIN) for start in still_open))
    for start in still_open:
        for axes in panels:
            axes.axvspan(mdates.date2num(start), right, color=GAP, alpha=0.35, lw=0, label=label)
        label = None
    panels[0].set_xlim(left, right)


def _title(series: DaySeries, font: str | None) -> str:
    name = series.name if series.name and (font or series.name.isascii()) else None
    if series.name and name is None:
        log.info("no font with Hangul is installed (e.g. fonts-noto-cjk): the bond name "
                 "%r is left out of the title", series.name)  # fmt: skip
    head = "  ".join(part for part in (series.isin, name, str(series.date)) if part)
    return f"{head}\n{counts(series)}"


def counts(series: DaySeries) -> str:
    """What the chart holds: quotes (and how they were thinned), trades, gaps."""
    quotes = _plural(series.quote_count, "quote")
    if series.thinned:
        quotes += f" (the last of each of {series.quotes.num_rows} time buckets drawn)"
    trades, gaps = series.trades.num_rows, len(series.gaps)
    return f"{quotes}, {_plural(trades, 'trade')}, {_plural(gaps, 'gap')}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def hangul_font() -> str | None:
    """The first installed family of :data:`HANGUL_FONTS`, or None."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in HANGUL_FONTS if family in installed), None)
