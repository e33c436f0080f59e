"""Replay: a recorded session served again over the KIS protocol, checked by what clients get.

One simulator session is recorded for the module (encrypted and multi-record frames, drops,
malformed frames) and normalized. Then: `bondtape record` records its replay and the two lakes
hold the same rows apart from receive times and lineage; clients written here from
docs/kis-protocol.md alone (not from bondtape's codec) get exactly the recorded records of their
pairs, at the recorded spacing divided by the speed, with recorded gaps as silence or, on
request, as dropped connections; KIS's official sample flow runs with only its URLs changed.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import websocket
from Crypto.Cipher import AES
from Crypto.Util.Padding import unpad

from capture.clock import seoul_date, seoul_datetime
from capture.rawlog import RecordKind
from storage.normalize.normalizer import normalize
from storage.report.ledger import Category, tally
from tests.support.kis_checks import approval_key, official_sample_client
from tests.support.recorder import (
    bondtape,
    events,
    isins,
    raw_records,
    record,
    running,
    simulator,
    stop,
    wait_until,
    write_config,
)

ISINS = isins(3)
TRS = ("H0BJASP0", "H0BJCNT0")
WIDTHS = {"H0BJASP0": 34, "H0BJCNT0": 19}  # fields per record (docs/kis-protocol.md)
RECEIPT_AND_LINEAGE = ("recv_ts", "recv_ns", "segment", "offset", "record_index", "conn_id")

Record = tuple[str, list[str]]  # (tr_id, the record's fields as sent)


@dataclass(frozen=True)
class Recorded:
    data_dir: Path
    day: dt.date


@dataclass(frozen=True)
class Urls:
    ws_url: str
    rest_url: str


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """A few seconds with every kind of frame and three drops, recorded and normalized."""
    tmp = tmp_path_factory.mktemp("original")
    with simulator(
        tmp, rate=30, encrypt=True, multi_record_ratio=0.3, malformed_rate=0.02, drop_every=1.5
    ) as sim:
        config, env = write_config(tmp, sim, ISINS, trs=TRS)
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(lambda: len(events(tmp / "data", "disconnect")) >= 3, 60, "three drops")
            assert stop(recorder) == 0
    normalize(tmp / "data")
    return Recorded(tmp / "data", seoul_date(raw_records(tmp / "data")[0].recv_ns))


@contextmanager
def replaying(recorded: Recorded, tmp: Path, *options: str) -> Iterator[Urls]:
    """`bondtape replay` of the recorded day as a real process; its URLs."""
    log = (tmp / "replay.log").open("w")
    process = bondtape(
        "replay", "--data-dir", str(recorded.data_dir), "--date", recorded.day.isoformat(),
        "--settle", "0.3", *options,
        stdout=subprocess.PIPE, stderr=log, text=True,
    )  # fmt: skip
    with running(process), log:
        assert process.stdout is not None
        urls = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(2))
        yield Urls(urls["ws"], urls["rest"])
        assert stop(process) == 0


# --- what was recorded, read from raw as docs/kis-protocol.md defines frames --------------


def decrypt(payload: str, key: str, iv: str) -> str:
    """docs/kis-protocol.md: base64, AES-256-CBC with the UTF-8 key and iv, PKCS#7, UTF-8."""
    cipher = AES.new(key.encode(), AES.MODE_CBC, iv.encode())
    return unpad(cipher.decrypt(base64.b64decode(payload)), AES.block_size).decode()


def split(text: str, keys: dict[str, tuple[str, str]]) -> list[Record] | None:
    """The records of a data frame ``E|TR|NNN|payload``; None if it is not a good one."""
    parts = text.split("|", 3)
    if len(parts) != 4 or parts[0] not in ("0", "1") or parts[1] not in WIDTHS:
        return None
    flag, tr_id, count, payload = parts
    try:
        body = decrypt(payload, *keys[tr_id]) if flag == "1" else payload
    except (KeyError, ValueError):
        return None
    fields, width = body.split("^"), WIDTHS[tr_id]
    if not count.isdigit() or len(fields) != int(count) * width:
        return None
    return [(tr_id, fields[i * width : (i + 1) * width]) for i in range(int(count))]


def recorded_records(recorded: Recorded, isin: str) -> list[tuple[int, Record]]:
    """(recv_ns, record) of every record of ``isin`` received on the day, in receipt order."""
    keys: dict[int, dict[str, tuple[str, str]]] = {}
    found = []
    for r in raw_records(recorded.data_dir):
        if r.kind is not RecordKind.FRAME_RECV:
            continue
        try:
            text = r.payload.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not a frame a KIS client can read
        if text.startswith("{"):
            try:
                message = json.loads(text)
                output = message["body"]["output"]
                keys.setdefault(r.conn_id, {})[message["header"]["tr_id"]] = (
                    output["key"], output["iv"]
                )  # fmt: skip
            except (ValueError, KeyError, TypeError):
                pass
            continue
        records = split(text, keys.get(r.conn_id, {}))
        if records and seoul_date(r.recv_ns) == recorded.day:
            found += [(r.recv_ns, rec) for rec in records if rec[1][0] == isin]
    return found


