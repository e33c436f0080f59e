"""`make bench`: every benchmark in turn, each printing its figures and ratios.

Each benchmark measures its baseline in the same run (the machines are shared and noisy), so
compare the ratios, not the absolute rates. Run one alone for its own options, e.g.
``python -m benchmarks.bench_normalize --help``.
"""

from __future__ import annotations

import sys
from importlib import import_module

BENCHMARKS = (
    "benchmarks.bench_recorder",
    "benchmarks.bench_normalize",
    "benchmarks.bench_query",
    "benchmarks.bench_replay",
    "benchmarks.bench_iterate",
    "benchmarks.bench_history",
)


def main() -> int:
    status = 0
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        status |= import_module(name).main([])
    return status


if __name__ == "__main__":
    sys.exit(main())
