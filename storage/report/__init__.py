"""The day's integrity report: what raw owes the lake, walked by rules of its own (ledger),
the lake's side (report_lake), the comparison (reconcile) and the assembly (report).
"""

from __future__ import annotations

from storage.report.report import (
    DEFAULT_SKEW_S,
    DEFAULT_WORST,
    REPORTS_FOLDER,
    Report,
    ReportSettings,
    build_report,
    save_report,
)
from storage.report.volume_lake import volume_today

__all__ = [
    "DEFAULT_SKEW_S",
    "DEFAULT_WORST",
    "REPORTS_FOLDER",
    "Report",
    "ReportSettings",
    "build_report",
    "save_report",
    "volume_today",
]
