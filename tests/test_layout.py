"""The layout is a contract: imports point one way (jobs -> storage -> capture, and inside
capture from the base up to the wire; bondtape, the Python API, over storage and nothing
importing it), nothing imports in a circle, and each package's public surface is the list
pinned here (change it on purpose, with a note)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bondtape", "capture", "storage", "jobs", "sql")

# What each part may import from the project (besides itself). The capture base is errors,
# clock, durable, filelock; kis is pure; the exchange knows nothing of the recorder, and reads
# raw (through the rawlog package) only to replay it.
BASE = {"capture.errors", "capture.clock", "capture.durable", "capture.filelock"}
ALLOWED: dict[str, set[str]] = {
    "capture.base": BASE,
    "capture.kis": BASE,
    "capture.rawlog": BASE | {"capture.kis"},
    "capture.recorder": BASE | {"capture.kis", "capture.rawlog"},
    "capture.exchange": BASE | {"capture.kis", "capture.rawlog"},
    "storage": {"capture", "sql"},
    "sql": set(),
    "jobs": {"capture", "storage", "sql"},
    # The Python API is thin over storage; nothing imports it. `python -m bondtape` is the
    # one way in to the command line, as the `bondtape` script is.
    "bondtape": {"capture", "storage", "sql"},
    "bondtape.__main__": {"jobs.cli"},
}


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def part(module: str) -> str:
    if module in ALLOWED:
        return module
    if module.startswith("capture."):
        sub = module.split(".")[1]
        return f"capture.{sub}" if f"capture.{sub}" in ALLOWED else "capture.base"
    return module.split(".")[0] if module != "capture" else "capture.base"


def allowed(importer: str, imported: str) -> bool:
    mine = part(importer)
    if part(imported) == mine or imported.startswith(mine + "."):
        return True
    return any(imported == a or imported.startswith(a + ".") for a in ALLOWED[mine])


def test_imports_point_one_way_from_jobs_to_storage_to_capture_and_up_from_the_base() -> None:
    modules = project_modules()
    wrong = sorted(
        f"{name} imports {target}"
        for name, path in modules.items()
        for target in imports_of(path)
        if not allowed(name, target)
    )
    assert wrong == []


def test_no_module_imports_itself_through_a_circle() -> None:
    modules = project_modules()
    graph = {
        name: {t for t in imports_of(path) if t in modules and t != name}
        for name, path in modules.items()
    }
    # A package's __init__ re-exporting its modules is not a circle of theirs.
    graph = {n: {t for t in ts if not n.startswith(t + ".")} for n, ts in graph.items()}
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*trail, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*trail, node])):
                return cycle
        state[node] = "done"
        return None

    for name in sorted(graph):
        if name not in state:
            assert visit(name, []) is None


SURFACES = {
    "capture.kis": [
        "LAYOUTS", "ORDER_BOOK", "REGISTRATIONS_PER_SESSION", "TRADES", "Bond",
        "ControlResponse", "DataFrame", "Field", "Kind", "Layout", "Outcome", "Pair", "Ping",
        "SubscriptionRequest", "aes", "check_digit", "classify", "control_response",
        "data_frame", "is_data_frame", "is_valid_isin", "isin_problem", "parse_line",
        "parse_subscription_request", "ping_message", "read_bond_master", "split_data_frame",
        "split_records", "subscription_request",
    ],
    "capture.rawlog": [
        "FORMAT_VERSION", "CorruptRegion", "Position", "RawLogWriter", "RawRecord",
        "RecordKind", "RecordRun", "SegmentInfo", "decode_header", "decode_record",
        "encode_header", "encode_record", "events", "list_segments", "read_records",
        "read_runs", "read_segment_runs", "recorded_on", "require_recorded", "seal_segment",
        "segments_holding", "verify",
        "writers_held_off",
    ],
    "capture.recorder": [
        "STATUS_NAME", "AppCredential", "RecorderOptions", "Recorder", "RedactingFilter",
        "Redactor", "is_live", "read_status", "shard", "subscription_pairs",
    ],
    "capture.exchange": [
        "Exchange", "ExchangeOptions", "FaultOptions", "Feed", "FeedFrame", "FeedSource",
        "Simulator", "SimulatorOptions", "TruthLog",
    ],
    # events/event_batches and their types: the Python iterator over the lake's history.
    "storage": [
        "EVENT_SCHEMA", "SCHEMA_VERSION", "TABLES", "Book", "Level", "NormalizeStats", "Trade",
        "event_batches", "events", "follow", "normalize",
    ],
    "jobs": [],
    "sql": ["named_queries", "query"],
    # One object to open a lake with, the types it hands out, and the errors it raises.
    "bondtape": [
        "EVENT_SCHEMA", "Book", "BondtapeError", "ConfigError", "Lake", "Level", "Report",
        "ReportSettings", "StorageError", "Trade",
    ],
}  # fmt: skip


@pytest.mark.parametrize("package", sorted(SURFACES))
def test_each_package_exports_exactly_its_pinned_public_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(SURFACES[package])
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
