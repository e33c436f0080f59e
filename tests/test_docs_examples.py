"""Every ``sh`` and ``python`` example of README.md and docs/*.md runs, as written, on a demo lake.

The examples are written for a reader who has just run ``make demo`` in the checkout: they
call ``.venv/bin/bondtape`` and read ``demo-data/``. So each runs in a folder made to look like
that checkout (every top-level entry of the repository linked in, ``.venv`` linked to the
running environment) whose ``demo-data`` is a demo lake built once for the session with
``bondtape demo --data-dir D --seconds N``; no text of an example is rewritten. The demo's day
is today in Seoul, which the examples compute themselves.

An example that cannot run here says so in an HTML comment on the line before its fence:
``<!-- not run: WHY -->`` (it needs a KIS account, serves until stopped, ...) is skipped, by
name, with its reason; ``<!-- exit N: WHY -->`` runs and must exit with N instead of 0. Shell
examples run under ``bash -e -o pipefail``, so every command in them counts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGUAGES = ("sh", "python")
DEMO_SECONDS = "5"
TIMEOUT_S = 120
REFERENCE_ONLY = {"docs/kis-protocol.md", "docs/layout.md"}  # pages with nothing to run

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!-- (not run|exit (\d+)): (.+) -->$")


@dataclass(frozen=True)
class Example:
    page: str  # relative to the repository
    line: int  # of the opening fence
    language: str
    code: str
    skip: str | None  # why it is not run
    exit_status: int

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def examples(path: Path) -> list[Example]:
    """The fenced ``sh`` and ``python`` blocks of one page, with the marker before each.

    Raises:
        ValueError: a comment on the line before a fence that looks like a marker but is not
            one, or a fence left open, so a typo cannot silently run or skip an example.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    page = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    found, i = [], 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j] == "```"), None)
        if end is None:
            raise ValueError(f"{path.name}:{i + 1}: a code fence is never closed")
        before = lines[i - 1] if i else ""
        marker = _MARKER.match(before)
        if before.startswith("<!--") and not marker:
            raise ValueError(f"{path.name}:{i}: not a marker: {before!r}")
        if fence.group(1) in RUN_LANGUAGES:
            kind = marker.group(1) if marker else None
            found.append(
                Example(
                    page=page,
                    line=i + 1,
                    language=fence.group(1),
                    code="\n".join(lines[i + 1 : end]) + "\n",
                    skip=marker.group(3) if kind == "not run" else None,
                    exit_status=int(marker.group(2)) if marker and marker.group(2) else 0,
                )
            )
        i = end + 1
    return found


ALL = [example for page in PAGES for example in examples(page)]


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder that looks like the checkout after ``make demo``: the repository's entries
    linked in, ``.venv`` the running environment, and a fresh demo lake as ``demo-data``."""
    folder = tmp_path_factory.mktemp("checkout")
    for entry in ROOT.iterdir():
        if entry.name not in {".git", ".venv", "demo-data"}:
            (folder / entry.name).symlink_to(entry)
    (folder / ".venv").symlink_to(Path(sys.prefix))
    demo = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "demo", "--seconds", DEMO_SECONDS,
         "--data-dir", str(folder / "demo-data")],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-4000:]
    assert "raw and lake balance" in demo.stdout
    return folder


def run_example(example: Example, folder: Path) -> subprocess.CompletedProcess[str]:
    if example.language == "sh":
        argv = ["bash", "-e", "-o", "pipefail", "-c", example.code]
    else:
        argv = [sys.executable, "-c", example.code]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    return subprocess.run(
        argv,
        cwd=folder,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


@pytest.mark.parametrize("example", ALL, ids=[example.name for example in ALL])
def test_the_example_runs_as_written_on_the_demo_lake(example: Example, checkout: Path) -> None:
    if example.skip:
        pytest.skip(f"not run: {example.skip}")
    result = run_example(example, checkout)
    assert result.returncode == example.exit_status, (
        f"{example.name} exited {result.returncode}, documented {example.exit_status}\n"
        f"--- code\n{example.code}--- stdout\n{result.stdout[-3000:]}"
        f"--- stderr\n{result.stderr[-3000:]}"
    )


def test_every_page_has_examples_that_run_and_every_skip_says_why() -> None:
    ran = [example for example in ALL if not example.skip]
    skipped = [example for example in ALL if example.skip]
    print(f"\ndocs examples: {len(ran)} run, {len(skipped)} skipped, over {len(PAGES)} pages")
    assert len(ran) >= 25, [example.name for example in ran]
    assert {"sh", "python"} <= {example.language for example in ran}
    assert all(example.skip.strip() for example in skipped)
    runnable = {example.page for example in ran}
    assert "README.md" in runnable
    missing = {str(p.relative_to(ROOT)) for p in PAGES} - runnable - REFERENCE_ONLY
    assert not missing, f"pages with no example that runs: {sorted(missing)}"


def test_a_comment_before_a_fence_that_is_not_a_marker_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- not-run: typo -->\n```sh\ntrue\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a marker"):
        examples(page)


def test_markers_skip_an_example_or_name_the_exit_status_it_must_have(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not run: needs a KIS account -->\n```sh\nbondtape record\n```\n\n"
        "<!-- exit 1: nothing records -->\n```sh\nfalse\n```\n\n```python\nprint(1)\n```\n"
        "```text\nnot an example\n```\n",
        encoding="utf-8",
    )
    found = [(e.language, e.skip, e.exit_status, e.line) for e in examples(page)]
    assert found == [
        ("sh", "needs a KIS account", 0, 2),
        ("sh", None, 1, 7),
        ("python", None, 0, 11),
    ]
