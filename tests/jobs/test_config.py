"""Config validation: every mistake names the key, the value and the fix, with exit status 2."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest

from capture.errors import ConfigError
from jobs import cli
from jobs.config.config import (
    CaptureConfig,
    JobsConfig,
    KisConfig,
    LakeConfig,
    LogsConfig,
    MarketConfig,
    MetricsConfig,
    load_config,
)
from storage.lake.retention import DEFAULT_RETENTION_S
from tests.support.config_files import BASE, ENV, write_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_loads_with_its_documented_defaults(tmp_path: Path) -> None:
    path = tmp_path / "bondtape.example.toml"
    shutil.copy(ROOT / "bondtape.example.toml", path)
    config = load_config(path, ENV)
    assert config.data_dir == (tmp_path / "data").resolve()
    assert config.capture.isins == ("KR103502GD31",)
    assert config.capture.trs == ("H0BJASP0", "H0BJCNT0")
    assert config.kis.credentials[0].app_key == ENV["KIS_APP_KEY"]
    assert config.market.session_open == dt.time(8, 0)
    assert config.jobs.normalize_interval_s == 60.0


def test_every_key_left_out_takes_the_default_written_on_its_dataclass_field(
    tmp_path: Path,
) -> None:
    config = load_config(write_config(tmp_path, BASE), ENV)
    assert dataclasses.replace(config.kis, credentials=()) == KisConfig()
    assert config.kis.credentials[0].name == "cred0"
    assert dataclasses.replace(config.capture, isins=()) == CaptureConfig()
    assert config.market == MarketConfig()
    assert config.jobs == JobsConfig()
    assert config.metrics == MetricsConfig()
    assert config.logs == LogsConfig()
    assert config.lake == LakeConfig()
    assert config.lake.retention_s == DEFAULT_RETENTION_S  # the storage's own default


def test_the_rest_api_is_the_approval_server_unless_rest_url_names_another(
    tmp_path: Path,
) -> None:
    simulated = BASE.replace("[capture]", '[kis]\napproval_url = "http://127.0.0.1:4/oauth2/Approval"\n'
                             "[capture]")  # fmt: skip
    assert load_config(write_config(tmp_path, BASE), ENV).kis.rest_base == (
        "https://openapi.koreainvestment.com:9443"
    )
    assert load_config(write_config(tmp_path, simulated), ENV).kis.rest_base == "http://127.0.0.1:4"
    own = simulated.replace("[capture]", 'rest_url = "http://127.0.0.1:5/"\n[capture]')
    assert load_config(write_config(tmp_path, own), ENV).kis.rest_base == "http://127.0.0.1:5"


def test_lake_retention_s_is_read_and_zero_is_allowed(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, BASE + "[lake]\nretention_s = 0\n"), ENV).lake == (
        LakeConfig(retention_s=0.0)
    )


def test_credential_values_never_appear_in_the_config_repr(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, BASE), ENV)
    assert ENV["KIS_APP_KEY"] not in repr(config)
    assert ENV["KIS_APP_SECRET"] not in repr(config)


def test_isins_file_adds_to_isins_and_ignores_comments(tmp_path: Path) -> None:
    (tmp_path / "isins.txt").write_text("# desk list\nKR6095571B92  # a corp\n\nKR103502GD31\n")
    config = load_config(write_config(tmp_path, BASE + 'isins_file = "isins.txt"\n'), ENV)
    assert config.capture.isins == ("KR103502GD31", "KR6095571B92")


@pytest.mark.parametrize(
    ("body", "environ", "key", "value", "fix"),
    [
        (
            BASE.replace("KR103502GD31", "KR103502GD3"),
            ENV,
            "capture.isins[0]",
            "KR103502GD3",
            "not a valid ISIN",
        ),
        (
            BASE.replace("KR103502GD31", "KR103502GD32"),
            ENV,
            "capture.isins[0]",
            "KR103502GD32",
            "check digit is 2, expected 1",
        ),
        (BASE + 'trs = ["H0BJASP1"]\n', ENV, "capture.trs", "H0BJASP1", "unknown TR"),
        (BASE + "trs = [1]\n", ENV, "capture.trs", "1", "unknown TR"),
        (
            BASE + 'log_file = "no/such/dir/x.log"\n',
            ENV,
            "capture.log_file",
            "no/such/dir",
            "does not exist",
        ),
        (
            BASE,
            {"KIS_APP_KEY": "x"},
            "kis.credentials[0].app_secret_env",
            "KIS_APP_SECRET",
            "export KIS_APP_SECRET=",
        ),
        (
            BASE + "subscribe_interval_s = 0\n",
            ENV,
            "capture.subscribe_interval_s",
            "0",
            "greater than 0",
        ),
        (BASE + "isin = []\n", ENV, "capture.isin", "[]", "unknown key"),
        (
            BASE.replace('data_dir = "data"', 'data_dir = "data"\ndata_dri = "x"'),
            ENV,
            "data_dri",
            "x",
            "unknown key",
        ),
        (BASE + '[market]\nsession_open = "8am"\n', ENV, "market.session_open", "8am", "HH:MM"),
        (BASE + '[kis]\ncusttype = "X"\n', ENV, "kis.custtype", "X", '"P"'),
        (
            BASE + '[kis]\napproval_url = "http://127.0.0.1:45237"\n',
            ENV,
            "kis.approval_url",
            "http://127.0.0.1:45237",
            "add the endpoint's path: http://127.0.0.1:45237/oauth2/Approval",
        ),
        (BASE + "stale_min_s = -1\n", ENV, "capture.stale_min_s", "-1", "greater than 0"),
        (
            BASE + '[kis]\nrest_url = "http://127.0.0.1:45237/oauth2/tokenP"\n',
            ENV,
            "kis.rest_url",
            "http://127.0.0.1:45237/oauth2/tokenP",
            "give the server only, without a path: http://127.0.0.1:45237",
        ),
        (BASE + '[kis]\nrest_url = "ws://x:1"\n', ENV, "kis.rest_url", "ws://x:1", "http(s)"),
        (BASE + "rest_rate_per_s = 50\n", ENV, "capture.rest_rate_per_s", "50", "20 or less"),
        (BASE + "rest_rate_per_s = 0\n", ENV, "capture.rest_rate_per_s", "0", "greater than 0"),
        (BASE + 'rest_snapshots = "yes"\n', ENV, "capture.rest_snapshots", "yes", "true or false"),
        (BASE + "[metrics]\nport = 70000\n", ENV, "metrics.port", "70000", "1-65535"),
        (
            BASE + "[metrics]\nport = 9108\ndaemon_port = 9108\n",
            ENV,
            "metrics.daemon_port",
            "9108",
            "a port of its own",
        ),
        (BASE + "[logs]\nmax_bytes = 100\n", ENV, "logs.max_bytes", "100", "at least 4096"),
        (BASE + "[logs]\nbackups = 0\n", ENV, "logs.backups", "0", "at least 1 rotated"),
        (BASE + "[logs]\nbackup = 3\n", ENV, "logs.backup", "3", "did you mean 'backups'?"),
        (BASE + '[logs]\nmax_bytes = "10M"\n', ENV, "logs.max_bytes", "10M", "whole number"),
        (
            BASE + '[market]\nholiday_calendar = "NOPE"\n',
            ENV,
            "market.holiday_calendar",
            "NOPE",
            "XKRX",
        ),
        (BASE + "[lake]\nretention_s = -1\n", ENV, "lake.retention_s", "-1", "0 or more"),
    ],
)
def test_a_bad_value_is_rejected_naming_key_value_and_fix(
    tmp_path: Path, body: str, environ: dict[str, str], key: str, value: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, body), environ)
    assert caught.value.key == key
    message = str(caught.value)
    assert key in message and value in message and fix in message


def test_more_pairs_than_the_credentials_carry_is_rejected_with_the_count_needed(
    tmp_path: Path,
) -> None:
    from capture.kis.isin import check_digit

    isins = [f"KR1035{n:05d}" for n in range(21)]
    isins = [body + check_digit(body) for body in isins]
    body = BASE.replace('isins = ["KR103502GD31"]', f"isins = {isins!r}".replace("'", '"'))
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, body), ENV)
    message = str(caught.value)
    assert "42 (TR, ISIN) pairs" in message
    assert "at most 41" in message and "add 1 [[kis.credentials]]" in message


@pytest.mark.parametrize("pasted", ["PSg5dctL9dKPo727J13Ur405OSXXXXXXXXXX", "abc+/def=="])
def test_a_key_pasted_into_an_env_key_is_rejected_without_echoing_it(
    tmp_path: Path, pasted: str
) -> None:
    body = BASE.replace('app_key_env = "KIS_APP_KEY"', f'app_key_env = "{pasted}"')
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, body), {**ENV, pasted: "x"})
    assert caught.value.key == "kis.credentials[0].app_key_env"
    assert pasted not in str(caught.value) and "(hidden)" in str(caught.value)
    assert "never the key itself" in str(caught.value)


def test_two_credentials_with_the_same_app_key_are_rejected(tmp_path: Path) -> None:
    second = '[[kis.credentials]]\napp_key_env = "KIS_APP_KEY"\napp_secret_env = "OTHER"\n'
    body = BASE.replace("[capture]", second + "[capture]")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, body), {**ENV, "OTHER": "y"})
    assert caught.value.key == "kis.credentials[1].app_key_env"
    assert "one session per key" in str(caught.value)


def test_the_cli_reports_a_bad_config_in_one_line_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KIS_APP_KEY", raising=False)
    path = write_config(tmp_path, BASE)
    status = cli.main(["check-config", "--config", str(path)])
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert "kis.credentials[0].app_key_env = 'KIS_APP_KEY'" in err
    assert "export KIS_APP_KEY=" in err


def test_the_cli_names_a_missing_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["check-config", "--config", str(tmp_path / "nope.toml")])
    assert status == 2
    assert "no such file" in capsys.readouterr().err


def test_check_config_summarises_without_showing_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["check-config", "--config", str(write_config(tmp_path, BASE))]) == 0
    out = capsys.readouterr().out
    assert "1 ISINs x H0BJASP0, H0BJCNT0" in out and "$KIS_APP_KEY" in out
    assert ENV["KIS_APP_KEY"] not in out and ENV["KIS_APP_SECRET"] not in out


@pytest.mark.parametrize(
    ("typo", "key", "suggestion"),
    [
        (("[capture]", "[captrue]"), "captrue", "'capture'"),
        (('data_dir = "data"', 'datadir = "data"'), "datadir", "'data_dir'"),
        (("isins =", "isin ="), "capture.isin", "'isins'"),
    ],
)
def test_a_misspelt_key_is_reported_first_with_the_key_it_probably_meant(
    tmp_path: Path, typo: tuple[str, str], key: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, BASE.replace(*typo)), ENV)
    assert caught.value.key == key
    assert f"did you mean {suggestion}?" in str(caught.value)


def test_market_timezone_is_refused_as_removed_with_the_reason_and_the_fix(
    tmp_path: Path,
) -> None:
    body = BASE + '[market]\ntimezone = "Asia/Seoul"\n'
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, body), ENV)
    assert caught.value.key == "market.timezone"
    message = str(caught.value)
    assert "market.timezone = 'Asia/Seoul'" in message
    assert "removed" in message and "always in Asia/Seoul" in message
    assert "delete this line" in message and "unknown key" not in message


def test_a_special_day_has_its_own_hours_and_others_keep_the_usual_ones(tmp_path: Path) -> None:
    body = (
        BASE + '[[market.special_days]]\ndate = "2027-01-04"\nsession_open = "10:00"\n'
        '[[market.special_days]]\ndate = 2026-11-19\nsession_open = "09:00"\n'
        'session_close = "16:30"\nend_of_day = "17:00"\n'
    )
    market = load_config(write_config(tmp_path, body), ENV).market
    assert market.hours(dt.date(2027, 1, 4)) == (dt.time(10, 0), dt.time(15, 30))
    assert market.hours(dt.date(2026, 11, 19)) == (dt.time(9, 0), dt.time(16, 30))
    assert market.hours(dt.date(2026, 11, 20)) == (dt.time(8, 0), dt.time(15, 30))
    special = market.special(dt.date(2026, 11, 19))
    assert special is not None and special.end_of_day == dt.time(17, 0)


@pytest.mark.parametrize(
    ("table", "key", "value", "fix"),
    [
        ('date = "2026-11-31"\n', "market.special_days[0].date", "2026-11-31", "YYYY-MM-DD"),
        ('session_open = "10:00"\n', "market.special_days[0].date", "(missing)", 'date = "YYYY'),
        (
            'date = "2026-11-19"\nsession_open = "16:00"\n',
            "market.special_days[0].session_close",
            "15:30",
            "later than session_open (16:00:00)",
        ),
        (
            'date = "2026-11-19"\nsession_opens = "10:00"\n',
            "market.special_days[0].session_opens",
            "10:00",
            "did you mean 'session_open'?",
        ),
        (
            'date = "2026-11-19"\nsession_close = "16:30"\n',
            "market.special_days[0].end_of_day",
            "16:00",
            'e.g. end_of_day = "16:40"',
        ),
        (
            'date = "2026-11-19"\n[[market.special_days]]\ndate = "2026-11-19"\n',
            "market.special_days[1].date",
            "2026-11-19",
            "one table per date",
        ),
    ],
)
def test_a_bad_special_day_is_rejected_naming_its_key_and_the_fix(
    tmp_path: Path, table: str, key: str, value: str, fix: str
) -> None:
    body = BASE + "[[market.special_days]]\n" + table
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, body), ENV)
    assert caught.value.key == key
    message = str(caught.value)
    assert key in message and value in message and fix in message
