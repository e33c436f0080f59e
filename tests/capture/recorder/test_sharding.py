from __future__ import annotations

import pytest

from capture.errors import ConfigError
from capture.kis.protocol import REGISTRATIONS_PER_SESSION
from capture.recorder.sharding import shard, subscription_pairs

TRS = ("H0BJASP0", "H0BJCNT0")


def isins(n: int) -> list[str]:
    return [f"KR{i:010d}" for i in range(n)]


def test_pairs_are_isin_major_in_config_order_without_duplicates() -> None:
    pairs = subscription_pairs(["KRB", "KRA", "KRB"], TRS)
    assert pairs == [
        ("H0BJASP0", "KRB"),
        ("H0BJCNT0", "KRB"),
        ("H0BJASP0", "KRA"),
        ("H0BJCNT0", "KRA"),
    ]


def test_120_pairs_over_three_credentials_give_three_sessions_of_40() -> None:
    shards = shard(subscription_pairs(isins(60), TRS), 3)
    assert [len(s) for s in shards] == [40, 40, 40]


def test_every_pair_lands_in_exactly_one_shard_and_none_exceeds_41() -> None:
    pairs = subscription_pairs(isins(100), TRS)
    shards = shard(pairs, 7)
    assert all(len(s) <= REGISTRATIONS_PER_SESSION for s in shards)
    assert [p for s in shards for p in s] == pairs


def test_sharding_is_deterministic() -> None:
    pairs = subscription_pairs(isins(50), TRS)
    assert shard(pairs, 4) == shard(list(pairs), 4)


def test_only_as_many_sessions_as_needed_are_used() -> None:
    assert len(shard(subscription_pairs(isins(10), TRS), 5)) == 1


def test_more_pairs_than_the_credentials_carry_are_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"add 1 \[\[kis.credentials\]\]"):
        shard(subscription_pairs(isins(42), TRS), 2)


def test_no_credential_is_refused() -> None:
    with pytest.raises(ConfigError):
        shard([("H0BJASP0", "KR0")], 0)
