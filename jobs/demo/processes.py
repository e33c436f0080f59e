"""The demo's processes: the simulator and the daemon, over a trading day compressed to seconds.

Both are `bondtape` children started the one way bondtape starts children
(:func:`jobs.daemon.start_child`), so however the demo ends they are stopped the same way
the daemon stops its own. The daemon runs on a config written here: the simulator's URLs,
four bonds of four kinds, and a session of seconds starting now.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from pathlib import Path

from capture.clock import SEOUL
from capture.errors import BondtapeError
from capture.kis import check_digit
from jobs.daemon import Child, start_child

# A government, a municipal, a special and a corporate bond: the simulator names each kind.
DEMO_ISINS = tuple(
    body + check_digit(body)
    for body in ("KR103502GD3", "KR2005031A4", "KR3502027C5", "KR6095571B9")
)
# A lively feed with the faults a real night brings: a dropped connection every 8 s (the
# recorder reconnects and records the gap) and the odd malformed frame (it lands in rejects).
SIMULATOR_ARGS = (
    "simulate",
    "--seed",
    "7",
    "--rate",
    "4",
    "--drop-every",
    "8",
    "--malformed-rate",
    "0.01",
)
# The simulator accepts any non-empty pair; these are not secrets.
DEMO_ENV = {"BONDTAPE_DEMO_APP_KEY": "demo-app-key", "BONDTAPE_DEMO_APP_SECRET": "demo-secret"}


@dataclass(frozen=True)
class Session:
    """A compressed trading day: a session of seconds, then its end of day."""

    open: dt.datetime
    close: dt.datetime
    end_of_day: dt.datetime

    @classmethod
    def starting_now(cls, seconds: float) -> Session:
        """Raises: BondtapeError: it would cross Seoul midnight (a day is one date)."""
        start = dt.datetime.now(SEOUL).replace(microsecond=0) + dt.timedelta(seconds=2)
        close = start + dt.timedelta(seconds=math.ceil(seconds))
        session = cls(start, close, close + dt.timedelta(seconds=2))
        if session.end_of_day.date() != start.date():
            raise BondtapeError("the demo's day would cross Seoul midnight: run it in a minute")
        return session


def start_simulator(logs: Path) -> tuple[Child, dict[str, str]]:
    """The simulator on free ports, and the URLs it says it serves (``ws``, ``rest``).

    Raises:
        BondtapeError: it exited before saying where it serves.
    """
    log = logs / "simulator.log"
    args = [*SIMULATOR_ARGS, "--ws-port", "0", "--rest-port", "0"]
    simulator = start_child(
        "simulator", args, log, started_ns=time.time_ns(), env=DEMO_ENV, pipe_stdout=True
    )
    try:
        return simulator, served_urls(simulator, log)
    except BaseException:
        simulator.stop()
        raise


def served_urls(server: Child, log: Path) -> dict[str, str]:
    """The ``ws`` and ``rest`` URLs a `simulate` or `replay` child prints first.

    Raises:
        BondtapeError: it exited before printing both.
    """
    urls: dict[str, str] = {}
    while len(urls) < 2:
        line = server.read_line()
        if not line:
            raise BondtapeError(f"the {server.name} exited before it served: see {log}")
        name, _, url = line.strip().partition(": ")
        if name in ("ws", "rest"):
            urls[name] = url
    return urls


def start_daemon(config: Path, logs: Path) -> Child:
    """`bondtape run` on ``config``: its own log is logs/daemon.log; ``daemon.stderr.log``
    keeps what comes before it opens that."""
    args = ["run", "--config", str(config)]
    log = logs / "daemon.stderr.log"
    return start_child("daemon", args, log, started_ns=time.time_ns(), env=DEMO_ENV)


def write_config(data_dir: Path, urls: dict[str, str], session: Session) -> Path:
    path = data_dir / "bondtape.toml"
    isins = ", ".join(f'"{isin}"' for isin in DEMO_ISINS)
    path.write_text(
        f"""# Written by `bondtape demo`: the daemon's day, compressed, on the local simulator.
data_dir = "."

[kis]
ws_url = "{urls["ws"]}"
approval_url = "{urls["rest"]}/oauth2/Approval"

[[kis.credentials]]
app_key_env = "BONDTAPE_DEMO_APP_KEY"
app_secret_env = "BONDTAPE_DEMO_APP_SECRET"

[capture]
isins = [{isins}]
subscribe_interval_s = 0.05
recorder_id = "demo"

[market]  # a session of seconds, whatever the calendar says of today
session_open = "{session.open:%H:%M:%S}"
session_close = "{session.close:%H:%M:%S}"
record_margin_min = 0
extra_trading_days = ["{session.open.date()}"]

[jobs]
normalize_interval_s = 2
intraday_compact_interval_s = 6
end_of_day = "{session.end_of_day:%H:%M:%S}"
""",
        encoding="utf-8",
    )
    return path
