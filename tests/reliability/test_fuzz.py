"""10,000 generated frames, most of them malformed, and control messages, through the
recorder's side (its raw writer, and the classification it does of every non-data frame)
and the normalizer: nothing escapes but a documented error, and the day's report balances,
so every data record is a row or a reject.

In-process on purpose: the recorder's hot path is ``RawLogWriter.append`` then, for a frame
that is not data, :func:`capture.kis.protocol.classify`, the very calls made here; a socket
between them would add time and no code.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections import Counter
from pathlib import Path

from capture.clock import SystemClock, seoul_datetime
from capture.errors import MalformedFrame
from capture.kis.layouts import LAYOUTS
from capture.kis.protocol import classify, control_response, data_frame, is_data_frame
from storage.normalize.normalizer import normalize
from storage.report.report import ReportSettings, build_report
from tests.support.rawdata import ISINS, IV, KEY, START_NS, RawLog, lake_rows, record

FRAMES = int(os.environ.get("BONDTAPE_FUZZ_FRAMES", "10000"))
SEED = int(os.environ.get("BONDTAPE_RELIABILITY_SEED", "20261201"))


def _data(rng: random.Random) -> bytes:
    tr_id = rng.choice(list(LAYOUTS))
    recs = [record(rng, tr_id, rng.choice(ISINS)) for _ in range(rng.choice([1, 1, 2, 3]))]
    key_iv = (KEY, IV) if rng.random() < 0.2 else None
    return data_frame(tr_id, recs, key_iv=key_iv).encode()


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    how = rng.randrange(6)
    cut = rng.randrange(len(raw) + 1)
    if how == 0:
        return raw[:cut]  # truncated
    if how == 1:  # a byte flipped
        return raw[:cut] + bytes([rng.randrange(256)]) + raw[cut + 1 :]
    if how == 2:  # junk inserted
        return raw[:cut] + rng.randbytes(rng.randrange(1, 8)) + raw[cut:]
    if how == 3:  # a field separator lost or doubled
        return raw.replace(b"^", b"", 1) if rng.random() < 0.5 else raw.replace(b"^", b"^^", 1)
    if how == 4 and raw.count(b"|") >= 3:  # the record count changed
        flag, tr_id, _, payload = raw.split(b"|", 3)
        return b"|".join((flag, tr_id, rng.choice([b"000", b"009", b"-1", b"x", b""]), payload))
    return rng.randbytes(rng.randrange(0, 200))


def _control(rng: random.Random) -> bytes:
    choice = rng.randrange(5)
    if choice == 0:
        tr_id = rng.choice(list(LAYOUTS))
        code = rng.choice(["OPSP0000", "OPSP0002", "OPSP0007", "OPSP0011", "OPSP8996"])
        text = control_response(tr_id, rng.choice(ISINS), code, key=KEY, iv=IV)
        return text.encode() if rng.random() < 0.7 else _mutate(rng, text.encode())
    if choice == 1:
        body = {"header": {"tr_id": "PINGPONG", "datetime": str(rng.randrange(10**14))}}
        return json.dumps(body).encode()
    if choice == 2:  # a JSON message with fields missing, of the wrong type, or extra
        header = {k: rng.choice([None, 1, "", "H0BJASP0", [], {}]) for k in ("tr_id", "tr_key")}
        body = {"rt_cd": rng.choice(["0", "1", 0, None]), "output": rng.choice([None, {}, "x"])}
        return json.dumps({"header": header, "body": body}).encode()
    if choice == 3:
        return json.dumps(rng.choice([[], 1, "x", None, {"header": None}])).encode()
    return b"{" + rng.randbytes(rng.randrange(0, 50))


def test_ten_thousand_malformed_frames_and_control_messages_crash_nothing_and_all_balance(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    log = RawLog(tmp_path, seed=SEED, start_ns=START_NS)
    made: Counter[str] = Counter()
    for _ in range(FRAMES):
        roll = rng.random()
        if roll < 0.25:
            payload, what = _data(rng), "data"
        elif roll < 0.75:
            payload, what = _mutate(rng, _data(rng)), "mutated"
        else:
            payload, what = _control(rng), "control"
        made[what] += 1
        log.send(payload)
        if not is_data_frame(payload):
            try:  # what the recorder's session does with a frame that is not data
                classify(payload)
            except MalformedFrame:
                made["unclassifiable"] += 1
    log.writer.close()

    stats = normalize(tmp_path)
    rows = {t: len(lake_rows(tmp_path, t)) for t in ("quotes", "trades", "rejects")}
    day = seoul_datetime(START_NS).date()
    settings = ReportSettings(session_open=dt.time(8), session_close=dt.time(15, 30))
    report = build_report(tmp_path, day, settings, SystemClock())
    print(f"\nfuzz: seed {SEED}, {FRAMES} frames {dict(made)}; rows {rows}")
    assert report.balanced, report.failure()
    assert rows["rejects"] >= made["mutated"] // 2 and rows["quotes"] + rows["trades"] > 0
    assert stats.rejects == rows["rejects"]
