"""One batch of raw records, sorted into what the vectorized parser and the gap table need.

This is the per-record step the design allows: it looks at each record once, keeps AES
key/iv per (connection, TR) from STATE records and subscribe acks, decrypts ``1|`` frames,
reads JSON events, and hands plain data frames on untouched as text. Anything it cannot use
becomes a reject with its exact bytes; nothing raises for bad input.

Gaps are keyed by (TR, ISIN), not by connection: a gap opened when connection 3 died is
closed by connection 4's resubscription. A closed gap is emitted in the batch where it closes;
open ones live in :class:`CarriedState` (saved in the checkpoint) and are written as one
replaceable ``open`` file per partition.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from capture import aes
from capture.errors import DecryptError, MalformedFrame
from capture.protocol import ControlResponse, Outcome, classify, split_data_frame
from capture.rawlog import CorruptRegion, RawRecord, RecordKind
from storage.frames import FRAME_SCHEMA


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


@dataclass(slots=True)
class CarriedState:
    """What a batch needs from the batches before it; serialized into the checkpoint."""

    keys: dict[int, dict[str, tuple[str, str]]] = field(default_factory=dict)
    open_gaps: dict[tuple[str, str], OpenGap] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "keys": {
                str(c): {tr: list(kv) for tr, kv in trs.items()} for c, trs in self.keys.items()
            },
            "open_gaps": [asdict(g) for g in self.open_gaps.values()],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> CarriedState:
        """Raises: KeyError, TypeError, ValueError: not what :meth:`to_json` wrote."""
        keys = {
            int(c): {tr: (str(kv[0]), str(kv[1])) for tr, kv in trs.items()}
            for c, trs in obj["keys"].items()
        }
        gaps = [OpenGap(**g) for g in obj["open_gaps"]]
        return cls(keys, {(g.tr_id, g.isin): g for g in gaps})


@dataclass(frozen=True, slots=True)
class GapRow:
    gap: OpenGap
    end_ns: int | None = None
    close_segment: str | None = None
    close_offset: int | None = None


class BatchBuilder:
    """Accumulates one batch; call :meth:`add` per record, then read the collected parts."""

    def __init__(self, state: CarriedState) -> None:
        self.state = state
        self.records = 0
        self.orphan_gap_closes = 0
        self.raws: list[bytes] = []  # per data frame, indexed by frame_no
        self._texts: list[str] = []
        self._lineage: list[tuple[int, int, str, int]] = []  # recv_ns, conn_id, segment, offset
        self.rejects: list[dict[str, Any]] = []
        self.closed_gaps: list[GapRow] = []

    def add(self, rec: RawRecord | CorruptRegion) -> None:
        self.records += 1
        if isinstance(rec, CorruptRegion):
            self._reject(rec.segment, rec.offset, None, None, rec.data, f"corrupt: {rec.reason}")
            return
        try:
            if rec.kind is RecordKind.FRAME_RECV:
                self._frame(rec)
            elif rec.kind is RecordKind.STATE:
                self._state(rec)
            elif rec.kind is RecordKind.EVENT:
                self._event(rec)
        except (
            MalformedFrame,
            DecryptError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            RecursionError,
        ) as exc:  # JSON of the wrong shape, in any of the ways json.loads and dicts fail
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            self._reject(rec.segment, rec.offset, rec.recv_ns, rec.conn_id, rec.payload, reason)

    def frames_table(self) -> pa.Table:
        recv, conn, seg, off = zip(*self._lineage, strict=True) if self._lineage else ([],) * 4
        return pa.Table.from_arrays(
            [
                pa.array(range(len(self._texts)), pa.int64()),
                pa.array(self._texts, pa.string()),
                pa.array(recv, pa.int64()),
                pa.array(conn, pa.int32()),
                pa.array(seg, pa.string()),
                pa.array(off, pa.int64()),
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
            if (
                isinstance(message, ControlResponse)
                and message.outcome is Outcome.SUBSCRIBED
                and message.key
                and message.iv
            ):
                self.state.keys.setdefault(rec.conn_id, {})[message.tr_id] = (
                    str(message.key),
                    str(message.iv),
                )
            return
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedFrame(f"data frame is not UTF-8: {exc}") from exc
        if payload[:1] == b"1":
            text = self._decrypted(text, rec.conn_id)
        self.raws.append(payload)
        self._texts.append(text)
        self._lineage.append((rec.recv_ns, rec.conn_id, rec.segment, rec.offset))

    def _decrypted(self, text: str, conn_id: int) -> str:
        frame = split_data_frame(text)
        key_iv = self.state.keys.get(conn_id, {}).get(frame.tr_id)
        if key_iv is None:
            raise DecryptError(f"encrypted {frame.tr_id} frame on conn {conn_id}, no key/iv")
        flag, tr_id, count, _ = text.split("|", 3)
        return f"{flag}|{tr_id}|{count}|{aes.decrypt(frame.payload, *key_iv)}"

    def _state(self, rec: RawRecord) -> None:
        obj = json.loads(rec.payload)
        conn = int(obj.get("conn", rec.conn_id))
        self.state.keys[conn] = {
            str(tr): (str(kv["key"]), str(kv["iv"])) for tr, kv in obj.get("aes", {}).items()
        }

    def _event(self, rec: RawRecord) -> None:
        obj = json.loads(rec.payload)
        kind = obj.get("type")
        if kind == "gap_open":
            gap = OpenGap(
                int(obj.get("conn", rec.conn_id)),
                str(obj["tr_id"]),
                str(obj["isin"]),
                int(obj["start_ns"]),
                str(obj.get("reason", "")),
                rec.segment,
                rec.offset,
                rec.recv_ns,
            )
            # A second open for a gap already open (a restart) keeps the earlier start.
            self.state.open_gaps.setdefault((gap.tr_id, gap.isin), gap)
        elif kind == "gap_close":
            key = (str(obj["tr_id"]), str(obj["isin"]))
            end_ns = int(obj["end_ns"])
            gap_or_none = self.state.open_gaps.pop(key, None)
            if gap_or_none is None:
                self.orphan_gap_closes += 1
            else:
                self.closed_gaps.append(GapRow(gap_or_none, end_ns, rec.segment, rec.offset))
