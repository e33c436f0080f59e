"""``bondtape simulate``: run the loopback KIS exchange until SIGINT/SIGTERM.

Prints ``ws: URL`` and ``rest: URL`` on stdout, one per line, flushed, so a parent process
can read where it listens (ports 0 pick free ones). Exits 0 on SIGINT or SIGTERM after
closing every session and the truth file.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from capture.exchange import (
    ExchangeOptions,
    FaultOptions,
    Simulator,
    SimulatorOptions,
    load_credentials,
    parse_credential,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--ws-port", type=int, default=0, help="websocket port, 0 = a free one")
    p.add_argument("--rest-port", type=int, default=0, help="approval REST port, 0 = a free one")
    p.add_argument("--seed", type=int, help="makes every session's records reproducible")
    p.add_argument("--truth", type=Path, help="write every record sent as JSON Lines here")
    p.add_argument(
        "--rate",
        type=float,
        default=2.0,
        help="frames per second per subscription (Poisson); 0 = as fast as possible",
    )
    p.add_argument(
        "--multi-record-ratio",
        type=float,
        default=0.05,
        help="fraction of frames carrying 2-5 records",
    )
    p.add_argument("--encrypt", action="store_true", help="send 1| frames (AES-256-CBC)")
    p.add_argument(
        "--accept-credentials",
        type=Path,
        metavar="FILE",
        help="accept only the APPKEY:SECRET lines of FILE",
    )
    p.add_argument(
        "--credential",
        action="append",
        default=[],
        metavar="APPKEY:SECRET",
        help="accept this pair (repeatable; combines with --accept-credentials)",
    )
    p.add_argument(
        "--ping-interval", type=float, default=10.0, help="seconds between PINGPONG messages"
    )
    p.add_argument(
        "--ping-timeout",
        type=float,
        help="disconnect a client silent this long after a ping (default 2 x interval)",
    )
    faults = p.add_argument_group("faults")
    faults.add_argument(
        "--drop-every",
        type=float,
        metavar="SECONDS",
        help="abruptly close each session this long after it opens",
    )
    faults.add_argument(
        "--drop-after-frames",
        type=int,
        metavar="N",
        help="abruptly close a session after N data frames",
    )
    faults.add_argument(
        "--stall",
        type=float,
        metavar="SECONDS",
        help="send nothing (pings included) for this long ...",
    )
    faults.add_argument(
        "--stall-every",
        type=float,
        metavar="SECONDS",
        help="... every this many seconds of a session",
    )
    faults.add_argument(
        "--malformed-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="fraction of data frames replaced by a malformed one",
    )
    faults.add_argument(
        "--skip-trades",
        type=float,
        default=0.0,
        metavar="RATE",
        help="fraction of trades counted in ACML_VOL but never sent (silent loss)",
    )
    faults.add_argument(
        "--slow-acks",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay every subscribe answer",
    )


def options_from_args(args: argparse.Namespace) -> SimulatorOptions:
    """Raises:
    ConfigError: an invalid value, a bad credential, or an unreadable credentials file.
    """
    credentials = [parse_credential(text) for text in args.credential]
    if args.accept_credentials is not None:
        credentials += load_credentials(args.accept_credentials)
    faults = FaultOptions(
        drop_every=args.drop_every,
        drop_after_frames=args.drop_after_frames,
        stall=args.stall,
        stall_every=args.stall_every,
        malformed_rate=args.malformed_rate,
        slow_acks=args.slow_acks,
        skip_trades=args.skip_trades,
    )
    return SimulatorOptions(
        host=args.host,
        ws_port=args.ws_port,
        rest_port=args.rest_port,
        seed=args.seed,
        truth=args.truth,
        rate=args.rate,
        multi_record_ratio=args.multi_record_ratio,
        credentials=tuple(credentials) if credentials else None,
        exchange=ExchangeOptions(
            ping_interval=args.ping_interval,
            ping_timeout=args.ping_timeout,
            encrypt=args.encrypt,
            faults=faults,
        ),
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop.

    Raises:
        ConfigError: see :func:`options_from_args` and :class:`Simulator`.
    """
    options = options_from_args(args)
    stop = threading.Event()
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in handled}
    try:
        with Simulator(options) as sim:
            print(f"ws: {sim.ws_url}", flush=True)
            print(f"rest: {sim.rest_url}", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
