"""contrib/'s operator kit: the Prometheus alerting rules pass promtool's check and their own
unit tests, and every metric the rules and the Grafana dashboard name is one that a real
recorder and a real daemon export (scraped over HTTP, not read from the code)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from capture.clock import SEOUL
from tests.support.recorder import (
    bondtape,
    free_port,
    isins,
    record,
    running,
    simulator,
    wait_until,
    write_config,
)

CONTRIB = Path(__file__).resolve().parents[1] / "contrib"
RULES = CONTRIB / "prometheus" / "bondtape-rules.yml"
RULE_TESTS = CONTRIB / "prometheus" / "bondtape-rules.test.yml"
DASHBOARD = CONTRIB / "grafana" / "bondtape-dashboard.json"
METRIC = re.compile(r"\bbondtape_[a-z_]+")


def promtool() -> str:
    """promtool's path; CI installs Debian's prometheus package, so there it must be found."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool is not installed here (apt-get install prometheus)")
    return found


def test_the_alerting_rules_pass_promtool_check_and_their_unit_tests() -> None:
    tool = promtool()
    check = subprocess.run([tool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 7 rules found" in check.stdout
    tests = subprocess.run(
        [tool, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent,
        capture_output=True, text=True,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr


def exported_names(port: int) -> set[str]:
    """Every series name an endpoint exposes: its samples, and for families without a sample
    yet (a job that has not run) the names their TYPE line promises."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
            names.update({name} | {name.removesuffix("_total") + s for s in suffixes.get(kind, ())})
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The names a recording recorder and a daemon (outside its window) serve."""
    tmp = tmp_path_factory.mktemp("kit")
    recorder_port, daemon_port = free_port(), free_port()
    today = dt.datetime.now(SEOUL).date().isoformat()
    with simulator(tmp, rate=20) as sim:
        config, env = write_config(tmp, sim, isins(2), trs=("H0BJASP0", "H0BJCNT0"))
        base = config.read_text()
        config.write_text(base + f"[metrics]\nport = {recorder_port}\n")
        with running(record(config, env, stderr=subprocess.DEVNULL)):
            recorder = wait_until(
                lambda: names_once(recorder_port, "bondtape_frames_total"), 30,
                "the recorder's metrics, frames counted",
            )  # fmt: skip
        daemon_dir = tmp / "daemon"
        daemon_config = tmp / "daemon.toml"
        daemon_config.write_text(
            base.replace(str(tmp / "data"), str(daemon_dir))
            + f'[market]\nextra_closed_days = ["{today}"]\n[metrics]\ndaemon_port = {daemon_port}\n'
        )
        run = bondtape("run", "--config", str(daemon_config), env=env, stderr=subprocess.DEVNULL)
        with running(run):
            daemon = wait_until(
                lambda: names_once(daemon_port, "bondtape_recorder_up"), 30, "the daemon's metrics"
            )
    return recorder | daemon


def names_once(port: int, showing: str) -> set[str] | None:
    """The endpoint's names once it answers and serves ``showing``; None until then."""
    try:
        names = exported_names(port)
    except OSError:
        return None
    return names if showing in names else None


def test_every_metric_the_dashboard_plots_is_one_the_recorder_or_the_daemon_exports(
    scraped: set[str],
) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    named = {name for expr in exprs for name in METRIC.findall(expr)}
    assert len(exprs) >= 18 and len(named) >= 15  # the panels are there, not an empty file
    assert sorted(named - scraped) == []


def test_every_metric_an_alert_watches_is_one_the_recorder_or_the_daemon_exports(
    scraped: set[str],
) -> None:
    exprs = [
        line.split("expr:", 1)[1] for line in RULES.read_text().splitlines() if "expr:" in line
    ]
    named = {name for expr in exprs for name in METRIC.findall(expr)}
    assert len(exprs) == 7 and len(named) == 7
    assert sorted(named - scraped) == []
