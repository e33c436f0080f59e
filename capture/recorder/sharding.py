"""Spread (TR, ISIN) registrations over credentials: one session per app key, 41 per session.

Pure and deterministic: the same config always gives the same shards, so a restarted
recorder subscribes each pair on the same credential as before. Pairs keep config order;
shards are contiguous and as even as possible.
"""

from __future__ import annotations

from collections.abc import Sequence

from capture.errors import ConfigError
from capture.kis import REGISTRATIONS_PER_SESSION, Pair


def subscription_pairs(isins: Sequence[str], trs: Sequence[str]) -> list[Pair]:
    """Every (TR, ISIN) to register, ISIN-major in config order, duplicates dropped."""
    seen: dict[Pair, None] = {}
    for isin in isins:
        for tr_id in trs:
            seen.setdefault((tr_id, isin), None)
    return list(seen)


def shard(
    pairs: Sequence[Pair], n_credentials: int, *, limit: int = REGISTRATIONS_PER_SESSION
) -> list[list[Pair]]:
    """Split ``pairs`` into at most ``n_credentials`` shards of at most ``limit`` each.

    Uses as few sessions as fit (opening unneeded sessions only invites OPSP8996 on keys
    shared with other tools), then balances them, so 120 pairs on 3+ keys give 40/40/40.

    Raises:
        ConfigError: more pairs than ``n_credentials x limit``, or no credential at all.
    """
    if n_credentials < 1:
        raise ConfigError("kis.credentials", [], "add at least one [[kis.credentials]] entry")
    if not pairs:
        return []
    sessions = -(-len(pairs) // limit)
    if sessions > n_credentials:
        raise ConfigError(
            "capture.isins",
            f"{len(pairs)} (TR, ISIN) pairs",
            f"{n_credentials} credential(s) carry at most {n_credentials * limit} "
            f"({limit} per session); add {sessions - n_credentials} [[kis.credentials]] "
            "entries or drop ISINs/TRs",
        )
    size, extra = divmod(len(pairs), sessions)
    shards: list[list[Pair]] = []
    start = 0
    for index in range(sessions):
        end = start + size + (1 if index < extra else 0)
        shards.append(list(pairs[start:end]))
        start = end
    return shards
