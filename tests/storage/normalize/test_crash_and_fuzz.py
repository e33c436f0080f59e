from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.kis.layouts import LAYOUTS
from capture.kis.protocol import data_frame
from capture.rawlog import RecordKind
from storage.normalize.normalizer import normalize
from storage.normalize.parser import FrameParser
from tests.support.rawdata import ISINS, START_NS, RawLog, frames_table, lake_rows, record
from tests.support.recorder import wait_until

ROOT = Path(__file__).resolve().parents[3]
TABLES = ("quotes", "trades", "rejects")


def _snapshot(data_dir: Path) -> dict[str, list[tuple]]:
    return {
        t: sorted((r["segment"], r["offset"], r["record_index"]) for r in lake_rows(data_dir, t))
        for t in TABLES
    }


def _checkpoint(data_dir: Path) -> str | None:
    path = data_dir / "lake" / "checkpoint.json"
    return path.read_text() if path.exists() else None


def _progressed(proc: subprocess.Popen[bytes], data_dir: Path, before: str | None) -> bool:
    return proc.poll() is not None or _checkpoint(data_dir) != before


def test_killing_normalize_at_random_moments_loses_and_duplicates_no_row(tmp_path: Path) -> None:
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    log = RawLog(clean)
    for _ in range(6):
        log.frames(60)
        log.malformed()
        log.clock.advance(1800)
    log.writer.close()
    (crashed / "raw").parent.mkdir(parents=True)
    subprocess.run(["cp", "-r", str(clean / "raw"), str(crashed / "raw")], check=True)
    normalize(clean, batch_records=25)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "jobs.cli", "normalize", "--data-dir", str(crashed)]
    rng = random.Random(5)
    killed_mid_run = 0
    for _ in range(6):
        before = _checkpoint(crashed)
        proc = subprocess.Popen([*cmd, "--batch-records", "25"], env=env, cwd=ROOT)
        try:
            # Kill once this run has committed a batch, at a random moment after it: the
            # kill then lands mid-run (writing parts, the pending list or the checkpoint).
            wait_until(partial(_progressed, proc, crashed, before), 60, "a committed batch")
            time.sleep(rng.uniform(0, 0.05))  # the random kill moment, not synchronisation
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed_mid_run += 1
        finally:
            proc.kill()
            proc.wait()
    assert killed_mid_run >= 3, "too few kills landed while normalize was running"
    assert subprocess.run([*cmd, "--batch-records", "25"], env=env, cwd=ROOT).returncode == 0
    assert _snapshot(crashed) == _snapshot(clean)


frame_text = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda seed, tr, n, cut, junk: _mutated(seed, tr, n, cut, junk),
        st.integers(0, 2**32),
        st.sampled_from(list(LAYOUTS)),
        st.integers(1, 3),
        st.integers(0, 400),
        st.binary(max_size=5),
    ),
)


def _mutated(seed: int, tr: str, n: int, cut: int, junk: bytes) -> bytes:
    rng = random.Random(seed)
    raw = data_frame(tr, [record(rng, tr, rng.choice(ISINS)) for _ in range(n)]).encode()
    return raw[:cut] + junk + raw[cut + len(junk) :] if rng.random() < 0.8 else raw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frame_text, min_size=1, max_size=30))
def test_any_bytes_become_rows_or_rejects_and_nothing_escapes(payloads: list[bytes]) -> None:
    texts = [p.decode("utf-8", "replace") for p in payloads]
    parser = FrameParser(threads=1)
    parsed = parser.parse(frames_table(texts, START_NS))
    parser.close()
    produced: dict[int, int] = {}
    for table in parsed.rows.values():
        for no in table["offset"].to_pylist():  # offset == frame_no in this input
            produced[no] = produced.get(no, 0) + 1
    whole_frame_rejects = set()
    for rej in parsed.rejects.to_pylist():
        if rej["record_index"] is None:
            whole_frame_rejects.add(rej["frame_no"])
        else:
            produced[rej["frame_no"]] = produced.get(rej["frame_no"], 0) + 1
    for no, text in enumerate(texts):
        if no in whole_frame_rejects:
            assert no not in produced
        else:
            assert produced[no] == int(text.split("|", 3)[2])


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(frame_text, min_size=1, max_size=10))
def test_the_normalizer_never_raises_on_arbitrary_raw_records(
    tmp_path: Path, payloads: list[bytes]
) -> None:
    shutil.rmtree(tmp_path, ignore_errors=True)
    log = RawLog(tmp_path)
    for payload in payloads:
        log.send(payload)
    log.writer.close()
    normalize(tmp_path)
    rows = sum(len(lake_rows(tmp_path, t)) for t in TABLES)
    assert rows >= len([p for p in payloads if p[:2] in (b"0|", b"1|")])


json_value = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=8),
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([RecordKind.EVENT, RecordKind.STATE]),
            st.fixed_dictionaries(
                {"type": st.sampled_from(["gap_open", "gap_close", "connect"])},
                optional={
                    "conn": json_value,
                    "tr_id": json_value,
                    "isin": json_value,
                    "start_ns": json_value,
                    "end_ns": json_value,
                    "aes": json_value,
                },
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_hostile_events_and_state_records_become_rejects_and_the_lake_moves_on(
    tmp_path: Path, records: list[tuple[RecordKind, dict]]
) -> None:
    shutil.rmtree(tmp_path, ignore_errors=True)
    log = RawLog(tmp_path)
    for kind, fields in records:
        log.send(json.dumps(fields).encode(), kind=kind)
    log.frames(3)  # the feed after them must still land
    log.writer.close()
    normalize(tmp_path)
    landed = len(lake_rows(tmp_path, "quotes")) + len(lake_rows(tmp_path, "trades"))
    assert landed == len(log.expected["quotes"]) + len(log.expected["trades"])
    assert normalize(tmp_path).records == 0, "the checkpoint moved past every record"


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (RecordKind.EVENT, b'{"type":"gap_open","tr_id":"H0BJASP0","isin":"KR103502GD31",'
                           b'"start_ns":1e999}'),
        (RecordKind.EVENT, b'{"type":"gap_open","tr_id":"H0BJASP0","isin":"KR103502GD31",'
                           b'"start_ns":100000000000000000000000}'),
        (RecordKind.EVENT, b'{"type":"gap_open","conn":99999999999,"tr_id":"H0BJASP0",'
                           b'"isin":"KR103502GD31","start_ns":1}'),
        (RecordKind.STATE, b'{"conn":1e999,"aes":{}}'),
    ],
)  # fmt: skip
def test_out_of_range_numbers_in_events_are_rejects_not_a_stalled_lake(
    tmp_path: Path, kind: RecordKind, payload: bytes
) -> None:
    log = RawLog(tmp_path)
    log.send(payload, kind=kind)
    log.frames(2)
    log.writer.close()
    stats = normalize(tmp_path)
    [reject] = lake_rows(tmp_path, "rejects")
    assert reject["raw"] == payload and "not an integer" in reject["reason"]
    assert stats.rows["quotes"] + stats.rows["trades"] > 0