# --- a client that knows only docs/kis-protocol.md -----------------------------------------


@dataclass
class KisClient:
    """Subscribes to both TRs of ``isin`` and keeps each data record with its arrival time."""

    urls: Urls
    isin: str
    app_key: str = "replay-client"
    got: list[tuple[float, Record]] = field(default_factory=list)
    closed_by_server: bool = False

    def run(self, wanted: int, timeout: float = 30.0) -> None:
        """Receive until ``wanted`` records came, the server dropped us, or ``timeout``."""
        key = approval_key(self.urls.rest_url, self.app_key)
        ws = websocket.create_connection(self.urls.ws_url, timeout=timeout)
        keys: dict[str, tuple[str, str]] = {}
        try:
            for tr_id in TRS:
                ws.send(json.dumps({
                    "header": {"approval_key": key, "custtype": "P", "tr_type": "1",
                               "content-type": "utf-8"},
                    "body": {"input": {"tr_id": tr_id, "tr_key": self.isin}},
                }))  # fmt: skip
            while len(self.got) < wanted:
                try:
                    text = ws.recv()
                except websocket.WebSocketTimeoutException:
                    return  # nothing more came within the timeout
                except (websocket.WebSocketConnectionClosedException, ConnectionError):
                    text = ""
                if not text:  # websocket-client gives "" for a close frame
                    self.closed_by_server = True
                    return
                now = time.monotonic()
                if text.startswith("{"):
                    message = json.loads(text)
                    if message["header"]["tr_id"] == "PINGPONG":
                        ws.pong(text)
                    elif message["body"]["rt_cd"] == "0":
                        output = message["body"]["output"]
                        keys[message["header"]["tr_id"]] = (output["key"], output["iv"])
                    continue
                records = split(text, keys)
                assert records is not None, f"a frame a KIS client cannot read: {text[:80]}"
                self.got += [(now, rec) for rec in records]
        finally:
            ws.close()


# --- the tests -----------------------------------------------------------------------------


def test_a_replay_recorded_again_lands_the_same_rows_apart_from_receipt_and_lineage(
    recorded: Recorded, tmp_path: Path
) -> None:
    frames = tally(recorded.data_dir / "raw", recorded.day).categories[Category.DATA_FRAME]
    copy = tmp_path / "data"
    with replaying(recorded, tmp_path, "--speed", "max") as urls:
        config, env = write_config(tmp_path, urls, ISINS, trs=TRS)
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(lambda: data_frames(copy) >= frames, 60, f"{frames} frames replayed")
            assert stop(recorder) == 0
    assert data_frames(copy) == frames > 100
    normalize(copy)
    for table in ("quotes", "trades"):
        original = feed_rows(recorded.data_dir, table, recorded.day)
        assert feed_rows(copy, table, seoul_date(raw_records(copy)[0].recv_ns)) == original
    payloads = [r.payload for r in raw_records(copy) if r.kind is RecordKind.FRAME_RECV]
    assert any(p.startswith(b"1|") for p in payloads), "encrypted frames replay encrypted"
    assert any(p[11:14] not in (b"001", b"|00") for p in payloads if p[:2] in (b"0|", b"1|"))


