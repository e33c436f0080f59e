"""Reconnect delays: exponential backoff with full jitter, as a pure state machine.

KIS warns that rapid connect/close loops can block the IP and app key, so every reconnect
waits ``uniform(0, min(cap, base * 2**n))`` where ``n`` counts failures since the last
connection that stayed up for ``stable_after_s``. Time and randomness are passed in, so the
delays can be recorded and checked in tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


def full_jitter_delay(attempt: int, rng: random.Random, *, base_s: float, cap_s: float) -> float:
    """The delay before reconnect number ``attempt`` (0-based): full jitter over the cap.

    Raises:
        ValueError: a negative attempt, or a base or cap that is not positive.
    """
    if attempt < 0 or base_s <= 0 or cap_s <= 0:
        raise ValueError(f"attempt={attempt}, base_s={base_s}, cap_s={cap_s}")
    # 2**attempt overflows a float long after it passes any sane cap: stop doubling early.
    ceiling = cap_s if attempt >= 64 else min(cap_s, base_s * 2**attempt)
    return rng.uniform(0.0, ceiling)


@dataclass(slots=True)
class Backoff:
    """Counts failures; a connection that lasts ``stable_after_s`` resets the count."""

    rng: random.Random
    base_s: float = 1.0
    cap_s: float = 60.0
    stable_after_s: float = 60.0
    attempt: int = 0
    _connected_at_s: float | None = None

    def connected(self, now_s: float) -> None:
        """Note that a connection is up (``now_s`` from a monotonic clock)."""
        self._connected_at_s = now_s

    def next_delay(self, now_s: float) -> float:
        """The wait before the next connect attempt, after a failure or a disconnect at
        ``now_s`` (monotonic seconds).

        Raises:
            ValueError: see :func:`full_jitter_delay`.
        """
        since = self._connected_at_s
        if since is not None and now_s - since >= self.stable_after_s:
            self.attempt = 0
        self._connected_at_s = None
        delay = full_jitter_delay(self.attempt, self.rng, base_s=self.base_s, cap_s=self.cap_s)
        self.attempt += 1
        return delay
