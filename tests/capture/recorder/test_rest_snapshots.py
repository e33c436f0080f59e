"""The recorder fetches a bond's REST book at each ack of its H0BJASP0 registration (the
open and every reconnect), keeps each answer in raw as received, reuses one access token per
app key, and when the fetch fails it logs, counts and moves on while the feed goes on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from capture.kis import rest_book
from capture.rawlog import RawRecord, RecordKind, rest
from capture.recorder.recorder import Recorder
from capture.status_files import STATUS_NAME
from tests.support.recorder import (
    TRS,
    events,
    free_port,
    isins,
    raw_records,
    record,
    recorder_options,
    recording,
    running,
    scrape,
    simulator,
    stop,
    wait_until,
    write_config,
)


def rest_records(data: Path) -> list[tuple[RawRecord, rest.RestResponse]]:
    return [(r, rest.read_rest(r.payload)) for r in raw_records(data)
            if r.kind is RecordKind.REST_RECV]  # fmt: skip


def snapshot_status(data: Path) -> dict[str, int] | None:
    """The recorder's ``rest_snapshots`` totals in status.json; None before it is written."""
    try:
        return json.loads((data / STATUS_NAME).read_text())["rest_snapshots"]
    except (FileNotFoundError, ValueError):
        return None


def test_each_book_ack_brings_the_bonds_rest_book_into_raw_with_one_token_per_app_key(
    tmp_path: Path,
) -> None:
    bonds = isins(2)
    log = tmp_path / "recorder.log"
    with simulator(tmp_path, rate=20, drop_every=0.8) as sim:
        config, env = write_config(tmp_path, sim, bonds, trs=TRS)
        data = tmp_path / "data"

        def fetched_on_three_connections() -> bool:
            conns = {(r.conn_id, answer.isin) for r, answer in rest_records(data)}
            return all(len({c for c, i in conns if i == isin}) >= 3 for isin in bonds)

        with log.open("wb") as stderr, running(record(config, env, stderr=stderr)) as recorder:
            wait_until(fetched_on_three_connections, 30, "REST books on three connections")
            assert stop(recorder) == 0
        tokens = sim.simulator.access_tokens_issued
    found = rest_records(data)
    assert len(tokens) == 1, "one access token for the whole run, through every reconnect"
    acks = {(e["conn"], e["isin"]) for e in events(data, "sub_ack") if e["tr_id"] == "H0BJASP0"}
    for raw, answer in found:
        assert (answer.method, answer.path, answer.tr_id) == (
            "GET", rest_book.BOOK_PATH, rest_book.BOOK_TR_ID
        )  # fmt: skip
        assert answer.query == rest_book.book_query(answer.isin) and answer.isin in bonds
        assert (raw.conn_id, answer.isin) in acks, "asked for at an ack of that connection"
        assert answer.status == 200 and rest_book.classify_book_answer(200, answer.body).ok
        assert answer.sent_ns <= raw.recv_ns
    everything = b"".join(r.payload for r in raw_records(data)) + log.read_bytes()
    secrets = [*tokens, *env.values()]
    assert not [s for s in secrets if s.encode() in everything], "a secret reached raw or a log"
    status = json.loads((data / STATUS_NAME).read_text())
    assert status["rest_snapshots"]["fetched"] == len(found)
    assert status["rest_snapshots"]["failed"] == 0


def test_a_fetch_that_keeps_failing_is_counted_while_the_feed_goes_on(tmp_path: Path) -> None:
    bonds = tuple(isins(2))
    port = free_port()
    with simulator(tmp_path, rate=20) as sim:
        options = recorder_options(
            tmp_path / "data", tuple(("H0BJASP0", isin) for isin in bonds), sim.ws_url,
            sim.rest_url, rest_snapshots=True, backoff_base_s=0.02, backoff_cap_s=0.05,
            rest_attempts=3, metrics_port=port,
        )  # fmt: skip
        # The websocket and its approval work; the REST API is nowhere (a closed port).
        options = dataclasses.replace(options, rest_url=f"http://127.0.0.1:{free_port()}")
        recorder = Recorder(options)
        with recording(recorder):
            wait_until(
                lambda: scrape(port).get(
                    'bondtape_rest_snapshots_total{credential="c0",outcome="failed"}'
                ) == len(bonds),
                20, "both snapshots given up",
            )  # fmt: skip
            samples = scrape(port)
            assert samples['bondtape_rest_snapshots_total{credential="c0",outcome="retried"}'] == 4
            frames = lambda: sum(  # noqa: E731
                1 for r in raw_records(options.data_dir) if r.kind is RecordKind.FRAME_RECV
                and r.payload[:2] == b"0|"
            )  # fmt: skip
            before = frames()
            wait_until(lambda: frames() > before + 5, 10, "the feed to go on")
            wait_until(lambda: (snapshot_status(options.data_dir) or {}).get("failed") == 2,
                       5, "status.json to count them")  # fmt: skip
    assert not rest_records(options.data_dir), "no answer came, so none is in raw"
    status = json.loads((options.data_dir / STATUS_NAME).read_text())
    assert status["rest_snapshots"] == {"fetched": 0, "failed": 2, "pending": 0}
    assert "access token" in status["connections"][0]["rest_snapshots"]["last_error"]
