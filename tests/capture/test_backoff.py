from __future__ import annotations

import random

import pytest

from capture.backoff import Backoff, full_jitter_delay


def test_delays_stay_within_zero_and_the_doubling_ceiling_up_to_the_cap() -> None:
    backoff = Backoff(rng=random.Random(7), base_s=1.0, cap_s=60.0, stable_after_s=60.0)
    delays = [backoff.next_delay(now_s=float(n)) for n in range(12)]
    for attempt, delay in enumerate(delays):
        assert 0.0 <= delay <= min(60.0, 2.0**attempt)


def test_full_jitter_spans_the_whole_capped_range() -> None:
    rng = random.Random(11)
    delays = [full_jitter_delay(10, rng, base_s=1.0, cap_s=60.0) for _ in range(200)]
    assert min(delays) < 6.0 and max(delays) > 54.0


def test_the_same_seed_gives_the_same_delays() -> None:
    first = Backoff(rng=random.Random(3))
    second = Backoff(rng=random.Random(3))
    assert [first.next_delay(0.0) for _ in range(8)] == [second.next_delay(0.0) for _ in range(8)]


def test_a_connection_that_stays_up_a_minute_resets_the_count() -> None:
    backoff = Backoff(rng=random.Random(1), stable_after_s=60.0)
    for _ in range(6):
        backoff.next_delay(now_s=0.0)
    backoff.connected(now_s=100.0)
    backoff.next_delay(now_s=160.0)
    assert backoff.attempt == 1


def test_a_connection_that_drops_within_a_minute_keeps_doubling() -> None:
    backoff = Backoff(rng=random.Random(1), stable_after_s=60.0)
    for _ in range(6):
        backoff.next_delay(now_s=0.0)
    backoff.connected(now_s=100.0)
    backoff.next_delay(now_s=159.0)
    assert backoff.attempt == 7


def test_huge_attempt_numbers_are_capped_without_overflow() -> None:
    assert 0.0 <= full_jitter_delay(5000, random.Random(0), base_s=1.0, cap_s=60.0) <= 60.0


def test_a_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError):
        full_jitter_delay(-1, random.Random(0), base_s=1.0, cap_s=60.0)
