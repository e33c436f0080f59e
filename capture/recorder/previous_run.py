"""What the previous run of this recorder left behind, read from the tail of its raw log.

A recorder killed with SIGKILL writes no goodbye. On start we read its latest segment (which
begins with STATE records, so it decodes on its own) and recover when it last recorded
anything, which registrations were live, and which gaps were still open. The new run opens a
"recorder restart" gap from that last record for every live registration it subscribes again,
so frames in flight at the kill fall inside a recorded gap.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from capture.kis.protocol import Pair
from capture.rawlog import Position, RawRecord, RecordKind, list_segments, read_records

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PreviousRun:
    """``live``: registrations acked on connections still up at the end; ``gapped``: pairs
    whose gap_open had no gap_close; ``last_ns``: receive time of the last record."""

    last_ns: int | None = None
    max_conn: int = 0
    stopped_cleanly: bool = True
    live: dict[int, set[Pair]] = field(default_factory=dict)
    gapped: set[Pair] = field(default_factory=set)

    def live_pairs(self) -> set[Pair]:
        return set().union(*self.live.values()) if self.live else set()

    def apply(self, record: RawRecord) -> None:
        """Fold one record into the picture."""
        self.last_ns = record.recv_ns
        self.max_conn = max(self.max_conn, record.conn_id)
        if record.kind not in (RecordKind.EVENT, RecordKind.STATE):
            return
        try:
            obj = json.loads(record.payload)
        except ValueError:
            log.warning("%s@%d: unreadable %s record", record.segment, record.offset, record.kind)
            return
        if not isinstance(obj, dict):
            return
        if record.kind is RecordKind.STATE:
            pairs = {(str(tr), str(isin)) for tr, isin in obj.get("subscriptions", [])}
            self.live[int(obj.get("conn", record.conn_id))] = pairs
            self.gapped.update((str(g[0]), str(g[1])) for g in obj.get("open_gaps", []))
            return
        kind, conn = obj.get("type"), obj.get("conn", record.conn_id)
        pair = (str(obj.get("tr_id")), str(obj.get("isin")))
        if kind == "recorder_start":
            self.stopped_cleanly, self.live = False, {}
        elif kind == "recorder_stop":
            self.stopped_cleanly, self.live = True, {}
        elif kind == "sub_ack":
            self.live.setdefault(conn, set()).add(pair)
        elif kind == "disconnect":
            self.live.pop(conn, None)
        elif kind == "gap_open":
            self.gapped.add(pair)
        elif kind == "gap_close":
            self.gapped.discard(pair)


def read_previous_run(raw_dir: Path, recorder_id: str) -> PreviousRun:
    """Read this recorder's latest segment (only that one: it starts with the state in force).

    Raises:
        OSError: the segment cannot be opened.
    """
    run = PreviousRun()
    mine = [s for s in list_segments(raw_dir) if s.recorder_id == recorder_id]
    if not mine:
        return run
    last = mine[-1].name
    for item in read_records(raw_dir, Position(last, 0)):
        if item.segment != last:
            break
        if isinstance(item, RawRecord):
            run.apply(item)
        else:
            log.warning("previous run: %s@%d: %s", item.segment, item.offset, item.reason)
    return run
