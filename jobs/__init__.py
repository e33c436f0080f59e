"""Orchestration: config, the `bondtape` command line, and (soon) the scheduler daemon."""

from jobs.cli import main

__all__ = ["main"]
