"""What a batch needs from the batches before it, saved in the checkpoint between runs: the
AES keys in force and the gaps still open.

Both are bounded by what a later record can still need (issue 18): the keys by the
connections open (:class:`capture.rawlog.KeyTracker` drops a connection's keys once it is
closed or replaced), the gaps by the pairs configured. The checkpoint is rewritten at every
batch for the life of the lake, so nothing here may grow with the lake's age.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from capture.kis import Pair
from capture.rawlog import KeyTracker
from storage.normalize.gap_rows import OpenGap, OpenGaps


@dataclass(slots=True)
class CarriedState:
    """The keys and the open gaps; :meth:`to_json` is the checkpoint's ``state``."""

    keys: KeyTracker = field(default_factory=KeyTracker)
    gaps: OpenGaps = field(default_factory=OpenGaps)

    @property
    def open_gaps(self) -> dict[Pair, OpenGap]:
        return self.gaps.open

    def to_json(self) -> dict[str, Any]:
        return {
            **self.keys.to_json(),
            "open_gaps": [asdict(g) for g in self.gaps.open.values()],
            "earlier_gaps": sorted(list(pair) for pair in self.gaps.earlier),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> CarriedState:
        """Raises: KeyError, TypeError, ValueError: not what :meth:`to_json` wrote."""
        gaps = [OpenGap(**g) for g in obj["open_gaps"]]
        earlier = {(str(tr), str(isin)) for tr, isin in obj.get("earlier_gaps", [])}
        return cls(
            KeyTracker.from_json(obj), OpenGaps({(g.tr_id, g.isin): g for g in gaps}, earlier)
        )
