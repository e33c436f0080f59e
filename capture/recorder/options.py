"""The recorder's own frozen options: capture/ never imports jobs/, so jobs maps its Config here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from capture.kis import Pair
from capture.recorder.approval import AppCredential


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderOptions:
    """Everything one recorder process needs; times in seconds.

    ``pairs`` are the (TR, ISIN) registrations in config order; they are sharded over
    ``credentials`` by :func:`capture.recorder.sharding.shard`. The fields a user sets have
    no default here: their defaults are in the config (:mod:`jobs.config`), mapped by
    ``jobs.commands.record.recorder_options``; the rest are the recorder's own tuning.
    """

    data_dir: Path
    recorder_id: str
    ws_url: str
    approval_url: str
    rest_url: str  # the REST server's base URL: tokenP and the book snapshot
    rest_snapshots: bool  # fetch a REST book at each ack of an H0BJASP0 registration
    rest_rate_per_s: float  # REST requests a second per app key, at most
    custtype: str
    credentials: tuple[AppCredential, ...]
    pairs: tuple[Pair, ...]
    pong_mode: str  # "pong": websocket pong frame; "text": echo as a text frame
    ping_interval_s: float  # a connection with no PINGPONG for 3 of these is dead
    subscribe_interval_s: float
    fsync_interval_s: float
    stale_after_factor: float  # a pair silent this many times its usual spacing is stale
    stale_min_s: float  # ... and silent at least this long
    session_hours: tuple[dt.time, dt.time]  # Seoul: the stale watch runs between these
    metrics_address: str  # where the Prometheus endpoint listens
    metrics_port: int  # 0: no endpoint
    # Dates whose session differs (the year's first day, the exam day): their (open, close).
    special_hours: Mapping[dt.date, tuple[dt.time, dt.time]] = field(default_factory=dict)
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    stable_after_s: float = 60.0
    key_in_use_backoff_s: float = 300.0  # OPSP8996: someone else holds the app key
    retry_later_s: float = 5.0  # OPSP0007 / OPSP0011: send that registration again after
    connect_timeout_s: float = 10.0
    rest_attempts: int = 4  # tries of one snapshot before it is given up (and counted)
    status_interval_s: float = 1.0

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"
