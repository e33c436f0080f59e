"""The one TOML config, read with tomllib and validated here and nowhere else.

Sections become frozen dataclasses. Unknown keys are rejected (a typo must not silently fall
back to a default), and every error names the key, the value and the fix. Credentials are
*names* of environment variables; their values are read once, here, and never printed.

Raises ConfigError (exit status 2) for every problem; see bondtape.example.toml for a
commented example of every key.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from capture.errors import HIDDEN, ConfigError
from capture.kis import LAYOUTS, isin_problem
from capture.rawlog import check_recorder_id
from capture.recorder import shard, subscription_pairs
from jobs.config import endpoints
from jobs.config.market import REMOVED_MARKET_KEYS, MarketConfig, parse_market
from jobs.config.section import Section

KIS_WS_URL = "ws://ops.koreainvestment.com:21000"
KIS_APPROVAL_URL = "https://openapi.koreainvestment.com:9443/oauth2/Approval"
# Environment variable names as people write them. Anything else in an *_env key is most
# likely the key or secret itself, pasted by mistake: it is then never echoed back.
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,39}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """One KIS app key: one websocket session. ``repr`` never shows the values."""

    name: str
    app_key_env: str
    app_secret_env: str
    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class KisConfig:
    ws_url: str = KIS_WS_URL
    approval_url: str = KIS_APPROVAL_URL
    rest_url: str | None = None  # the REST API's base URL; None: approval_url's server
    custtype: str = "P"
    credentials: tuple[Credential, ...] = ()
    pong_mode: str = "pong"
    ping_interval_s: float = 10.0

    @property
    def rest_base(self) -> str:
        """Where tokenP and the REST book snapshot are: ``rest_url``, else approval_url's
        scheme://host:port (KIS serves all three from one server)."""
        return self.rest_url or endpoints.server_of(self.approval_url)


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureConfig:
    isins: tuple[str, ...] = ()
    trs: tuple[str, ...] = ("H0BJASP0", "H0BJCNT0")
    subscribe_interval_s: float = 0.2
    fsync_interval_s: float = 1.0
    recorder_id: str = "rec1"
    log_file: Path | None = None
    stale_after_factor: float = 10.0
    stale_min_s: float = 60.0
    rest_snapshots: bool = True  # a REST book at each ack of an H0BJASP0 registration
    rest_rate_per_s: float = 10.0  # REST requests a second per app key (KIS: about 20)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobsConfig:
    normalize_interval_s: float = 60.0
    intraday_compact_interval_s: float = 1800.0
    end_of_day: dt.time = dt.time(16, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class LakeConfig:
    """``retention_s``: how long a file a compaction or rebuild replaced stays on disk, so a
    reader that opened the catalog before can still read it (storage/lake/retention.py,
    whose DEFAULT_RETENTION_S this is: not imported, as `bondtape record` loads no Arrow)."""

    retention_s: float = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsConfig:
    """Prometheus endpoints: the recorder's on ``port``, the daemon's on ``daemon_port``
    (0: none), both on ``address``."""

    address: str = "127.0.0.1"
    port: int = 0
    daemon_port: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LogsConfig:
    """The logs in data_dir/logs/: each rotated once over ``max_bytes``, keeping ``backups``
    older files (NAME.log.1 the newest of them), so months unattended never fill the disk."""

    max_bytes: int = 10 * 1024 * 1024
    backups: int = 5


LOGS_MIN_BYTES = 4096  # smaller, and a log rotates before it holds one start-up


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    data_dir: Path
    kis: KisConfig
    capture: CaptureConfig
    market: MarketConfig
    jobs: JobsConfig
    metrics: MetricsConfig
    logs: LogsConfig
    lake: LakeConfig


def load_config(
    path: Path, environ: Mapping[str, str] | None = None, *, read_credentials: bool = True
) -> Config:
    """Read and validate a config file; relative paths in it are relative to its folder.

    Raises:
        ConfigError: an unreadable file, bad TOML, an unknown key, a bad value, a missing
            environment variable, or more (TR, ISIN) pairs than the credentials can carry.

    With ``read_credentials=False`` (commands that only read data_dir) the credential
    variables need not be set, and the credentials' values are left empty.
    """
    env = os.environ if environ is None else environ
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "--config", str(path), "no such file: copy bondtape.example.toml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("--config", str(path), f"cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", str(path), f"not valid TOML: {exc}") from None
    return parse_config(document, base_dir=path.parent, environ=env if read_credentials else None)


CREDENTIAL_KEYS = ("name", "app_key_env", "app_secret_env")


def parse_config(
    document: dict[str, Any], *, base_dir: Path, environ: Mapping[str, str] | None
) -> Config:
    """Validate an already-parsed TOML document (see :func:`load_config`); ``environ`` None
    checks the credential variables' names only, not their values."""
    top = Section("", document, Config)
    data_dir_text = top.take("data_dir", str)
    if not data_dir_text:
        raise ConfigError(
            "data_dir", data_dir_text, 'set data_dir = "PATH" (where raw/ and lake/ go)'
        )
    kis = _kis(Section("kis", top.take("kis", dict), KisConfig), environ)
    capture_keys = [*(f.name for f in fields(CaptureConfig)), "isins_file"]
    capture = _capture(
        Section("capture", top.take("capture", dict), CaptureConfig, keys=capture_keys), base_dir
    )
    market = parse_market(
        Section("market", top.take("market", dict), MarketConfig, removed=REMOVED_MARKET_KEYS)
    )
    jobs = _jobs(Section("jobs", top.take("jobs", dict), JobsConfig), market)
    metrics = _metrics(Section("metrics", top.take("metrics", dict), MetricsConfig))
    logs = _logs(Section("logs", top.take("logs", dict), LogsConfig))
    lake = _lake(Section("lake", top.take("lake", dict), LakeConfig))
    # Refused here, before any connection: the recorder shards the same way.
    shard(subscription_pairs(capture.isins, capture.trs), len(kis.credentials))
    return Config(
        data_dir=(base_dir / data_dir_text).resolve(),
        kis=kis,
        capture=capture,
        market=market,
        jobs=jobs,
        metrics=metrics,
        logs=logs,
        lake=lake,
    )


def _kis(section: Section, environ: Mapping[str, str] | None) -> KisConfig:
    ws_url, approval_url, rest_url = endpoints.kis_urls(section)
    custtype = section.take("custtype", str)
    if custtype not in ("P", "B"):
        raise ConfigError(
            section.key("custtype"), custtype, 'use "P" (personal) or "B" (corporate)'
        )
    pong_mode = section.take("pong_mode", str)
    if pong_mode not in ("pong", "text"):
        raise ConfigError(
            section.key("pong_mode"),
            pong_mode,
            'use "pong" (a pong frame, as KIS samples do) or "text" (echo as a text frame)',
        )
    entries = section.take("credentials", list)
    credentials = tuple(
        _credential(
            Section(f"kis.credentials[{i}]", entry, Credential, keys=CREDENTIAL_KEYS), i, environ
        )
        for i, entry in enumerate(entries)
    )
    if not credentials:
        raise ConfigError(
            "kis.credentials",
            None,
            'add a [[kis.credentials]] table with app_key_env = "KIS_APP_KEY" and '
            'app_secret_env = "KIS_APP_SECRET"',
        )
    keys = [c.app_key for c in credentials]
    for i, credential in enumerate(credentials):
        if environ is not None and keys.index(credential.app_key) != i:
            raise ConfigError(
                f"kis.credentials[{i}].app_key_env",
                credential.app_key_env,
                "holds the same app key as an earlier credential: KIS allows one session per key",
            )
    kis = KisConfig(
        ws_url=ws_url,
        approval_url=approval_url,
        rest_url=rest_url,
        custtype=custtype,
        credentials=credentials,
        pong_mode=pong_mode,
        ping_interval_s=section.positive("ping_interval_s"),
    )
    return kis


def _credential(section: Section, index: int, environ: Mapping[str, str] | None) -> Credential:
    values = {}
    for name in ("app_key_env", "app_secret_env"):
        variable = section.take(name, str)
        if not variable or not _ENV_NAME.fullmatch(variable):
            raise ConfigError(
                section.key(name),
                HIDDEN,
                "give the NAME of an environment variable in capitals (e.g. KIS_APP_KEY), never "
                "the key itself; if a key was pasted here, remove it and consider it exposed",
            )
        value = "" if environ is None else environ.get(variable, "")
        if not value and environ is not None:
            raise ConfigError(
                section.key(name),
                variable,
                f"environment variable {variable} is not set or empty: export {variable}=... first",
            )
        values[name] = (variable, value)
    label = section.take("name", str)
    return Credential(
        name=f"cred{index}" if label is None else label,
        app_key_env=values["app_key_env"][0],
        app_secret_env=values["app_secret_env"][0],
        app_key=values["app_key_env"][1],
        app_secret=values["app_secret_env"][1],
    )


def _capture(section: Section, base_dir: Path) -> CaptureConfig:
    isins = list(section.take("isins", list))
    isins_file = section.take("isins_file", str)
    if isins_file is not None:
        isins += _read_isins_file(section.key("isins_file"), base_dir / isins_file)
    for i, isin in enumerate(isins):
        problem = isin_problem(isin) if isinstance(isin, str) else "an ISIN is a string"
        if problem:
            raise ConfigError(f"{section.key('isins')}[{i}]", isin, f"not a valid ISIN: {problem}")
    if not isins:
        raise ConfigError(
            section.key("isins"), None, 'list the bonds to record, e.g. isins = ["KR103502GD31"]'
        )
    trs = section.take("trs", list)
    for tr in trs:
        if not isinstance(tr, str) or tr not in LAYOUTS:
            raise ConfigError(section.key("trs"), tr, f"unknown TR; use any of {sorted(LAYOUTS)}")
    if not trs:
        raise ConfigError(section.key("trs"), trs, f"list at least one of {sorted(LAYOUTS)}")
    recorder_id = section.take("recorder_id", str)
    try:
        check_recorder_id(recorder_id)
    except ValueError:
        raise ConfigError(
            section.key("recorder_id"), recorder_id, "use 1-64 letters, digits, '_' or '.'"
        ) from None
    log_file = section.take("log_file", str)
    if log_file and not (base_dir / log_file).parent.is_dir():
        raise ConfigError(
            section.key("log_file"),
            log_file,
            "its folder does not exist: create it or fix the path",
        )
    capture = CaptureConfig(
        isins=tuple(dict.fromkeys(isins)),
        trs=tuple(dict.fromkeys(trs)),
        subscribe_interval_s=section.positive("subscribe_interval_s"),
        fsync_interval_s=section.positive("fsync_interval_s"),
        recorder_id=recorder_id,
        log_file=(base_dir / log_file).resolve() if log_file else None,
        stale_after_factor=section.positive("stale_after_factor"),
        stale_min_s=section.positive("stale_min_s"),
        rest_snapshots=section.take("rest_snapshots", bool),
        rest_rate_per_s=endpoints.rest_rate(section),
    )
    return capture


def _read_isins_file(key: str, path: Path) -> list[str]:
    """One ISIN per line; blank lines and ``#`` comments are ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(
            key, str(path), f"cannot read it ({exc.strerror}): fix the path"
        ) from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def _jobs(section: Section, market: MarketConfig) -> JobsConfig:
    jobs = JobsConfig(
        normalize_interval_s=section.positive("normalize_interval_s"),
        intraday_compact_interval_s=section.positive("intraday_compact_interval_s"),
        end_of_day=section.time("end_of_day"),
    )
    _check_end_of_day(section.key("end_of_day"), jobs.end_of_day, market.session_close, market)
    for i, day in enumerate(market.special_days):
        key = f"market.special_days[{i}].end_of_day"
        _check_end_of_day(key, day.end_of_day or jobs.end_of_day, day.session_close, market)
    return jobs


def _check_end_of_day(key: str, end_of_day: dt.time, close: dt.time, market: MarketConfig) -> None:
    """Raises: ConfigError: ``end_of_day`` is before the recorder stops (``close`` plus
    ``record_margin_min``) or on another day."""
    stop = dt.datetime.combine(dt.date.min, close) + dt.timedelta(minutes=market.record_margin_min)
    if end_of_day < stop.time() or stop.date() > dt.date.min:
        raise ConfigError(
            key,
            str(end_of_day),
            f"must be at or after the recorder stops ({stop.time()}: session_close plus "
            f'record_margin_min), the same day: e.g. end_of_day = "{stop:%H:%M}"',
        )


def _lake(section: Section) -> LakeConfig:
    retention_s = section.take("retention_s", (int, float))
    if isinstance(retention_s, bool) or retention_s < 0:
        raise ConfigError(
            section.key("retention_s"), retention_s, "must be 0 or more seconds (0: replaced "
            "files go at once, and a reader holding an older catalog may fail)",
        )  # fmt: skip
    return LakeConfig(retention_s=float(retention_s))


def _metrics(section: Section) -> MetricsConfig:
    address = section.take("address", str)
    ports = {}
    for name in ("port", "daemon_port"):
        port = section.take(name, int)
        if not 0 <= port <= 65535:
            raise ConfigError(section.key(name), port, "use a TCP port, 1-65535, or 0 for none")
        ports[name] = port
    if ports["port"] and ports["port"] == ports["daemon_port"]:
        raise ConfigError(
            section.key("daemon_port"), ports["daemon_port"],
            "is the recorder's port too: give the daemon a port of its own (e.g. port + 1)",
        )  # fmt: skip
    return MetricsConfig(address=address, port=ports["port"], daemon_port=ports["daemon_port"])


def _logs(section: Section) -> LogsConfig:
    max_bytes = section.take("max_bytes", int)
    if max_bytes < LOGS_MIN_BYTES:
        raise ConfigError(
            section.key("max_bytes"), max_bytes,
            f"give a log at least {LOGS_MIN_BYTES} bytes before it rotates, e.g. 10485760 (10 MiB)",
        )  # fmt: skip
    backups = section.take("backups", int)
    if backups < 1:
        raise ConfigError(
            section.key("backups"), backups,
            "keep at least 1 rotated file (with 0 a log would never rotate and grow without end)",
        )  # fmt: skip
    return LogsConfig(max_bytes=max_bytes, backups=backups)
