"""`bondtape run`, the overnight daemon: its decisions (daemon), daemon.json as typed state
(state), the APScheduler schedule in Seoul time (schedule), child processes (children: the one
way bondtape starts and stops a `bondtape` command, the demo's too), the KRX calendar
(calendar) and its Prometheus metrics (metrics).
"""

from __future__ import annotations

from jobs.daemon.children import Child, start_child
from jobs.daemon.daemon import EOD_STEPS, LOGS, Daemon
from jobs.daemon.metrics import serve
from jobs.daemon.schedule import run_scheduled
from jobs.daemon.state import end_of_day_results

__all__ = [
    "EOD_STEPS",
    "LOGS",
    "Child",
    "Daemon",
    "end_of_day_results",
    "run_scheduled",
    "serve",
    "start_child",
]
