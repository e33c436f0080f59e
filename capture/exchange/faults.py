"""Fault injection for the loopback exchange, as pure functions of options, time and an RNG.

The exchange core asks this module *when* to stall and *what* a malformed frame looks like;
it does the sending and the closing itself. Every malformed kind is built so that
:func:`capture.kis.protocol.classify` / :func:`capture.kis.protocol.split_records` must reject it:
a fault that happened to parse would be a silent gap in a recorder's reject tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from capture.errors import ConfigError

MALFORMED_KINDS = ("field_count", "bad_flag", "bad_count", "truncated", "invalid_utf8")


@dataclass(frozen=True, kw_only=True, slots=True)
class FaultOptions:
    """Which faults a simulated exchange injects; the defaults inject none.

    Raises:
        ConfigError: a negative duration or count, a rate outside [0, 1], or a stall without
            the interval that schedules it.
    """

    drop_every: float | None = None  # seconds between abrupt closes of each session
    drop_after_frames: int | None = None  # close a session abruptly after N data frames
    stall: float | None = None  # seconds of silence (pings included) ...
    stall_every: float | None = None  # ... starting every this many seconds
    malformed_rate: float = 0.0  # fraction of data frames replaced by a malformed one
    slow_acks: float = 0.0  # seconds to wait before answering a subscribe
    skip_trades: float = 0.0  # fraction of trade records counted in ACML_VOL but never sent

    def __post_init__(self) -> None:
        for key in ("drop_every", "drop_after_frames", "stall", "stall_every"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise ConfigError(key, value, "must be positive (leave it out to disable)")
        if (self.stall is None) != (self.stall_every is None):
            raise ConfigError(
                "stall", self.stall, "--stall and --stall-every go together: give both or neither"
            )
        for key in ("malformed_rate", "skip_trades"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(key, getattr(self, key), "must be between 0 and 1")
        if self.slow_acks < 0:
            raise ConfigError("slow_acks", self.slow_acks, "must be 0 or more seconds")


def stall_remaining(elapsed: float, stall: float | None, every: float | None) -> float:
    """Seconds left of the stall window holding ``elapsed`` (seconds since the session began).

    Windows are ``[k*every, k*every + stall)`` for k = 1, 2, …: a session starts healthy.
    """
    if stall is None or every is None or elapsed < every:
        return 0.0
    into_window = elapsed % every
    return stall - into_window if into_window < stall else 0.0


def malformed_frame(frame: str, kind: str, rng: random.Random) -> str | bytes:
    """A broken copy of a plain data frame ``0|TR|NNN|payload``; ``bytes`` when not UTF-8.

    Raises:
        ValueError: an unknown ``kind``, or a ``frame`` that is not a plain data frame.
    """
    flag, tr_id, count, payload = frame.split("|", 3)
    if flag != "0" or "^" not in payload:
        raise ValueError("malformed frames are made from plain data frames")
    if kind == "field_count":
        return f"{flag}|{tr_id}|{count}|{payload.rsplit('^', 1)[0]}"
    if kind == "bad_flag":
        return f"{rng.choice('29X')}{frame[1:]}"
    if kind == "bad_count":
        return f"{flag}|{tr_id}|{rng.choice(('000', '-01', '1a', ''))}|{payload}"
    if kind == "truncated":
        # Cut before the last '^' so at least one field is lost: never a valid shorter frame.
        return frame[: rng.randint(1, frame.rindex("^"))]
    if kind == "invalid_utf8":
        raw = frame.encode("utf-8")
        cut = rng.randint(len(frame) - len(payload), len(raw))
        return raw[:cut] + b"\xff\xfe" + raw[cut:]
    raise ValueError(f"unknown malformed kind {kind!r}; one of {', '.join(MALFORMED_KINDS)}")
