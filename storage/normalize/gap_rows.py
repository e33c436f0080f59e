"""Gaps as the normalizer follows them: opened and closed by (TR, ISIN) across batches, each
a row of the gaps table once it closes.

Gaps are keyed by (TR, ISIN), not by connection: a gap opened when connection 3 died is
closed by connection 4's resubscription. A closed gap is emitted in the batch where it closes;
open ones are carried to the next batch (in the checkpoint) and written as one replaceable
``open`` file per partition. A ``gap_close`` with no open gap is a reject, unless a STATE
record read on the way declared that gap open: then it was opened before this read began (a
date rebuild starts mid-log) and its row belongs to its own, earlier date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from capture.errors import BadEvent
from capture.kis import Pair
from capture.rawlog import events


@dataclass(frozen=True, slots=True)
class OpenGap:
    conn_id: int
    tr_id: str
    isin: str
    start_ns: int
    reason: str
    segment: str
    offset: int
    recv_ns: int  # of the gap_open record: its Seoul date is the gap's partition


@dataclass(frozen=True, slots=True)
class GapRow:
    gap: OpenGap
    end_ns: int | None = None
    close_segment: str | None = None
    close_offset: int | None = None


@dataclass(slots=True)
class OpenGaps:
    """The gaps open so far; ``earlier``: pairs a STATE record declared in a gap that this
    read never saw open (it began after the ``gap_open``), so their close is no orphan."""

    open: dict[Pair, OpenGap] = field(default_factory=dict)
    earlier: set[Pair] = field(default_factory=set)

    def declared(self, pairs: Iterable[Pair]) -> None:
        """A STATE record's open gaps: those not open here were opened before this read."""
        self.earlier.update(pair for pair in pairs if pair not in self.open)

    def opened(self, gap: OpenGap) -> None:
        """A ``gap_open``; a second one for a gap already open (a restart) keeps the first."""
        self.open.setdefault((gap.tr_id, gap.isin), gap)

    def closed(self, event: events.GapClose, segment: str, offset: int) -> GapRow | None:
        """The row a ``gap_close`` completes; None for the close of an earlier gap.

        Raises:
            BadEvent: no gap of that pair is open, nor was declared open.
        """
        opened = self.open.pop(event.pair, None)
        if opened is not None:
            return GapRow(opened, event.end_ns, segment, offset)
        if event.pair in self.earlier:
            self.earlier.discard(event.pair)
            return None
        raise BadEvent(f"gap_close of {event.tr_id} {event.isin} with no gap open")
