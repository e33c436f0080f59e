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
# clock, durable, filelock, backoff, status_files, prometheus (and versions); kis is pure; the
# exchange knows nothing of the recorder, and reads raw (through the rawlog package) only to
# replay it.
BASE = {
    "capture.errors", "capture.clock", "capture.durable", "capture.filelock", "capture.backoff",
    "capture.status_files", "capture.prometheus",
}  # fmt: skip
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


def imports_of(path: Path, *, names_too: bool = True) -> set[str]:
    """The project modules a file imports, and (``names_too``) each ``M.x`` of a ``from M
    import x``; without them, only M (x may be a submodule of M's surface, as in ``from
    storage.lake import staging``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if names_too:
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


# storage/ by stage: what each room may import from storage besides itself (the top modules,
# storage.schemas and storage.lazy, are everyone's). The lake is the ground floor (capture and
# the schemas only); normalize, compact and read stand on it; the report compares raw with
# what the read side shows, so it also knows compaction. The two writers reach the read side
# for one thing, its commit (publishing the state they wrote: the manifest and the catalog),
# which the next test pins. Nothing in storage imports jobs.
STORAGE_TOP = {"storage.schemas", "storage.lazy"}
ROOMS: dict[str, set[str]] = {
    "storage.lake": set(),
    "storage.normalize": {"storage.lake", "storage.read"},
    "storage.compact": {"storage.lake", "storage.read"},
    "storage.read": {"storage.lake"},
    "storage.report": {"storage.lake", "storage.read", "storage.compact"},
}
# Packages whose modules reach other packages and rooms only through their __init__ surface.
THROUGH_SURFACES = ("capture", "storage", "jobs", "bondtape")


def room(module: str) -> str | None:
    """The storage room a module belongs to (None for the top: storage, schemas, lazy)."""
    return next((r for r in ROOMS if module == r or module.startswith(r + ".")), None)


def room_may_import(mine: str, target: str) -> bool:
    """Whether a module of storage room ``mine`` may import ``target``."""
    if not target.startswith("storage"):
        return not target.startswith("jobs")  # capture and sql: as ALLOWED["storage"] says
    theirs = room(target)
    if theirs is None:
        return target in STORAGE_TOP  # not storage itself: the top surface imports the rooms
    return theirs == mine or theirs in ROOMS[mine]


def test_each_storage_room_imports_only_the_rooms_below_it() -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, path in project_modules().items()
        if (mine := room(name)) is not None
        for target in imports_of(path, names_too=False)
        if not room_may_import(mine, target)
    )
    assert wrong == []


def test_the_writers_take_only_the_commit_from_the_read_side() -> None:
    taken = sorted(
        f"{name} takes {target}"
        for name, path in project_modules().items()
        if room(name) in ("storage.normalize", "storage.compact")
        for target in imports_of(path)
        if target.startswith("storage.read.")
    )
    assert all(entry.endswith(" takes storage.read.commit") for entry in taken) and taken


def surface_of(module: str) -> str | None:
    """The package whose __init__ is the surface a module sits behind (a storage room, or a
    capture subpackage); None for the top modules (capture.errors, storage.schemas...)."""
    mine = room(module)
    if mine is not None:
        return mine
    parts = module.split(".")
    if parts[0] == "capture" and len(parts) > 2:
        return ".".join(parts[:2])
    return None


def test_every_package_reaches_other_rooms_and_packages_only_through_their_surfaces() -> None:
    wrong = sorted(
        f"{name} imports {target}, past {surface_of(target)}'s surface"
        for name, path in project_modules().items()
        if name.split(".")[0] in THROUGH_SURFACES
        for target in imports_of(path, names_too=False)
        if surface_of(target) not in (None, target, surface_of(name), name)
    )
    assert wrong == []


SURFACES = {
    "capture.kis": [
        "Bond", "ControlResponse", "DataFrame", "Field", "ISSUER_KINDS", "Kind", "LAYOUTS",
        "Layout", "ORDER_BOOK", "Outcome", "Pair", "Ping", "RECORD_COUNT",
        "REGISTRATIONS_PER_SESSION", "SubscriptionRequest", "TRADES", "aes", "check_digit",
        "classify", "control_response", "data_frame", "is_data_frame", "is_valid_isin",
        "isin_problem", "parse_line", "parse_subscription_request", "ping_message",
        "read_bond_master", "split_data_frame", "split_records", "subscription_request",
    ],
    "capture.rawlog": [
        "CorruptRegion", "FORMAT_VERSION", "KeyTracker", "Position", "RawLogWriter",
        "RawRecord", "RecordKind", "RecordRun", "SegmentInfo", "check_recorder_id",
        "decode_header", "decode_record", "encode_header", "encode_record", "events",
        "list_segments", "read_records", "read_runs", "read_segment_runs", "recorded_on",
        "require_recorded", "rest", "seal_closed", "seal_segment", "segments_holding", "verify",
        "writers_held_off",
    ],
    "capture.recorder": [
        "AppCredential", "Recorder", "RecorderOptions", "RedactingFilter", "Redactor",
        "STATUS_NAME", "is_live", "read_status", "request_approval_key", "shard",
        "subscription_pairs",
    ],
    "capture.exchange": [
        "DayWindow", "Exchange", "ExchangeOptions", "FaultOptions", "Feed", "FeedFrame",
        "FeedSource", "Listen", "LoopbackExchange", "Progress", "RecordedDay",
        "ReplayFeedSource", "ReplayOptions", "Simulator", "SimulatorOptions", "TruthLog",
        "load_credentials", "parse_credential",
    ],
    # events/event_batches and their types: the Python iterator over the lake's history.
    "storage": [
        "EVENT_SCHEMA", "SCHEMA_VERSION", "TABLES", "Book", "Level", "NormalizeStats", "Trade",
        "event_batches", "events", "follow", "normalize",
    ],
    "storage.lake": [
        "BOOKS_BY_MINUTE", "CHECKPOINT_NAME", "DEFAULT_RETENTION_S", "HIST_PREFIX", "INDEXES",
        "LIVE_PREFIX", "Lake", "Manifest", "OPEN_GAPS_FILE", "QUOTES_BY_TIME", "RawRange",
        "bonds_table", "checkpoint_position", "covering", "partition", "position_from_json",
        "range_of", "read_manifest", "remove_durably", "save_bonds", "scan", "staging",
        "superseded", "vacuum", "with_writer_version", "write_bytes_durably", "write_manifest",
        "write_parquet_durably",
    ],
    "storage.normalize": ["DEFAULT_BATCH_RECORDS", "NormalizeStats", "follow", "normalize"],
    "storage.compact": ["CompactStats", "compact", "read_raw_state"],
    "storage.read": [
        "BATCH_ROWS", "Book", "CATALOG_NAME", "DateLike", "DaySeries", "EVENT_SCHEMA", "Event",
        "FORMATS", "Level", "NamedQuery", "Trade", "bond_name", "book_at", "build_catalog",
        "cell_text", "checked", "commit", "day_series", "event_batches", "events", "json_rows",
        "named_queries", "named_query", "nothing_recorded", "open_catalog", "parse_assignments",
        "parse_date", "parse_isins", "parse_range", "print_table", "run_query", "run_sql",
        "view_sql", "write_result",
    ],
    "storage.report": [
        "DEFAULT_SKEW_S", "DEFAULT_WORST", "REPORTS_FOLDER", "Report", "ReportSettings",
        "build_report", "save_report", "volume_today",
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


# --- the jobs rooms and the capture base ---------------------------------------------------

JOBS_ROOMS = (
    "jobs.cli",
    "jobs.config",
    "jobs.daemon",
    "jobs.demo",
    "jobs.status",
)  # each with a surface


def module_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports (``from jobs.daemon import Child`` is the package
    jobs.daemon, its surface; ``from jobs.daemon import children`` is the module)."""
    return {target for target in imports_of(path) if target in modules}


