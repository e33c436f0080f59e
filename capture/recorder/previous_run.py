"""What the previous run of this recorder left behind, read from the tail of its raw log.

A recorder killed with SIGKILL writes no goodbye. On start we read its latest segment that
holds a record (it begins with STATE records, so it decodes on its own) and recover when it
last recorded anything, which registrations were live, and which gaps were still open. The
new run opens a "recorder restart" gap from that last record for every live registration it
subscribes again, so frames in flight at the kill fall inside a recorded gap, and carries the
open gaps into the STATE of its own first segment, so a third run still sees them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from capture.errors import BadEvent
from capture.kis import Pair
from capture.rawlog import (
    RawRecord,
    RecordKind,
    RecordRun,
    events,
    list_segments,
    read_segment_runs,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PreviousRun:
    """``live``: registrations acked on connections still up at the end; ``gapped``: pairs
    whose gap had not closed, with its start; ``last_ns``: receive time of the last record."""

    last_ns: int | None = None
    max_conn: int = 0
    stopped_cleanly: bool = True
    live: dict[int, set[Pair]] = field(default_factory=dict)
    gapped: dict[Pair, int] = field(default_factory=dict)

    def live_pairs(self) -> set[Pair]:
        return set().union(*self.live.values()) if self.live else set()

    def apply(self, record: RawRecord) -> None:
        """Fold one record into the picture; an unreadable EVENT or STATE is logged, as the
        normalizer will make it a reject."""
        self.last_ns = record.recv_ns
        self.max_conn = max(self.max_conn, record.conn_id)
        try:
            if record.kind is RecordKind.STATE:
                self._state(events.read_state(record.payload))
            elif record.kind is RecordKind.EVENT:
                self._event(events.read_event(record.payload))
        except BadEvent as exc:
            log.warning("%s@%d: unreadable %s: %s", record.segment, record.offset, record.kind.name,
                        exc.reason)  # fmt: skip

    def _state(self, state: events.State) -> None:
        self.live[state.conn] = set(state.subscriptions)
        for pair, start_ns in state.open_gaps.items():
            self.gapped.setdefault(pair, start_ns)

    def _event(self, event: events.Event | events.OtherEvent) -> None:
        match event:
            case events.RecorderStart():
                self.stopped_cleanly, self.live = False, {}
            case events.RecorderStop():
                self.stopped_cleanly, self.live = True, {}
            case events.SubAck(conn=conn):
                self.live.setdefault(conn, set()).add((event.tr_id, event.isin))
            case events.Disconnect(conn=conn):
                self.live.pop(conn, None)
            case events.GapOpen():
                self.gapped.setdefault(event.pair, event.start_ns)
            case events.GapClose():
                self.gapped.pop(event.pair, None)

    def restart_plan(self, configured: Iterable[Pair]) -> RestartPlan:
        """What a new run configured for ``configured`` must do about this run's gaps."""
        pairs = list(dict.fromkeys(configured))
        live = self.live_pairs()
        carried = {pair: self.gapped[pair] for pair in pairs if pair in self.gapped}
        reopen = [pair for pair in pairs if pair in live and pair not in carried]
        dropped = sorted(set(self.gapped) - set(pairs))
        return RestartPlan(carried, reopen if self.last_ns is not None else [], dropped)


@dataclass(frozen=True, slots=True)
class RestartPlan:
    """``carried``: gaps still open for configured pairs (pair -> start), which the new run's
    first STATE repeats; ``reopen``: pairs live when the previous run ended, gapped from its
    last record; ``dropped``: open gaps of pairs no longer configured, to close at once."""

    carried: dict[Pair, int]
    reopen: list[Pair]
    dropped: list[Pair]


def read_previous_run(raw_dir: Path, recorder_id: str) -> PreviousRun:
    """Read this recorder's latest segment that holds a record (only that one: it starts with
    the state in force). Later segments without any (a rotation cut short by a crash or a full
    disk: no bytes, or a header alone) say nothing of the run and are passed over.

    Raises:
        OSError: a segment cannot be opened.
    """
    run = PreviousRun()
    mine = [s for s in list_segments(raw_dir) if s.recorder_id == recorder_id]
    for info in reversed(mine):
        for item in read_segment_runs(info, final=info is mine[-1]):
            if isinstance(item, RecordRun):
                for record in item.records():
                    run.apply(record)
            else:
                log.warning("previous run: %s@%d: %s", item.segment, item.offset, item.reason)
        if run.last_ns is not None:
            break
    return run
