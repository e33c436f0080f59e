"""`bondtape raw ls|dump|verify`: look at the raw log the way the reader sees it.

``verify`` exits 1 when any byte fails its CRC, so it can gate a nightly job.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from capture.clock import NS_PER_S, seoul_datetime
from capture.errors import ConfigError
from capture.rawlog import (
    CorruptRegion,
    Position,
    RawRecord,
    RecordKind,
    list_segments,
    read_records,
)
from jobs.cli import add_data_dir_options, raw_dir_from

PAYLOAD_SHOWN = 200  # characters of payload text before eliding


def add_arguments(raw: argparse.ArgumentParser) -> None:
    actions = raw.add_subparsers(dest="raw_command", required=True, metavar="ACTION")
    ls = actions.add_parser("ls", help="list segments in read order")
    dump = actions.add_parser("dump", help="one line per record")
    dump.add_argument("--segment", help="only this segment, e.g. 2026-11-26/…-rec1.seg")
    dump.add_argument("--kind", choices=[kind.name.lower() for kind in RecordKind])
    dump.add_argument("--limit", type=int, help="stop after this many records")
    check = actions.add_parser("verify", help="check every CRC; exit 1 on corruption")
    for action in (ls, dump, check):
        add_data_dir_options(action)


def raw_dir(args: argparse.Namespace) -> Path:
    """The raw log of the data directory named on the command line."""
    return raw_dir_from(args)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action; returns the exit status."""
    directory = raw_dir(args)
    if args.raw_command == "ls":
        return _ls(directory)
    if args.raw_command == "dump":
        kind = None if args.kind is None else RecordKind[args.kind.upper()]
        return _dump(directory, args.segment, kind, args.limit)
    return _verify(directory)


def _ls(directory: Path) -> int:
    for info in list_segments(directory):
        state = "sealed" if info.sealed else "plain"
        print(f"{info.name}\t{state}\t{info.size_bytes}")
    return 0


def _dump(directory: Path, segment: str | None, kind: RecordKind | None, limit: int | None) -> int:
    shown = 0
    for item in _items(directory, segment):
        if limit is not None and shown >= limit:
            break
        if isinstance(item, CorruptRegion):
            print(format_region(item))
        elif kind is None or item.kind is kind:
            print(format_record(item))
            shown += 1
    return 0


def _verify(directory: Path) -> int:
    records = 0
    regions: list[CorruptRegion] = []
    for item in read_records(directory):
        if isinstance(item, CorruptRegion):
            regions.append(item)
            print(format_region(item))
        else:
            records += 1
    if regions:
        return 1
    print(f"ok: {records} records in {len(list_segments(directory))} segment(s), no corruption")
    return 0


def _items(directory: Path, segment: str | None) -> Iterator[RawRecord | CorruptRegion]:
    """Records of the whole log, or of one segment.

    Raises:
        ConfigError: ``segment`` is not one of the log's segments.
    """
    if segment is not None and segment not in {info.name for info in list_segments(directory)}:
        raise ConfigError("--segment", segment, "no such segment: `bondtape raw ls` lists them")
    if segment is None:
        yield from read_records(directory)
        return
    for item in read_records(directory, Position(segment, 0)):
        if item.segment != segment:
            return
        yield item


def format_record(record: RawRecord) -> str:
    """One line: Seoul time with ns, conn, kind, offset, payload as escaped text."""
    seconds = record.recv_ns - record.recv_ns % NS_PER_S
    when = seoul_datetime(seconds).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{when}.{record.recv_ns % NS_PER_S:09d} conn={record.conn_id} "
        f"{record.kind.name.lower()} @{record.segment}:{record.offset} "
        f"{payload_text(record.payload)}"
    )


def format_region(region: CorruptRegion) -> str:
    return (
        f"CORRUPT {region.segment} offset {region.offset}: "
        f"{len(region.data)} bytes, {region.reason}"
    )


def payload_text(payload: bytes) -> str:
    """Payload as one line of text: invalid UTF-8 and control characters escaped, long elided."""
    text = payload.decode("utf-8", errors="backslashreplace")
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    if len(text) > PAYLOAD_SHOWN:
        return f"{text[:PAYLOAD_SHOWN]}… ({len(payload)} bytes)"
    return text
