from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture.errors import ConfigError, MalformedFrame
from capture.exchange.faults import MALFORMED_KINDS, FaultOptions, malformed_frame, stall_remaining
from capture.exchange.market import Market
from capture.kis.protocol import classify, data_frame, split_records


@given(
    kind=st.sampled_from(MALFORMED_KINDS),
    seed=st.integers(0, 2**32),
    count=st.integers(1, 5),
    tr_id=st.sampled_from(["H0BJASP0", "H0BJCNT0"]),
)
def test_every_malformed_kind_is_rejected_by_the_client_codec(
    kind: str, seed: int, count: int, tr_id: str
) -> None:
    market = Market(seed)
    frame = data_frame(tr_id, [market.next_record(tr_id, "KR103502GD31", "090000")] * count)
    broken = malformed_frame(frame, kind, random.Random(seed))
    assert broken != frame
    with pytest.raises(MalformedFrame):
        split_records(classify(broken))  # type: ignore[arg-type]
    assert isinstance(broken, bytes) == (kind == "invalid_utf8")


def test_stall_windows_start_after_one_interval_and_last_the_stall() -> None:
    assert stall_remaining(0.5, 2.0, 10.0) == 0.0
    assert stall_remaining(10.5, 2.0, 10.0) == pytest.approx(1.5)
    assert stall_remaining(12.5, 2.0, 10.0) == 0.0
    assert stall_remaining(20.0, 2.0, 10.0) == pytest.approx(2.0)
    assert stall_remaining(20.0, None, None) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stall": 1.0},
        {"drop_every": 0},
        {"malformed_rate": 1.5},
        {"drop_after_frames": -1},
        {"skip_trades": -0.1},
        {"skip_trades": 1.5},
    ],
)
def test_fault_options_refuse_values_that_make_no_sense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        FaultOptions(**kwargs)  # type: ignore[arg-type]
