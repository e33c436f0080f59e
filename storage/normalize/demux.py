"""One batch of raw records, sorted into what the vectorized parser and the gap table need.

This is the per-record step the design allows: it looks at each record once, follows the AES
key/iv in force (:class:`capture.rawlog.KeyTracker`) and the gaps (:mod:`.gap_rows`) in the
state carried from batch to batch (:mod:`.carried`), decrypts ``1|`` frames, reads JSON
events, and hands plain data frames on untouched as text. Anything it cannot use becomes a
reject with its exact bytes; nothing raises for bad input.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from capture.errors import BadEvent, DecryptError, MalformedFrame
from capture.kis import ControlResponse, aes, classify, split_data_frame
from capture.rawlog import CorruptRegion, Position, RawRecord, RecordKind, RecordRun, events
from storage.normalize.carried import CarriedState
from storage.normalize.gap_rows import GapRow, OpenGap
from storage.normalize.parser import FRAME_SCHEMA

RunItem = RecordRun | CorruptRegion


@dataclass(slots=True)
class RawBatch:
    """The raw items of one batch, in order; ``records`` counts records and regions."""

    items: list[RunItem] = field(default_factory=list)
    records: int = 0

    @property
    def segment(self) -> str:
        return self.items[0].segment

    @property
    def first(self) -> Position:
        item = self.items[0]
        offset = item.offsets[0] if isinstance(item, RecordRun) else item.offset
        return Position(item.segment, offset)

    @property
    def end(self) -> Position:
        return self.items[-1].end

    def add(self, item: RunItem) -> None:
        self.items.append(item)
        self.records += len(item) if isinstance(item, RecordRun) else 1


def cut_batches(
    items: Iterable[RunItem], size: int, stop_at: Position | None
) -> Iterator[RawBatch]:
    """Consecutive runs of at most ``size`` records from one segment, ending before stop_at.

    Boundaries depend only on the records, never on how the reader grouped them into runs,
    so a rerun from the same checkpoint cuts the same batches.
    """
    batch = RawBatch()
    for whole in items:
        item, last = _before(whole, stop_at)
        while item is not None:
            if batch.items and (batch.records >= size or item.segment != batch.segment):
                yield batch
                batch = RawBatch()
            room = size - batch.records
            if isinstance(item, RecordRun) and len(item) > room:
                batch.add(item.slice(0, room))
                item = item.slice(room, len(item))
            else:
                batch.add(item)
                item = None
        if last:
            break
    if batch.items:
        yield batch


def _before(item: RunItem, stop_at: Position | None) -> tuple[RunItem | None, bool]:
    """The part of ``item`` before ``stop_at``, and whether reading stops there."""
    if stop_at is None:
        return item, False
    if isinstance(item, CorruptRegion):
        if (item.segment, item.offset) >= (stop_at.segment, stop_at.offset):
            return None, True
        return item, False
    if item.segment != stop_at.segment:
        return (item, False) if item.segment < stop_at.segment else (None, True)
    keep = bisect_left(item.offsets, stop_at.offset)
    if keep == len(item):
        return item, False
    return (item.slice(0, keep) if keep else None), True


class BatchBuilder:
    """Accumulates one batch; call :meth:`add_run` or :meth:`add`, then read the parts.

    Plain ``0|`` data frames, nearly all of a feed, go in bulk (an Arrow array per stretch);
    only control, encrypted, event and state records, and corrupt regions, go one by one.
    """

    def __init__(self, state: CarriedState) -> None:
        self.state = state
        self.records = 0
        self.earlier_gap_closes = 0
        self.raws: list[bytes] = []  # per data frame, indexed by frame_no
        self._text_chunks: list[pa.Array] = []
        self._texts: list[str] = []  # one by one, since the last chunk
        self._recv_ns: list[int] = []
        self._conn_ids: list[int] = []
        self._segments: list[str] = []
        self._offsets: list[int] = []
        self.rejects: list[dict[str, Any]] = []
        self.closed_gaps: list[GapRow] = []

    def add_run(self, run: RecordRun) -> None:
        frame = RecordKind.FRAME_RECV
        special = [
            i
            for i, (kind, payload) in enumerate(zip(run.kinds, run.payloads, strict=True))
            if kind is not frame or payload[:2] != b"0|"
        ]
        start = 0
        for i in [*special, len(run)]:
            if start < i:
                self._plain(run, start, i)
            if i < len(run):
                self.add(run.record(i))
            start = i + 1

    def _plain(self, run: RecordRun, start: int, stop: int) -> None:
        payloads = run.payloads[start:stop]
        try:
            texts = pa.array(payloads, pa.binary()).cast(pa.string())
        except pa.ArrowInvalid:  # a frame is not UTF-8: add() makes it a reject, exact bytes
            for i in range(start, stop):
                self.add(run.record(i))
            return
        self.records += stop - start
        self._flush_texts()
        self._text_chunks.append(texts)
        self.raws.extend(payloads)
        self._recv_ns.extend(run.recv_ns[start:stop])
        self._conn_ids.extend(run.conn_ids[start:stop])
        self._segments.extend([run.segment] * (stop - start))
        self._offsets.extend(run.offsets[start:stop])

    def _flush_texts(self) -> None:
        if self._texts:
            self._text_chunks.append(pa.array(self._texts, pa.string()))
            self._texts = []

    def add(self, rec: RawRecord | CorruptRegion) -> None:
        self.records += 1
        if isinstance(rec, CorruptRegion):
            self._reject(rec.segment, rec.offset, None, None, rec.data, f"corrupt: {rec.reason}")
            return
        try:
            if rec.kind is RecordKind.FRAME_RECV:
                self._frame(rec)
            elif rec.kind is RecordKind.STATE:
                self._state(events.read_state(rec.payload))
            elif rec.kind is RecordKind.EVENT:
                self._event(rec, events.read_event(rec.payload))
        except (MalformedFrame, DecryptError, BadEvent) as exc:  # what the readers document
            self._reject(rec.segment, rec.offset, rec.recv_ns, rec.conn_id, rec.payload,
                         exc.reason)  # fmt: skip

    def frames_table(self) -> pa.Table:
        self._flush_texts()
        return pa.Table.from_arrays(
            [
                pa.array(range(len(self.raws)), pa.int64()),
                pa.chunked_array(self._text_chunks, pa.string()).combine_chunks(),
                pa.array(self._recv_ns, pa.int64()),
                pa.array(self._conn_ids, pa.int64()),
                pa.array(self._segments, pa.string()),
                pa.array(self._offsets, pa.int64()),
            ],
            schema=FRAME_SCHEMA,
        )

    def _reject(
        self,
        segment: str,
        offset: int,
        recv_ns: int | None,
        conn_id: int | None,
        raw: bytes,
        reason: str,
    ) -> None:
        self.rejects.append(
            {
                "segment": segment,
                "offset": offset,
                "recv_ns": recv_ns,
                "conn_id": conn_id,
                "record_index": None,
                "raw": raw,
                "reason": reason,
            }
        )

    def _frame(self, rec: RawRecord) -> None:
        payload = rec.payload
        if payload[:2] not in (b"0|", b"1|"):
            message = classify(payload)  # a control response or a ping; raises if neither
            if isinstance(message, ControlResponse):
                self.state.keys.answer(rec.conn_id, message)
            return
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedFrame(f"data frame is not UTF-8: {exc}") from exc
        if payload[:1] == b"1":
            text = self._decrypted(text, rec.conn_id)
        self.raws.append(payload)
        self._texts.append(text)
        self._recv_ns.append(rec.recv_ns)
        self._conn_ids.append(rec.conn_id)
        self._segments.append(rec.segment)
        self._offsets.append(rec.offset)

    def _decrypted(self, text: str, conn_id: int) -> str:
        frame = split_data_frame(text)
        key_iv = self.state.keys.of(conn_id).get(frame.tr_id)
        if key_iv is None:
            raise DecryptError(f"encrypted {frame.tr_id} frame on conn {conn_id}, no key/iv")
        flag, tr_id, count, _ = text.split("|", 3)
        return f"{flag}|{tr_id}|{count}|{aes.decrypt(frame.payload, *key_iv)}"

    def _state(self, state: events.State) -> None:
        self.state.keys.state(state)
        self.state.gaps.declared(state.open_gaps)

    def _event(self, rec: RawRecord, event: events.Event | events.OtherEvent) -> None:
        self.state.keys.event(event)
        if isinstance(event, events.GapOpen):
            where = (rec.segment, rec.offset, rec.recv_ns)
            self.state.gaps.opened(
                OpenGap(event.conn, *event.pair, event.start_ns, event.reason, *where)
            )
        elif isinstance(event, events.GapClose):
            row = self.state.gaps.closed(event, rec.segment, rec.offset)
            if row is None:
                self.earlier_gap_closes += 1
            else:
                self.closed_gaps.append(row)
