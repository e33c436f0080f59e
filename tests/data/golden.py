"""The golden raw logs of each format version, and how they were made.

``tests/data/raw-v1/`` holds two segments written by the raw writer of format version 1, then
damaged on purpose: every record kind, a plain, a multi-record and an encrypted frame, a
PINGPONG, a malformed frame, gaps that open, close and stay open, a corrupt region (one
payload byte flipped) and a torn tail (the first half of a record). ``plain/`` holds them as
written, ``sealed/`` the same segments sealed with zstd. ``records.json`` lists what a reader
must find in them and ``lake.json`` the rows the normalizer must make of them.

``tests/data/raw-v2/`` is the same story written by the writer of format version 2 (today's:
:func:`write_raw`), with what version 2 added: REST_RECV records, a book snapshot answered
after the book's subscription ack and a refused one (an expired token).

These files are the contract with every raw log already on disk: tests read them with
today's code. A change of the byte format bumps ``FORMAT_VERSION`` and adds ``raw-vN/`` beside
these; it never rewrites an older one. Regenerating (``python -m tests.data.golden``) writes
raw-v2 afresh and only the ``lake.json`` of raw-v1 (its segments stay as version 1 wrote them):
it is for a deliberate change of the *expected* lake rows only, and the diff must be read.
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
from capture.kis import aes, rest_book
from capture.kis.protocol import control_response, data_frame, ping_message, subscription_request
from capture.rawlog import (
    CorruptRegion,
    Position,
    RawLogWriter,
    RawRecord,
    RecordKind,
    events,
    read_records,
    rest,
    seal_segment,
)
from capture.rawlog.seal import open_sealed
from storage.normalize.normalizer import normalize
from tests.support.rawlog import seoul_ns
from tests.support.samples import (
    ORDER_BOOK_SAMPLE,
    REST_BOOK_SAMPLE,
    REST_REFUSED_SAMPLE,
    TRADE_SAMPLE,
)

V1 = Path(__file__).resolve().parent / "raw-v1"
V2 = Path(__file__).resolve().parent / "raw-v2"
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
            if tr_id == BOOK:  # the ack asks for a snapshot: refused once, then answered
                for status, body in ((500, REST_REFUSED_SAMPLE), (200, REST_BOOK_SAMPLE)):
                    sent_ns = clock.now_ns()
                    put(RecordKind.REST_RECV, 2, rest.encode_rest(rest.RestResponse(
                        method="GET", path=rest_book.BOOK_PATH, query=rest_book.book_query(ISIN),
                        tr_id=rest_book.BOOK_TR_ID, isin=ISIN, status=status, sent_ns=sent_ns,
                        body=body.encode())))  # fmt: skip
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
    """Write raw-v2/ afresh (plain, sealed, records.json) and the lake.json of raw-v1 and
    raw-v2 from today's normalizer (read the diff: it is what the tests will hold every later
    version to)."""
    if V2.exists():
        shutil.rmtree(V2)
    plain, sealed = V2 / "plain" / "raw", V2 / "sealed" / "raw"
    write_raw(plain)
    shutil.copytree(plain, sealed)
    for segment in sorted(sealed.glob("*/*.seg")):
        seal_segment(segment)
    (sealed / ".lock").unlink(missing_ok=True)
    (plain / ".lock").unlink(missing_ok=True)
    found = describe(list(read_records(plain)))
    (V2 / "records.json").write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    for golden in (V1, V2):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(golden / "plain" / "raw", Path(tmp) / "raw")
            normalize(Path(tmp))
            lake = lake_as_text(Path(tmp))
        text = json.dumps(lake, indent=1, ensure_ascii=False) + "\n"
        (golden / "lake.json").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
