"""The demo's last act: the day it captured, replayed at high speed to a KIS-protocol client.

``bondtape replay`` serves the demo's raw/ as KIS would; the client here is what any KIS
client does (approval key, subscribe, decrypt with the ack's key/iv, answer PINGPONG) and the
demo prints what it saw: how many frames and records, how fast, and its last records.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import websocket
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.table import Table

from capture.errors import MalformedFrame
from capture.kis import (
    LAYOUTS,
    ControlResponse,
    DataFrame,
    Ping,
    classify,
    split_records,
    subscription_request,
)
from capture.recorder import AppCredential, request_approval_key
from jobs.daemon import start_child
from jobs.demo.processes import served_urls

SPEED = 10.0
QUIET_S = 2.0  # the client stops once the replay has sent nothing for this long
TIMEOUT_S = 60.0
TRS = ("H0BJASP0", "H0BJCNT0")


@dataclass
class Seen:
    """What the client received: its data frames, and each record with its arrival time."""

    frames: int = 0
    records: list[tuple[float, str, list[str]]] = field(default_factory=list)


def show_replay(console: Console, data_dir: Path, day: dt.date, isin: str) -> None:
    """Replay ``day`` at :data:`SPEED` to a client subscribed to ``isin``, and show it."""
    log = data_dir / "logs" / "replay.log"
    console.print(
        f"\n[bold]replay[/]: the day served again over the KIS protocol at {SPEED:g}x, to a "
        f"KIS client subscribed to {isin}"
    )
    args = ["replay", "--data-dir", str(data_dir), "--date", day.isoformat(),
            "--speed", f"{SPEED:g}", "--settle", "0.3"]  # fmt: skip
    with start_child("replay", args, log, started_ns=time.time_ns(), pipe_stdout=True) as replay:
        urls = served_urls(replay, log)
        started = time.monotonic()
        seen = _client(urls["ws"], urls["rest"] + "/oauth2/Approval", isin)
    console.print(_table(seen, started))


def _client(ws_url: str, approval_url: str, isin: str) -> Seen:
    key = request_approval_key(
        approval_url, AppCredential(name="demo", app_key="demo-client", app_secret="secret")
    )
    ws = websocket.create_connection(ws_url, timeout=QUIET_S)
    keys: dict[str, tuple[str, str]] = {}
    seen = Seen()
    deadline = time.monotonic() + TIMEOUT_S
    try:
        for tr_id in TRS:
            ws.send(subscription_request(key, "P", tr_id, isin))
        while time.monotonic() < deadline:
            try:
                text = ws.recv()
            except websocket.WebSocketTimeoutException:
                if seen.frames:
                    break  # the day is over
                continue
            try:
                message = classify(text)
            except MalformedFrame:
                continue
            if isinstance(message, Ping):
                ws.pong(message.text)
            elif isinstance(message, ControlResponse) and message.key and message.iv:
                keys[message.tr_id] = (str(message.key), str(message.iv))
            elif isinstance(message, DataFrame):
                seen.frames += 1
                now_s = time.monotonic()
                for values in split_records(message, keys.get(message.tr_id)):
                    seen.records.append((now_s, message.tr_id, values))
    finally:
        ws.close()
    return seen


def _table(seen: Seen, started: float) -> Table:
    took = seen.records[-1][0] - started if seen.records else 0.0
    table = Table(
        title=f"the client received {seen.frames} frames, {len(seen.records)} records in "
        f"{took:.1f} s; its last five",
        box=SIMPLE_HEAD, title_justify="left",
    )  # fmt: skip
    for name in ("arrived", "TR", "KST", "bid", "ask", "trade", "qty"):
        table.add_column(name, justify="left" if name == "TR" else "right")
    for at, tr_id, values in seen.records[-5:]:
        shown = dict(zip(LAYOUTS[tr_id].columns, values, strict=True))
        hhmmss = shown["exch_time"]
        table.add_row(
            f"{at - started:.2f} s", tr_id, f"{hhmmss[:2]}:{hhmmss[2:4]}:{hhmmss[4:]}",
            *(shown.get(c, "") for c in ("bid_price_1", "ask_price_1", "trade_price", "trade_qty")),
        )  # fmt: skip
    return table
