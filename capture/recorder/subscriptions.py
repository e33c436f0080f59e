"""Which (TR, ISIN) registrations of one connection are pending, in flight, live or given up.

Pure bookkeeping for :mod:`capture.recorder.session`: no sockets, time passed in. Each pair is sent
at most once per connection unless the server asked for a retry (OPSP0007) or a new approval
key (OPSP0011), so a slow ack never produces a duplicate registration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from capture.kis import ControlResponse, Outcome, Pair


class Step(Enum):
    """What the session does after a control response."""

    ACKED = "acked"  # live: record sub_ack, close its gap
    RETRY = "retry"  # record sub_error, send again after a pause
    RENEW_KEY = "renew_key"  # record sub_error, get a new approval key, send again
    GIVE_UP = "give_up"  # record sub_error, never retried on this connection
    KEY_IN_USE = "key_in_use"  # record sub_error, drop the connection, back off for long
    IGNORE = "ignore"  # unsubscribe answers and the like: nothing to do


_STEPS = {
    Outcome.SUBSCRIBED: Step.ACKED,
    Outcome.RETRY_LATER: Step.RETRY,
    Outcome.BAD_APPROVAL_KEY: Step.RENEW_KEY,
    Outcome.MALFORMED_REQUEST: Step.GIVE_UP,
    Outcome.LIMIT_REACHED: Step.GIVE_UP,
    Outcome.UNKNOWN: Step.GIVE_UP,
    Outcome.KEY_IN_USE: Step.KEY_IN_USE,
    Outcome.UNSUBSCRIBED: Step.IGNORE,
    Outcome.NOT_SUBSCRIBED: Step.IGNORE,
}


@dataclass(slots=True)
class _Entry:
    state: str = "pending"  # pending | sent | acked | failed
    due: float = 0.0  # monotonic time before which a pending pair is not sent


class SubscriptionTable:
    """The registrations of one connection, in the order they are to be sent."""

    def __init__(self, pairs: Sequence[Pair]) -> None:
        self._entries = {pair: _Entry() for pair in pairs}
        self.aes: dict[str, tuple[str, str]] = {}

    def next_to_send(self, now_s: float) -> Pair | None:
        """The first pending pair that is due, if any."""
        for pair, entry in self._entries.items():
            if entry.state == "pending" and entry.due <= now_s:
                return pair
        return None

    def next_due(self) -> float | None:
        """When the earliest pending pair becomes due (``None``: nothing pending)."""
        dues = [e.due for e in self._entries.values() if e.state == "pending"]
        return min(dues) if dues else None

    def mark_sent(self, pair: Pair) -> None:
        self._entries[pair].state = "sent"

    def answer(self, response: ControlResponse, now_s: float, retry_after_s: float) -> Step:
        """Apply a control response to the pair it names and say what to do next."""
        step = _STEPS[response.outcome]
        entry = self._entries.get((response.tr_id, response.tr_key))
        if entry is None or step is Step.IGNORE:
            return step
        if step is Step.ACKED:
            entry.state = "acked"
            if response.key is not None and response.iv is not None:
                self.aes[response.tr_id] = (response.key, response.iv)
        elif step in (Step.RETRY, Step.RENEW_KEY):
            entry.state, entry.due = "pending", now_s + retry_after_s
        else:
            entry.state = "failed"
        return step

    def knows(self, response: ControlResponse) -> bool:
        return (response.tr_id, response.tr_key) in self._entries

    def acked(self) -> list[Pair]:
        return [pair for pair, entry in self._entries.items() if entry.state == "acked"]

    def count(self, state: str) -> int:
        return sum(1 for entry in self._entries.values() if entry.state == state)
