"""`bondtape run`, the overnight daemon: its decisions (daemon), the APScheduler schedule in
Seoul time (schedule), worker and recorder child processes (children), the KRX calendar
(calendar) and its Prometheus metrics (metrics).
"""

from __future__ import annotations

from jobs.daemon.daemon import EOD_STEPS, LOGS, STATE_NAME, Daemon
from jobs.daemon.metrics import serve
from jobs.daemon.schedule import run_scheduled

__all__ = [
    "EOD_STEPS",
    "LOGS",
    "STATE_NAME",
    "Daemon",
    "run_scheduled",
    "serve",
]
