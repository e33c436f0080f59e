"""Raw logs for normalizer tests, written through the real RawLogWriter."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import duckdb
import pyarrow as pa

from capture.clock import ManualClock
from capture.kis.layouts import LAYOUTS, Kind
from capture.kis.protocol import control_response, data_frame
from capture.rawlog import RawLogWriter, RecordKind, events
from storage.lake import read_manifest
from storage.normalize.normalizer import normalize
from storage.normalize.parser import FRAME_SCHEMA
from tests.support.rawlog import seoul_ns

ISINS = ["KR103502GD31", "KR101501DD41"]
KEY, IV = "0123456789abcdef0123456789abcdef", "fedcba9876543210"
START_NS = 1_767_250_000 * 10**9  # 2026-01-01 15:46:40 Seoul
DAY1, DAY2 = dt.date(2026, 11, 26), dt.date(2026, 11, 27)  # the days of two_days()


def record(rng: random.Random, tr_id: str, isin: str) -> list[str]:
    r = rng.randint
    values = {
        Kind.ISIN: lambda: isin,
        Kind.TIME: lambda: f"{rng.randint(9, 15):02d}{rng.randint(0, 59):02d}{r(0, 59):02d}",
        Kind.PRICE: lambda: f"{rng.choice(['', '-'])}{rng.randint(1, 99999)}.{r(0, 99):02d}",
        Kind.YIELD: lambda: f"{rng.randint(0, 9)}.{rng.randint(0, 999):03d}",
        Kind.RATE: lambda: f"-{rng.randint(1, 9)}.{rng.randint(0, 999):03d}",
        Kind.QTY: lambda: str(rng.randint(0, 10**12)),
        Kind.SIGN: lambda: str(rng.randint(1, 5)),
        Kind.TEXT: lambda: "국고03250-5303(23-2)",
    }  # fmt: skip
    return [values[f.kind]() for f in LAYOUTS[tr_id].fields]


MALFORMED = [
    b"0|H0BJASP0|001|KR103502GD31^131743",  # too few fields
    b"0|H0BJASP0|002|" + "^".join(["1"] * 34).encode(),  # count says 2, has 1
    b"0|H0BJASP0|000|x",  # zero count
    b"0|H0BJASP0|0x1|x",  # count not a number
    b"0|NOSUCHTR|001|a^b",  # unknown TR
    b"0|H0BJASP0",  # no payload
    b"0|\xff\xfe|001|x",  # not UTF-8
    b"1|H0BJASP0|001|not-base64!!",  # encrypted, undecryptable
    b"{not json",  # neither frame nor JSON
]


class RawLog:
    """A raw log under ``data_dir/raw`` plus what a correct lake must hold for it."""

    def __init__(self, data_dir: Path, seed: int = 1, start_ns: int = START_NS) -> None:
        self.rng = random.Random(seed)
        self.clock = ManualClock(start_ns)
        self.expected: dict[str, list[list[str]]] = {"quotes": [], "trades": []}
        self.expected_rejects: list[bytes] = []
        self.open_gaps: dict[tuple[str, str], int] = {}  # what the STATE records declare
        self.writer = RawLogWriter(
            data_dir / "raw", "t1", clock=self.clock, state_records=self._state
        )

    def _state(self) -> list[tuple[int, bytes]]:
        aes = {tr: (KEY, IV) for tr in LAYOUTS}
        return [(2, events.encode_state(events.State(2, (), aes, dict(self.open_gaps))))]

    def frames(
        self, n: int, *, conn_id: int = 1, encrypted: bool = False, recv_ns: int | None = None
    ) -> None:
        """``n`` random data frames; ``recv_ns`` stamps them all with one receive time (a
        session that took it earlier), else each is 0.25 s after the last."""
        for _ in range(n):
            tr_id = self.rng.choice(list(LAYOUTS))
            count = self.rng.choice([1, 1, 1, 2, 3])
            recs = [record(self.rng, tr_id, self.rng.choice(ISINS)) for _ in range(count)]
            text = data_frame(tr_id, recs, key_iv=(KEY, IV) if encrypted else None)
            self.send(text.encode(), conn_id, recv_ns=recv_ns)
            self.expected[LAYOUTS[tr_id].table] += recs

    def send(
        self,
        payload: bytes,
        conn_id: int = 1,
        kind: RecordKind = RecordKind.FRAME_RECV,
        recv_ns: int | None = None,
    ) -> None:
        if recv_ns is None:
            self.clock.advance(0.25)
        self.writer.append(kind, conn_id, payload, recv_ns)

    def ack(self, conn_id: int, tr_id: str) -> None:
        self.send(control_response(tr_id, ISINS[0], "OPSP0000", key=KEY, iv=IV).encode(), conn_id)

    def malformed(self) -> None:
        for payload in MALFORMED:
            self.send(payload)
            self.expected_rejects.append(payload)

    def event(self, **fields: object) -> None:
        self.send(json.dumps(fields).encode(), kind=RecordKind.EVENT)


def lake_rows(
    data_dir: Path, table: str, order: str = 'segment, "offset", record_index'
) -> list[dict]:
    """The rows of ``table``'s live files, but for those a rebuild took out of the lake (it
    leaves them on disk for the retention, for the readers that planned on them)."""
    lake = data_dir / "lake"
    manifest = read_manifest(lake)
    dropped = {lake / rel for rel in manifest.dropped} if manifest is not None else set()
    files = [f for f in sorted((lake / "live" / table).rglob("*.parquet")) if f not in dropped]
    if not files:
        return []
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet({[str(f) for f in files]}) ORDER BY {order}")
    names = rel.columns
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


def frames_table(texts: list[str], recv_ns: int) -> pa.Table:
    """Frames as the parser takes them, all received at ``recv_ns`` on connection 1; each
    frame's ``offset`` is its ``frame_no``."""
    n = len(texts)
    return pa.table(
        {
            "frame_no": range(n), "text": texts, "recv_ns": [recv_ns] * n, "conn_id": [1] * n,
            "segment": ["2026-01-01/x.seg"] * n, "offset": range(n),
        },
        schema=FRAME_SCHEMA,
    )  # fmt: skip


def two_days(data_dir: Path, *, close: bool = True) -> RawLog:
    """Two Seoul days of frames over four hourly segments, in many small batches, with
    rejects and gaps (one closed, one open); the writer stays open on the last segment (day 2,
    10:00) unless ``close``: day 1's records can sit in day 2's first segment (09:00)."""
    log = RawLog(data_dir, start_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    log.frames(60)
    log.malformed()
    pair = ("H0BJASP0", ISINS[0])
    log.event(type="gap_open", conn=1, tr_id=pair[0], isin=pair[1], start_ns=log.clock.now_ns(),
              reason="dropped")  # fmt: skip
    log.clock.advance(3600)
    log.frames(40)
    log.event(type="gap_close", conn=2, tr_id=pair[0], isin=pair[1], end_ns=log.clock.now_ns())
    log.event(type="gap_open", conn=2, tr_id=pair[0], isin=ISINS[1], start_ns=log.clock.now_ns(),
              reason="dropped")  # fmt: skip
    log.clock.set_ns(seoul_ns(2026, 11, 27, 9, 0, 0))
    log.frames(30)
    log.clock.set_ns(seoul_ns(2026, 11, 27, 10, 0, 0))
    log.frames(10)
    if close:
        log.writer.close()
    normalize(data_dir, batch_records=15)
    return log
