"""Progress bars for long commands, on stderr, and only on a terminal (piped output and logs
stay clean). One shape for all: a label, a bar, done/total, a rate and the time elapsed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

Advance = Callable[[int, int], None]
"""Called with (done, total) as work goes: the bar moves to ``done`` of ``total``."""


@contextmanager
def progress_bar(label: str, unit: str) -> Iterator[Advance]:
    """A bar labelled ``label`` counting ``unit``; yields the function that moves it."""
    console = Console(stderr=True)
    columns = (
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} " + unit),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True,
                  disable=not console.is_terminal) as progress:  # fmt: skip
        task = progress.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance
