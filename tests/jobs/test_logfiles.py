"""Log files rotated by size: never more than ``backups`` older files, the newest lines kept."""

from __future__ import annotations

import logging
from pathlib import Path

from jobs.cli.logfiles import log_file_handler, rotate_log
from jobs.config import LogsConfig


def lines_in(paths: list[Path]) -> list[str]:
    return [line for path in paths for line in path.read_text().splitlines()]


def test_a_log_written_far_past_its_size_keeps_at_most_backups_older_files_and_the_newest_lines(
    tmp_path: Path,
) -> None:
    limits = LogsConfig(max_bytes=4096, backups=3)
    logger = logging.getLogger("test_logfiles.rotation")
    logger.propagate = False
    handler = log_file_handler(tmp_path / "daemon.log", limits)
    logger.addHandler(handler)
    try:
        for n in range(2000):  # about 200 kB: fifty times the size
            logger.warning("line %05d of the daemon's log", n)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["daemon.log", "daemon.log.1", "daemon.log.2", "daemon.log.3"]
    assert all((tmp_path / name).stat().st_size <= limits.max_bytes for name in files)
    newest_first = [tmp_path / "daemon.log.3", tmp_path / "daemon.log.2", tmp_path / "daemon.log.1",
                    tmp_path / "daemon.log"]  # fmt: skip
    kept = [int(line.split("line ")[1][:5]) for line in lines_in(newest_first)]
    assert kept[-1] == 1999  # the last line written is in daemon.log
    assert kept == list(range(kept[0], 2000))  # oldest to newest without a hole
    assert kept[0] > 0  # the oldest lines went


def test_rotate_log_rotates_a_file_at_its_size_and_leaves_a_smaller_one(tmp_path: Path) -> None:
    limits = LogsConfig(max_bytes=4096, backups=2)
    log = tmp_path / "normalize.log"
    rotate_log(log, limits)  # absent: nothing to do
    assert list(tmp_path.iterdir()) == []
    log.write_bytes(b"x" * 4095)
    rotate_log(log, limits)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["normalize.log"]
    for run in (b"a", b"b", b"c"):
        log.write_bytes(run * 4096)
        rotate_log(log, limits)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["normalize.log.1", "normalize.log.2"]
    assert (tmp_path / "normalize.log.1").read_bytes() == b"c" * 4096
    assert (tmp_path / "normalize.log.2").read_bytes() == b"b" * 4096