def test_clients_get_exactly_their_pairs_records_in_order_at_the_recorded_spacing_over_speed(
    recorded: Recorded, tmp_path: Path
) -> None:
    speed = 2.0
    expected = {isin: recorded_records(recorded, isin) for isin in ISINS[:2]}
    with replaying(recorded, tmp_path, "--speed", str(speed)) as urls:
        clients = [KisClient(urls, isin, app_key=f"client-{isin}") for isin in expected]
        threads = [threading.Thread(target=c.run, args=(len(expected[c.isin]),)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    for client in clients:
        wanted = expected[client.isin]
        assert [rec for _, rec in client.got] == [rec for _, rec in wanted]
        arrived = [t - client.got[0][0] for t, _ in client.got]
        intended = [(ns - wanted[0][0]) / 1e9 / speed for ns, _ in wanted]
        errors = sorted(abs(a - i) for a, i in zip(arrived, intended, strict=True))
        assert errors[int(0.95 * len(errors))] < 0.05 and errors[-1] < 0.2, errors[-5:]
        # the recorded gaps (drops) come back as silence of their length over speed
        silence = max(b - a for a, b in itertools.pairwise(arrived))
        recorded_silence = max(b - a for a, b in itertools.pairwise(intended))
        assert recorded_silence > 0.05
        assert silence == pytest.approx(recorded_silence, abs=0.05)


def test_with_gaps_as_disconnects_each_recorded_drop_drops_the_client_and_a_reconnect_resumes(
    recorded: Recorded, tmp_path: Path
) -> None:
    isin = ISINS[0]
    wanted = recorded_records(recorded, isin)
    drops = sorted({
        e["start_ns"] for e in events(recorded.data_dir, "gap_open")
        if e["isin"] == isin and e["reason"] != "recorder stop" and e["start_ns"] < wanted[-1][0]
    })  # fmt: skip
    sessions: list[KisClient] = []
    got: list[tuple[float, Record]] = []
    with replaying(recorded, tmp_path, "--speed", "max", "--gaps-as-disconnects") as urls:
        while len(got) < len(wanted) and len(sessions) <= len(drops):
            session = KisClient(urls, isin)  # the same app key each time: the replay resumes
            session.run(len(wanted) - len(got), timeout=10)
            sessions.append(session)
            got += session.got
    assert len(drops) >= 2 and len(sessions) == len(drops) + 1
    assert all(s.closed_by_server for s in sessions[:-1])
    assert [rec for _, rec in sessions[0].got] == [rec for ns, rec in wanted if ns <= drops[0]]
    assert [rec for _, rec in got] == [rec for _, rec in wanted]


def test_with_loop_the_day_starts_again_when_it_ends(recorded: Recorded, tmp_path: Path) -> None:
    wanted = [rec for _, rec in recorded_records(recorded, ISINS[1])]
    with replaying(recorded, tmp_path, "--speed", "max", "--loop") as urls:
        client = KisClient(urls, ISINS[1])
        client.run(2 * len(wanted) + 1, timeout=10)
    assert [rec for _, rec in client.got][: 2 * len(wanted)] == wanted + wanted


def test_a_window_that_holds_nothing_for_the_client_is_said_in_the_log(
    recorded: Recorded, tmp_path: Path
) -> None:
    with replaying(recorded, tmp_path, "--speed", "max", "--isins", ISINS[1]) as urls:
        client = KisClient(urls, ISINS[0])
        client.run(1, timeout=3)
        log = tmp_path / "replay.log"
        wait_until(lambda: "held nothing for a client" in log.read_text(), 10, "the warning")
    assert client.got == []


def test_a_client_sent_its_whole_window_in_one_batch_is_not_told_it_held_nothing(
    recorded: Recorded, tmp_path: Path
) -> None:
    first_ns = recorded_records(recorded, ISINS[0])[0][0]
    start = seoul_datetime(first_ns).replace(microsecond=0)
    end = start + dt.timedelta(seconds=1)  # a window small enough for one batch
    wanted = [
        rec for ns, rec in recorded_records(recorded, ISINS[0])
        if start <= seoul_datetime(ns) < end
    ]  # fmt: skip
    window = ("--start", start.strftime("%H:%M:%S"), "--end", end.strftime("%H:%M:%S"))
    with replaying(recorded, tmp_path, "--speed", "max", *window) as urls:
        client = KisClient(urls, ISINS[0])
        client.run(len(wanted), timeout=10)
    assert wanted and [rec for _, rec in client.got] == wanted
    assert "held nothing" not in (tmp_path / "replay.log").read_text()


def test_the_official_sample_flow_runs_against_a_replay_with_only_its_urls_changed(
    recorded: Recorded, tmp_path: Path
) -> None:
    with replaying(recorded, tmp_path, "--speed", "1", "--ping-interval", "0.2") as urls:
        key = approval_key(urls.rest_url)
        records, pings = asyncio.run(official_sample_client(urls.ws_url, key, 5, ISINS[0]))
    assert pings == 5 and records > 0


def test_a_day_with_nothing_recorded_is_refused_naming_the_date(
    recorded: Recorded, tmp_path: Path
) -> None:
    process = bondtape(
        "replay", "--data-dir", str(recorded.data_dir), "--date", "2020-01-02",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    with running(process):
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "--date = '2020-01-02': nothing was recorded that day" in stderr


# --- helpers ---------------------------------------------------------------------------------


def data_frames(data_dir: Path) -> int:
    return sum(
        1
        for r in raw_records(data_dir)
        if r.kind is RecordKind.FRAME_RECV and r.payload[:2] in (b"0|", b"1|")
    )


def feed_rows(data_dir: Path, table: str, day: dt.date) -> list[tuple[object, ...]]:
    """The day's rows of ``table`` in receipt order, without receipt times and lineage."""
    files = f"read_parquet('{data_dir}/lake/live/{table}/date={day}/*/*.parquet', " \
        "hive_partitioning = false)"  # fmt: skip
    columns = duckdb.sql(f"DESCRIBE SELECT * FROM {files}").fetchall()
    kept = ", ".join(f'"{c[0]}"' for c in columns if c[0] not in RECEIPT_AND_LINEAGE)
    order = 'recv_ns, segment, "offset", record_index'  # receipt order, ties by lineage
    return duckdb.sql(f"SELECT {kept} FROM {files} ORDER BY {order}").fetchall()
