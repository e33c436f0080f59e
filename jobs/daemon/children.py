"""Child processes, each a `bondtape` command: the one way bondtape starts and stops one.

The daemon's recorder and one-shot workers, and the demo's simulator, daemon and replay, are
all a child `python -m jobs.cli ...` started by :func:`start_child`, its output appended to a log
(a piped stdout, when the parent reads what it serves, stays apart), and stopped by
:meth:`Child.stop`: SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S`` (every bondtape command
stops cleanly on SIGTERM well within it). Heavy work never shares the daemon's process (or
the recorder's). A worker name runs at most once at a time: asked again while it runs, it is
skipped, not stacked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jobs.cli import rotate_log
from jobs.config import LogsConfig

STOP_TIMEOUT_S = 10.0
TAIL_BYTES = 400  # of a failed worker's log, kept in the daemon's state


@dataclass
class Child:
    """One running `bondtape` command."""

    name: str
    argv: list[str]
    log: Path
    started_ns: int
    process: subprocess.Popen[bytes]
    log_start: int = 0  # where this run's output begins in the log

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    def tail(self) -> str:
        """The end of this run's output (why it failed, usually)."""
        try:
            with self.log.open("rb") as f:
                f.seek(max(self.log_start, self.log.stat().st_size - TAIL_BYTES))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def read_line(self) -> str:
        """The next line of a piped stdout ("" once it closed): what a server says it serves."""
        assert self.process.stdout is not None, "started without pipe_stdout"
        return self.process.stdout.readline().decode("utf-8", "replace")

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int:
        """SIGTERM, wait, SIGKILL if it must; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def start_child(
    name: str,
    args: Sequence[str],
    log: Path,
    *,
    started_ns: int,
    env: Mapping[str, str] | None = None,
    pipe_stdout: bool = False,
) -> Child:
    """Run ``bondtape ARGS`` in the background, its output appended to ``log``; with
    ``pipe_stdout``, its stdout is a pipe (:meth:`Child.read_line`) and only stderr is logged.
    ``env`` is added to this process's environment.

    Raises:
        OSError: the process cannot be started or its log opened.
    """  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "jobs.cli", *args]
    with log.open("ab") as out:
        position = out.tell()
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if pipe_stdout else out,
            stderr=out if pipe_stdout else subprocess.STDOUT,
            env={**os.environ, **(env or {}), "PYTHONPATH": python_path()},
        )  # fmt: skip
    return Child(name, argv, log, started_ns, process, position)


@dataclass
class Workers:
    """One-shot jobs by name, each at most once at a time, logging to ``logs``/NAME.log (rotated
    by ``limits`` before a run starts: a one-shot job's output is bounded)."""

    logs: Path
    limits: LogsConfig
    running: dict[str, Child] = field(default_factory=dict)

    def start(self, name: str, args: Sequence[str], now_ns: int) -> Child | None:
        """Start ``name`` unless it still runs (then None: skipped, not stacked)."""
        if name in self.running:
            return None
        log = self.logs / f"{name}.log"
        rotate_log(log, self.limits)
        child = start_child(name, args, log, started_ns=now_ns)
        self.running[name] = child
        return child

    def finished(self) -> list[Child]:
        """The workers that have ended since the last call."""
        done = [c for c in self.running.values() if c.exit_code() is not None]
        for child in done:
            del self.running[child.name]
        return done


def stop_orphans(pids: Sequence[int], marker: str) -> list[int]:
    """SIGTERM (then SIGKILL after ``STOP_TIMEOUT_S``) each of ``pids`` still running a
    `bondtape` command whose command line holds ``marker``: the children a killed daemon left
    behind (a recorder keeps recording, unsupervised, until stopped). The pids stopped.
    """
    stopped = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if "jobs.cli" not in cmdline or marker not in cmdline:
            continue  # gone, or the pid now belongs to someone else
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while Path(f"/proc/{pid}").exists() and "zombie" not in _proc_state(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)  # polling a process that is not ours to wait for
        stopped.append(pid)
    return stopped


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return ""


def python_path() -> str:
    """The folder the `jobs` package is in first, so a child imports this very code."""
    root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
