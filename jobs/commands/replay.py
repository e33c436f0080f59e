"""`bondtape replay --config F --date D`: serve a captured day from raw/ over the KIS protocol.

The same approval REST and websocket protocol as the simulator and KIS, so an unmodified KIS
client replays history by changing only its URLs: subscribe acks with this session's key/iv,
PINGPONG, the OPSP codes, and data frames as recorded (their multi-record framing, and an
encrypted frame encrypted again with the key/iv this session's ack gave). Frames are paced by
their receive times divided by --speed (max: as fast as the client reads); each client gets
its own pass over the day, and only the (TR, ISIN) pairs it subscribed. Prints ``ws: URL``
and ``rest: URL`` on stdout, then a progress line on stderr; stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading

from capture.clock import SystemClock, seoul_datetime
from capture.exchange import (
    DayWindow,
    ExchangeOptions,
    Listen,
    LoopbackExchange,
    Progress,
    RecordedDay,
    ReplayFeedSource,
    ReplayOptions,
)
from capture.kis import isin_problem
from jobs.cli import add_data_dir_options, iso_date, raw_dir_from

PROGRESS_EVERY_S = 1.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_dir_options(p)
    p.add_argument("--date", type=iso_date, required=True, help="the Seoul date")
    p.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="a multiple of real time, or max: as fast as the client reads",
    )
    p.add_argument("--start", type=_time, metavar="HH:MM:SS", help="first Seoul time replayed")
    p.add_argument("--end", type=_time, metavar="HH:MM:SS", help="replay up to this Seoul time")
    p.add_argument("--isins", type=_isins, metavar="ISIN,...", help="replay only these ISINs")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--ws-port", type=int, default=0, help="websocket port, 0 = a free one")
    p.add_argument("--rest-port", type=int, default=0, help="approval REST port, 0 = a free one")
    p.add_argument("--loop", action="store_true", help="start the day again when it ends")
    p.add_argument(
        "--gaps-as-disconnects",
        action="store_true",
        help="drop the connection where the recording lost the feed (default: silence)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="start a client's replay once its subscriptions have been quiet this long",
    )
    p.add_argument(
        "--ping-interval", type=float, default=10.0, help="seconds between PINGPONG messages"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop.

    Raises:
        ConfigError: a bad option, a config that does not load, no raw/, or nothing recorded
            on the date.
    """
    raw_dir = raw_dir_from(args)
    window = DayWindow(args.date, args.start, args.end, args.isins)
    options = ReplayOptions(
        speed=args.speed, settle_s=args.settle, loop=args.loop,
        gaps_as_disconnects=args.gaps_as_disconnects,
    )  # fmt: skip
    clock = SystemClock()
    source = ReplayFeedSource(RecordedDay(raw_dir, window), options, clock)
    listen = Listen(
        host=args.host,
        ws_port=args.ws_port,
        rest_port=args.rest_port,
        exchange=ExchangeOptions(ping_interval=args.ping_interval),
    )
    stop = threading.Event()
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in handled}
    try:
        with LoopbackExchange(listen, source, clock, seed=0) as exchange:
            print(f"ws: {exchange.ws_url}", flush=True)
            print(f"rest: {exchange.rest_url}", flush=True)
            line = _ProgressLine(args.date, args.speed)
            while not stop.wait(PROGRESS_EVERY_S):
                line.show(source.snapshot(), source.day.skipped)
            line.show(source.snapshot(), source.day.skipped, final=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


class _ProgressLine:
    """``replayed 10:31:02 KST · 12,345 frames · 35.2x real time``: in place on a terminal,
    a line per change otherwise."""

    def __init__(self, day: dt.date, speed: float | None) -> None:
        self._day, self._speed = day, speed
        self._first: tuple[float, int] | None = None  # (wall, replayed_ns) when frames began
        self._last = ""

    def show(self, progress: Progress, skipped: int, *, final: bool = False) -> None:
        if progress.frames == 0:
            text = f"replay of {self._day}: waiting for a client to subscribe"
        else:
            if self._first is None:
                self._first = (progress.sent_at, progress.replayed_ns)
            wall = progress.sent_at - self._first[0]  # up to the latest frame sent
            speed = (
                f"{(progress.replayed_ns - self._first[1]) / 1e9 / wall:.1f}x real time"
                if wall >= 0.5 else "speed: -"
            )  # fmt: skip
            at = seoul_datetime(progress.replayed_ns).strftime("%H:%M:%S")
            text = (
                f"replayed {self._day} {at} KST · {progress.frames:,} frames · {speed} · "
                f"{progress.passes} client pass(es)"
            )
            if skipped:
                text += f" · {skipped:,} unreplayable frames skipped"
            if progress.ended == progress.passes:
                text += " · the day is over (serving on; Ctrl-C stops)"
        if text == self._last:
            if final and sys.stderr.isatty():
                print(file=sys.stderr)  # end the line the progress was redrawn on
            return
        self._last = text
        if sys.stderr.isatty():
            print(f"\r{text}\033[K", end="\n" if final else "", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive multiple, e.g. 10, or max")
    return value


def _time(text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a Seoul time as HH:MM:SS") from None


def _isins(text: str) -> frozenset[str]:
    isins = frozenset(part.strip() for part in text.split(",") if part.strip())
    for isin in isins:
        problem = isin_problem(isin)
        if problem:
            raise argparse.ArgumentTypeError(f"{isin!r}: {problem}")
    if not isins:
        raise argparse.ArgumentTypeError("give one or more ISINs, comma-separated")
    return isins