def test_a_jobs_room_is_entered_only_through_its_surface() -> None:
    modules = project_modules()
    wrong = sorted(
        f"{name} imports {target}"
        for name, path in modules.items()
        for target in module_imports(path, modules)
        for room in JOBS_ROOMS
        if target.startswith(room + ".") and name != room and not name.startswith(room + ".")
    )
    assert wrong == []


def test_the_command_line_knows_the_commands_only_by_name() -> None:
    """cli/ imports no command, nor the demo or the daemon: COMMANDS names their modules, and
    only the one being run is imported (the recorder must not carry DuckDB)."""
    from jobs.cli import COMMANDS

    modules = project_modules()
    wrong = sorted(
        f"{name} imports {target}"
        for name, path in modules.items()
        if name == "jobs.cli" or name.startswith("jobs.cli.")
        for target in module_imports(path, modules)
        if target.startswith(("jobs.commands", "jobs.demo", "jobs.daemon"))
    )
    assert wrong == []
    named = {module for module, _ in COMMANDS.values()}
    assert sorted(m for m in named if m not in modules) == []
    assert all(m.startswith(("jobs.commands.", "jobs.demo.")) for m in named)
    assert imports_of(modules["jobs.commands"]) == set()  # commands/ has no surface to import


def test_the_capture_base_imports_nothing_above_it() -> None:
    modules = project_modules()
    base = sorted(name for name in modules if part(name) == "capture.base" and name != "capture")
    assert {"capture.backoff", "capture.prometheus", "capture.status_files"} <= set(base)
    wrong = sorted(
        f"{name} imports {target}"
        for name in base
        for target in module_imports(modules[name], modules)
        if part(target) != "capture.base"
    )
    assert wrong == []


JOBS_SURFACES = {
    "jobs.cli": [
        "COMMANDS", "LogFormatter", "add_data_dir_options", "add_log_file", "add_output_options",
        "build_parser", "data_dir_from", "iso_date", "main", "positive_float", "positive_int",
        "progress_bar", "raw_dir_from", "rotate_log",
    ],
    "jobs.commands": [],  # known by name only (cli's COMMANDS)
    "jobs.daemon": [
        "EOD_STEPS", "LOGS", "Child", "Daemon", "end_of_day_results", "run_scheduled", "serve",
        "start_child",
    ],
    "jobs.demo": [],
    "jobs.status": ["gather", "normalizer_lag"],
}  # fmt: skip


@pytest.mark.parametrize("room", sorted(JOBS_SURFACES))
def test_each_jobs_room_exports_exactly_its_pinned_surface(room: str) -> None:
    module = importlib.import_module(room)
    assert sorted(getattr(module, "__all__", [])) == sorted(JOBS_SURFACES[room])
    assert [name for name in module.__all__ if not hasattr(module, name)] == []
