"""Orchestration: config, the `bondtape` command line, and (soon) the scheduler daemon.

The entry point is :func:`jobs.cli.main` (the ``bondtape`` script). Nothing is imported here,
so ``python -m jobs.cli`` (how the demo starts its children) runs its module only once.
"""

__all__: list[str] = []
