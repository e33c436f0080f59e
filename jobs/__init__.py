"""Orchestration, by concern: the command line (cli/), one module per command (commands/), the
demo (demo/), the config (config/), and the overnight daemon (daemon/).

The entry point is :func:`jobs.cli.main` (the ``bondtape`` script; ``python -m jobs.cli`` is
how the daemon and the demo start their children). Nothing is imported here.
"""

__all__: list[str] = []
