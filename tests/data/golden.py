"""The golden raw log of format version 1, and how it was made.

``tests/data/raw-v1/`` holds two segments written by the raw writer of format version 1, then
damaged on purpose: every record kind, a plain, a multi-record and an encrypted frame, a
PINGPONG, a malformed frame, gaps that open, close and stay open, a corrupt region (one
payload byte flipped) and a torn tail (the first half of a record). ``plain/`` holds them as
written, ``sealed/`` the same segments sealed with zstd. ``records.json`` lists what a reader
must find in them and ``lake.json`` the rows the normalizer must make of them.

These files are the contract with every raw log already on disk: tests read them with
today's code. A change of the byte format bumps ``FORMAT_VERSION`` and adds ``raw-v2/`` beside
this one; it never rewrites v1. Regenerating (``python -m tests.data.golden``) is for a
deliberate change of the *expected* lake rows only, and the diff must be read.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from capture.clock import ManualClock
from capture.kis import aes
from capture.kis.protocol import control_response, data_frame, ping_message, subscription_request
from capture.rawlog import (
    CorruptRegion,
    Position,
    RawLogWriter,
    RawRecord,
    RecordKind,
    events,
    read_records,
    seal_segment,
)
from capture.rawlog.seal import open_sealed
from storage.normalize.normalizer import normalize
from tests.support.rawlog import seoul_ns
from tests.support.samples import ORDER_BOOK_SAMPLE, TRADE_SAMPLE

HERE = Path(__file__).resolve().parent / "raw-v1"
RECORDER = "gold"
KEY, IV = "golden-key-0123456789abcdefghijk", "golden-iv-012345"
BOOK, TRADE = "H0BJASP0", "H0BJCNT0"
ISIN, OTHER = "KR103502GD31", "KR101501DD41"
OPENED = seoul_ns(2026, 11, 26, 9, 58, 0)  # a gap from before the first segment
FLIPPED = "the record whose payload byte is flipped"
RECORD_HEADER = 2 + 4 + 4 + 8 + 4 + 1  # marker, length, crc, recv_ns, conn_id, kind


def write_raw(raw_dir: Path) -> dict[str, Position]:
    """Write the golden log under ``raw_dir`` and damage it; the positions of note."""
    clock = ManualClock(seoul_ns(2026, 11, 26, 10, 0, 0))
    state = events.State(1, ((BOOK, ISIN),), {BOOK: (KEY, IV)}, {(TRADE, ISIN): OPENED})
    marks: dict[str, Position] = {}
    with RawLogWriter(
        raw_dir,
        RECORDER,
        clock=clock,
        fsync_interval_s=None,
        state_records=lambda: [(1, events.encode_state(state))],
        seal_in_background=False,
    ) as w:

        def put(kind: RecordKind, conn: int, payload: bytes | str) -> Position:
            clock.advance(0.125)
            data = payload.encode() if isinstance(payload, str) else payload
            return w.append(kind, conn, data)

        def event(conn: int, e: events.Event) -> Position:
            return put(RecordKind.EVENT, conn, events.encode(e))

        event(0, events.RecorderStart(recorder_id=RECORDER, pid=4242, previous_last_ns=OPENED))
        event(1, events.Disconnect(conn=1, reason="server closed the connection (code 1006)"))
        event(1, events.GapOpen(conn=1, tr_id=BOOK, isin=ISIN, start_ns=OPENED,
                                reason="server closed the connection (code 1006)"))  # fmt: skip
        event(2, events.Connect(conn=2, url="ws://127.0.0.1:21000", credential="cred0"))
        for tr_id in (BOOK, TRADE):
            put(RecordKind.FRAME_SENT, 2, subscription_request("<redacted>", "P", tr_id, ISIN))
            put(RecordKind.FRAME_RECV, 2, control_response(tr_id, ISIN, "OPSP0000", key=KEY, iv=IV))
            event(2, events.SubAck(conn=2, tr_id=tr_id, isin=ISIN, msg_cd="OPSP0000",
                                   msg1="SUBSCRIBE SUCCESS"))  # fmt: skip
            event(2, events.GapClose(conn=2, tr_id=tr_id, isin=ISIN, end_ns=clock.now_ns()))
        put(RecordKind.FRAME_RECV, 2, ORDER_BOOK_SAMPLE)
        put(RecordKind.FRAME_RECV, 2, TRADE_SAMPLE)
        book = ORDER_BOOK_SAMPLE.split("|", 3)[3].split("^")
        three = [[book[0], f"13174{4 + i}", *book[2:]] for i in range(3)]
        put(RecordKind.FRAME_RECV, 2, data_frame(BOOK, three))
        encrypted = data_frame(TRADE, [TRADE_SAMPLE.split("|", 3)[3].split("^")])
        _, tr_id, count, payload = encrypted.split("|", 3)
        put(RecordKind.FRAME_RECV, 2, f"1|{tr_id}|{count}|{aes.encrypt(payload, KEY, IV)}")
        ping = ping_message("20261126100003")
        put(RecordKind.FRAME_RECV, 2, ping)
        event(2, events.Ping(conn=2, datetime="20261126100003", answer="pong"))
        put(RecordKind.FRAME_RECV, 2, ORDER_BOOK_SAMPLE.rsplit("^", 1)[0])  # a field short
        marks[FLIPPED] = put(RecordKind.FRAME_RECV, 2, ORDER_BOOK_SAMPLE.replace(ISIN, OTHER))
        put(RecordKind.FRAME_RECV, 2, ORDER_BOOK_SAMPLE.replace("131743", "131750"))
        event(2, events.Disconnect(conn=2, reason="no PINGPONG for 30 s (3 intervals)"))
        for tr_id in (BOOK, TRADE):
            event(2, events.GapOpen(conn=2, tr_id=tr_id, isin=ISIN, start_ns=clock.now_ns(),
                                    reason="no PINGPONG for 30 s (3 intervals)"))  # fmt: skip
        clock.set_ns(seoul_ns(2026, 11, 26, 11, 0, 0))
        event(0, events.RecorderStop(recorder_id=RECORDER, reason="SIGTERM"))
    for sealed in raw_dir.glob("*/*.seg.zst"):  # rotation sealed it: the golden files are plain
        with open_sealed(sealed) as src:
            sealed.with_suffix("").write_bytes(src.read())
        sealed.unlink()
    first = raw_dir / marks[FLIPPED].segment
    with first.open("r+b") as f:  # one payload byte of one record, as a bad sector would
        f.seek(marks[FLIPPED].offset + RECORD_HEADER + 20)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x20]))
        f.seek(0, 2)
        f.write(b"\xa5\x5a" + (200).to_bytes(4, "little") + b"half of it")  # the torn tail
    return marks


def describe(items: list[RawRecord | CorruptRegion]) -> list[dict[str, Any]]:
    """What a reader found, as JSON: payloads as text where they are UTF-8, else base64."""
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, CorruptRegion):
            out.append({"segment": item.segment, "offset": item.offset,
                        "corrupt_bytes": len(item.data), "reason": item.reason})  # fmt: skip
            continue
        try:
            payload: dict[str, str] = {"text": item.payload.decode("utf-8")}
        except UnicodeDecodeError:
            payload = {"base64": base64.b64encode(item.payload).decode()}
        out.append({"segment": item.segment, "offset": item.offset, "recv_ns": item.recv_ns,
                    "conn": item.conn_id, "kind": item.kind.name, **payload})  # fmt: skip
    return out


def lake_as_text(data_dir: Path) -> dict[str, list[dict[str, str | None]]]:
    """Every lake row as text, in lineage order: the form ``lake.json`` pins."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    out: dict[str, list[dict[str, str | None]]] = {}
    for table in ("quotes", "trades", "gaps", "rejects"):
        files = sorted(str(f) for f in (data_dir / "lake" / "live" / table).rglob("*.parquet"))
        if not files:
            out[table] = []
            continue
        keys = 'segment, "offset"' + (", record_index" if table != "gaps" else "")
        rel = con.sql(f"SELECT * FROM read_parquet({files}, hive_partitioning = false) "
                      f"ORDER BY {keys}, end_ts IS NULL" if table == "gaps"
                      else f"SELECT * FROM read_parquet({files}, hive_partitioning = false) "
                      f"ORDER BY {keys}")  # fmt: skip
        out[table] = [
            dict(zip(rel.columns, map(_text, row), strict=True)) for row in rel.fetchall()
        ]
    return out


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return "base64:" + base64.b64encode(value).decode()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def main() -> int:
    """Write raw-v1/ afresh: plain, sealed, records.json, and lake.json from today's
    normalizer (read the diff: it is what the tests will hold every later version to)."""
    if HERE.exists():
        shutil.rmtree(HERE)
    plain, sealed = HERE / "plain" / "raw", HERE / "sealed" / "raw"
    write_raw(plain)
    shutil.copytree(plain, sealed)
    for segment in sorted(sealed.glob("*/*.seg")):
        seal_segment(segment)
    (sealed / ".lock").unlink(missing_ok=True)
    (plain / ".lock").unlink(missing_ok=True)
    found = describe(list(read_records(plain)))
    (HERE / "records.json").write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(plain, Path(tmp) / "raw")
        normalize(Path(tmp))
        lake = lake_as_text(Path(tmp))
    (HERE / "lake.json").write_text(json.dumps(lake, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
